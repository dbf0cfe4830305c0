// What an organization may set for the extension by policy (Chrome's
// `3rdparty.extensions.<id>`, Firefox's policies.json `3rdparty.Extensions.<id>`), read
// through storage.managed. Chrome needs the schema in the package (storage.managed_schema).
export const MANAGED_SCHEMA_FILE = 'managed_schema.json';

export const managedSchema = {
  type: 'object',
  properties: {
    serverUrl: {
      title: 'Vigil server address',
      description: 'The address of the Vigil server, e.g. https://vigil.example.com. Fills the options page.',
      type: 'string',
    },
    lockServerUrl: {
      title: 'Lock the server address',
      description: 'When true, users cannot change the server address.',
      type: 'boolean',
    },
    notificationRules: {
      title: 'Notification rules',
      description: 'Which events raise a desktop notification: a list of actions, e.g. ["cordon", "delete"].',
      type: 'array',
      items: { type: 'string' },
    },
    lockNotificationRules: {
      title: 'Lock the notification rules',
      description: 'When true, users cannot change the notification rules.',
      type: 'boolean',
    },
  },
} as const;
