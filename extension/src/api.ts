// Talking to the Vigil server: the shared typed client, the auth calls, and the host
// permission for the configured server.
import { createVigilCallClient, type VigilClient } from '../../shared/callClient.js';
import { browser, isFirefox } from './platform.js';
import { hostPattern, patternCovers } from './serverUrl.js';
import type { Session, SessionUser, Settings } from './settings.js';

export interface LoginAnswer {
  token: string;
  expiresAt: string | null;
  user: SessionUser;
}

const clients = new Map<string, VigilClient>();

/** One client per server and token, reused by every call of a page (pages never subscribe: no transports for it). */
export function clientFor(serverUrl: string, token?: string): VigilClient {
  const key = `${serverUrl}\n${token ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = createVigilCallClient({ url: serverUrl, batch: false, ...(token ? { token } : {}) });
    clients.set(key, client);
  }
  return client;
}

export function settingsClient(settings: Settings): VigilClient {
  if (!settings.serverUrl) throw new Error('no server configured');
  return clientFor(settings.serverUrl, settings.token);
}

export async function login(serverUrl: string, username: string, password: string): Promise<LoginAnswer> {
  return clientFor(serverUrl).auth.login.mutate({ username, password });
}

/** Who a token belongs to: a person (with a role) or a service token. */
export async function whoAmI(serverUrl: string, token: string): Promise<Session> {
  const me = await clientFor(serverUrl, token).auth.me.query();
  return me.kind === 'user' ? { kind: 'user', user: me.user } : { kind: 'service', name: me.token.name };
}

export async function logout(serverUrl: string, token: string): Promise<void> {
  await clientFor(serverUrl, token).auth.logout.mutate();
}

export function serverPattern(serverUrl: string): string {
  return hostPattern(serverUrl, isFirefox());
}

/** Whether the browser lets the extension reach the configured server. */
export async function hasHostAccess(serverUrl: string): Promise<boolean> {
  const wanted = serverPattern(serverUrl);
  if (await browser.permissions.contains({ origins: [wanted] })) return true;
  const all = await browser.permissions.getAll();
  return (all.origins ?? []).some((granted) => patternCovers(granted, wanted));
}
