// Roles and token scopes: who may do what with the audit log.

/** site_manager: everything; auditor: read the audit log and settings history; member: nothing of it. */
export const ROLES = ['site_manager', 'auditor', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** What a service token (an internal app) may do: record events, and optionally read them. */
export const TOKEN_SCOPES = ['events:write', 'events:read'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
