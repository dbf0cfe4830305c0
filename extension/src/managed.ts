// What the organization set by policy (storage.managed: Chrome's
// `3rdparty.extensions.<id>`, Firefox's `3rdparty.Extensions.<id>`), read before the
// user's own settings. A managed value of the wrong type is ignored with a notice the
// options page shows, never a crash. The schema is extension/build/managedSchema.ts.
// Pure: no browser APIs (settings.ts reads storage.managed), so tests import it directly.
import { isAuditAction, type AuditAction } from '../../shared/vocabulary.js';
import { DEFAULT_RULES, type NotificationRules } from './rules.js';
import { normalizeServerUrl } from './serverUrl.js';

export interface ManagedPolicy {
  /** The server address the organization set (normalized). */
  serverUrl?: string;
  /** The user may not change the server address. */
  lockServerUrl: boolean;
  /** The actions that notify, as the organization set them. */
  notificationActions?: AuditAction[];
  /** The user may not change the notification rules. */
  lockNotificationRules: boolean;
  /** Why a managed value was ignored, for the options page. */
  notices: string[];
}

export const NO_POLICY: ManagedPolicy = { lockServerUrl: false, lockNotificationRules: false, notices: [] };

const ignored = (key: string, why: string) => `Your organization's setting "${key}" was ignored: ${why}.`;

/** Pure: the policy from what storage.managed holds. */
export function readManagedPolicy(raw: unknown): ManagedPolicy {
  if (!raw || typeof raw !== 'object') return { ...NO_POLICY, notices: [] };
  const values = raw as Record<string, unknown>;
  const policy: ManagedPolicy = { lockServerUrl: false, lockNotificationRules: false, notices: [] };
  const flag = (key: 'lockServerUrl' | 'lockNotificationRules') => {
    const value = values[key];
    if (value === undefined) return false;
    if (typeof value === 'boolean') return value;
    policy.notices.push(ignored(key, 'it must be true or false'));
    return false;
  };
  if (values.serverUrl !== undefined) {
    const check = typeof values.serverUrl === 'string' ? normalizeServerUrl(values.serverUrl) : null;
    if (check?.ok) policy.serverUrl = check.url;
    else policy.notices.push(ignored('serverUrl', check ? check.message.toLowerCase() : 'it must be a web address'));
  }
  policy.lockServerUrl = flag('lockServerUrl') && policy.serverUrl !== undefined;
  const rules = values.notificationRules;
  if (rules !== undefined) {
    if (Array.isArray(rules) && rules.every((a) => typeof a === 'string' && isAuditAction(a))) {
      policy.notificationActions = [...new Set(rules as AuditAction[])];
    } else policy.notices.push(ignored('notificationRules', 'it must be a list of actions, e.g. ["cordon", "delete"]'));
  }
  policy.lockNotificationRules = flag('lockNotificationRules') && policy.notificationActions !== undefined;
  return policy;
}

/** The settings the policy decides: a managed value is used when the user has none, and always when locked. */
export interface PolicySubject {
  serverUrl?: string;
  token?: string;
  session?: unknown;
  notifyRules?: NotificationRules;
}

export function applyPolicy<S extends PolicySubject>(local: S, managed: ManagedPolicy): S & { managed: ManagedPolicy } {
  const settings: S & { managed: ManagedPolicy } = { ...local, managed };
  if (managed.serverUrl && (managed.lockServerUrl || !local.serverUrl)) {
    settings.serverUrl = managed.serverUrl;
    // A token belongs to the server it was issued by.
    if (local.serverUrl && local.serverUrl !== managed.serverUrl) {
      delete settings.token;
      delete settings.session;
    }
  }
  if (managed.notificationActions && (managed.lockNotificationRules || !local.notifyRules)) {
    settings.notifyRules = { ...DEFAULT_RULES, resourceTypes: [], actions: managed.notificationActions };
  }
  return settings;
}
