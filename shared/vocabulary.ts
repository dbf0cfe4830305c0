// The closed vocabularies of Vigil: every action and resource type an event may carry.
// Adding one is a one-line change here; the server, the query parser, the database
// checks and the extension all read these lists.

/** Every audited action, with the one-line meaning the UI shows as a tooltip. */
export const ACTION_DESCRIPTIONS = {
  auto_off: 'The platform turned a workspace off because it was idle',
  auto_start: "The platform turned a workspace on at its owner's scheduled time",
  connect: 'A user connected to a workspace from a local IDE, SSH or the CLI',
  cordon: 'A workspace provider stopped accepting new workspaces',
  create: 'A user created something (a workspace, image, dev URL, token...)',
  delete: 'A user deleted something (a workspace, image, user...)',
  enqueue: 'A user queued a job (a workspace build, a user or workspace deletion)',
  login: 'A user logged in (password or single sign-on) and received a token',
  open: 'A user opened a workspace in the web IDE',
  read: 'Someone read protected data, such as an export of the audit log',
  ssh: 'A user opened a web terminal into a workspace',
  stop: 'A user stopped a workspace by hand',
  uncordon: 'A workspace provider accepts new workspaces again',
  view: 'The CLI used a secret',
  write: 'A user changed something (a workspace, user, setting, resource pool...)',
} as const satisfies Record<string, string>;

export type AuditAction = keyof typeof ACTION_DESCRIPTIONS;
export const AUDIT_ACTIONS = Object.keys(ACTION_DESCRIPTIONS) as [AuditAction, ...AuditAction[]];

/** Actions that raise a desktop notification unless the user changes the rules. */
export const DEFAULT_SENSITIVE_ACTIONS: readonly AuditAction[] = ['cordon', 'delete'];

export const RESOURCE_TYPES = [
  'workspace',
  'image',
  'image_tag',
  'template',
  'user',
  'dev_url',
  'resource_pool',
  'workspace_provider',
  'job',
  'secret',
  'settings',
  'audit_log',
  'token',
  'sink',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(ACTION_DESCRIPTIONS, value);
}

export function isResourceType(value: string): value is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(value);
}
