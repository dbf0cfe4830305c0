// What the extension remembers, all in storage.local (never storage.sync: the token must
// not travel to other machines): the server, the credentials, who they belong to, and
// the last query the user looked at.
import type { Role } from '../../shared/identity.js';
import { browser } from './platform.js';

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
}

const KEYS = ['serverUrl', 'token', 'session', 'lastQuery'] as const satisfies readonly (keyof Settings)[];

export async function loadSettings(): Promise<Settings> {
  return (await browser.storage.local.get([...KEYS])) as Settings;
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
    if (area !== 'local') return;
    if (!KEYS.some((key) => key in changes)) return;
    void loadSettings().then(callback);
  };
  browser.storage.onChanged.addListener(listener);
  return () => browser.storage.onChanged.removeListener(listener);
}
