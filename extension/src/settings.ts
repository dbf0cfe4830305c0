// What the extension remembers, all in storage.local (never storage.sync: the token must
// not travel to other machines): the server, the credentials, who they belong to, the
// last query the user looked at and the notification rules; and, apart from those, the
// background's bookkeeping for notifications (its cursor and the unseen count).
import type { Role } from '../../shared/identity.js';
import { applyPolicy, NO_POLICY, readManagedPolicy, type ManagedPolicy } from './managed.js';
import { browser } from './platform.js';
import type { NotificationRules } from './rules.js';

export type { Role };

export interface SessionUser {
  /** null for the server's VIGIL_ADMIN_TOKEN, which belongs to no stored user. */
  id: string | null;
  username: string;
  email: string | null;
  role: Role;
}

/** Who the stored token belongs to, as the server last told us. */
export type Session =
  | { kind: 'user'; user: SessionUser; expiresAt?: string | null }
  | { kind: 'service'; name?: string | null };

export interface Settings {
  /** The server's base URL, normalized: scheme, host, port and path, no trailing slash. */
  serverUrl?: string;
  token?: string;
  session?: Session;
  lastQuery?: string;
  /** What raises a desktop notification (rules.ts); absent means the defaults. */
  notifyRules?: NotificationRules;
  /** The full view shows times in UTC rather than in the local zone. */
  timesInUtc?: boolean;
  /** What the organization set by policy; serverUrl and notifyRules above already include it. */
  managed?: ManagedPolicy;
}

const KEYS = ['serverUrl', 'token', 'session', 'lastQuery', 'notifyRules', 'timesInUtc'] as const satisfies readonly (keyof Settings)[];

/** storage.managed, or no policy where the browser has none (Firefox without policies.json throws). */
async function loadManagedPolicy(): Promise<ManagedPolicy> {
  try {
    return readManagedPolicy(await browser.storage.managed.get(null));
  } catch {
    return { ...NO_POLICY, notices: [] };
  }
}

export async function loadSettings(): Promise<Settings> {
  const [local, managed] = await Promise.all([browser.storage.local.get([...KEYS]) as Promise<Settings>, loadManagedPolicy()]);
  return applyPolicy(local, managed);
}

/** Writes the given keys; `undefined` removes a key. */
export async function saveSettings(patch: Partial<Settings>): Promise<void> {
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) remove.push(key);
    else set[key] = value;
  }
  if (remove.length) await browser.storage.local.remove(remove);
  if (Object.keys(set).length) await browser.storage.local.set(set);
}

/** Calls back with fresh settings whenever another page (options, popup) changes them. */
export function onSettingsChanged(callback: (settings: Settings) => void): () => void {
  const listener = (changes: Record<string, unknown>, area: string) => {
    // A policy change applies at once (area 'managed').
    if (area !== 'managed' && (area !== 'local' || !KEYS.some((key) => key in changes))) return;
    void loadSettings().then(callback);
  };
  browser.storage.onChanged.addListener(listener);
  return () => browser.storage.onChanged.removeListener(listener);
}

/**
 * The background's notification bookkeeping. The cursor is the last seq handled for one
 * server and token (`identity`): another server or a new login starts again at the head.
 */
export interface NotifierState {
  notifyCursor?: { identity: string; seq: number };
  /** Sensitive events notified since the popup last showed the log (the badge count). */
  unseenCount?: number;
}

export const NOTIFIER_KEYS = ['notifyCursor', 'unseenCount'] as const satisfies readonly (keyof NotifierState)[];

export async function loadNotifierState(): Promise<NotifierState> {
  return (await browser.storage.local.get([...NOTIFIER_KEYS])) as NotifierState;
}

export async function loadUnseenCount(): Promise<number> {
  const { unseenCount } = (await browser.storage.local.get('unseenCount')) as NotifierState;
  return typeof unseenCount === 'number' && unseenCount > 0 ? unseenCount : 0;
}
