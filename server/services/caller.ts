// Who is calling, as procedures see it once a bearer token has been checked.
import os from 'node:os';
import type { Role, TokenScope } from '../../shared/identity.js';

export type Caller =
  | {
      kind: 'user';
      /** null for the environment's VIGIL_ADMIN_TOKEN, which belongs to no row. */
      userId: string | null;
      username: string;
      email: string | null;
      role: Role;
      /** The session token in use (null for VIGIL_ADMIN_TOKEN). */
      tokenId: string | null;
    }
  | { kind: 'service'; tokenId: string; name: string; scopes: TokenScope[] };

/**
 * The actor name of VIGIL_ADMIN_TOKEN's acts. It is not the first site manager `admin`, so
 * the log tells the shared automation token from the person; no user may take the name.
 */
export const BOOTSTRAP_TOKEN_USERNAME = 'bootstrap-token';

/** The caller VIGIL_ADMIN_TOKEN stands for: a site manager with no user row. */
export const BOOTSTRAP_TOKEN_CALLER: Caller = {
  kind: 'user',
  userId: null,
  username: BOOTSTRAP_TOKEN_USERNAME,
  email: null,
  role: 'site_manager',
  tokenId: null,
};

/**
 * The caller the `vigil` CLI acts as, on the database or through a running server with
 * the local CLI credential: a site manager named after the OS account, `cli:<account>`.
 * Through the server that is the server's account, the only one that can read the
 * credential file. No user may take the name (usernames have no ":").
 */
export function cliCaller(): Caller {
  return { kind: 'user', userId: null, username: `cli:${os.userInfo().username}`, email: null, role: 'site_manager', tokenId: null };
}

/** Where a request came from, recorded on the events it causes. */
export interface RequestInfo {
  ip: string | null;
  userAgent: string | null;
  /** How the call arrived: HTTP (SSE included), a WebSocket, or in-process. */
  transport?: 'http' | 'ws' | 'local';
  /** The HTTP request's id (x-request-id, also on its request log line). */
  requestId?: string | undefined;
}

/** The event fields a request fills in (ip, user agent, request id), where it has them. */
export function requestFields(request: RequestInfo): { ip?: string; userAgent?: string; requestId?: string } {
  return {
    ...(request.ip ? { ip: request.ip } : {}),
    ...(request.userAgent ? { userAgent: request.userAgent.slice(0, 1024) } : {}),
    ...(request.requestId ? { requestId: request.requestId } : {}),
  };
}

/** The actor recorded on events a caller causes. */
export function actorOf(caller: Caller): { id?: string; username: string; email?: string } {
  if (caller.kind === 'service') return { id: caller.tokenId, username: `service:${caller.name}` };
  return {
    ...(caller.userId ? { id: caller.userId } : {}),
    username: caller.username,
    ...(caller.email ? { email: caller.email } : {}),
  };
}

/** The username `username:me` stands for; service tokens have none. */
export function usernameOf(caller: Caller | null): string | undefined {
  return caller?.kind === 'user' ? caller.username : undefined;
}

/** Reading the audit log: site managers, auditors, and service tokens with `events:read`. */
export function mayReadEvents(caller: Caller): boolean {
  return caller.kind === 'user' ? caller.role === 'site_manager' || caller.role === 'auditor' : caller.scopes.includes('events:read');
}
