// What every procedure sees: the database, the clock, who is calling and from where.
import type { IncomingMessage } from 'node:http';
import type { TRPCRequestInfo } from '@trpc/server/http';
import type { Database } from './db/database.js';
import { requestIdOf } from './requestLog.js';
import { authenticateToken, bearerToken, type AuthConfig } from './services/auth.js';
import type { Caller, RequestInfo } from './services/caller.js';
import type { Clock } from './services/events.js';
import { LiveHub } from './services/liveHub.js';
import { createLoginThrottle, type LoginThrottle } from './services/loginThrottle.js';
import { processSecretsKey, type SecretsKey } from './services/secretsKey.js';
import { generateSigner, type Signer } from './services/signingKey.js';

export interface ContextInner {
  db: Database;
  clock: Clock;
  /** null: no valid credentials were presented. */
  caller: Caller | null;
  request: RequestInfo;
  loginThrottle: LoginThrottle;
  /** Signs integrity checkpoints; its public key verifies them. */
  signer: Signer;
  /** Encrypts secret settings at rest (server/services/secretsKey.ts). */
  secretsKey: SecretsKey;
  /** Hands out live events to subscriptions. */
  live: LiveHub;
}

/** The context without HTTP, for tests and in-process callers (createCaller). */
export function createContextInner(inner: Partial<ContextInner> & Pick<ContextInner, 'db'>): ContextInner {
  return {
    clock: () => new Date(),
    caller: null,
    request: { ip: null, userAgent: null },
    loginThrottle: createLoginThrottle(),
    signer: inner.signer ?? generateSigner(),
    secretsKey: inner.secretsKey ?? processSecretsKey(),
    live: inner.live ?? new LiveHub(inner.db, undefined),
    ...inner,
  };
}

export interface ContextDeps {
  db: Database;
  auth: AuthConfig;
  loginThrottle: LoginThrottle;
  signer: Signer;
  secretsKey: SecretsKey;
  live: LiveHub;
}

/** The token of a request: the Authorization header over HTTP (SSE included), the
 * first message's connectionParams over WebSocket. Never the URL. */
function tokenOf(req: IncomingMessage, info: TRPCRequestInfo | undefined): string | null {
  if (req.headers.upgrade?.toLowerCase() === 'websocket') {
    const token = info?.connectionParams?.token;
    return typeof token === 'string' && /^[\x21-\x7e]{1,512}$/.test(token) ? token : null;
  }
  return bearerToken(req.headers.authorization);
}

export function makeCreateContext(deps: ContextDeps) {
  return async ({ req, info }: { req: IncomingMessage & { ip?: string | undefined }; info?: TRPCRequestInfo }): Promise<ContextInner> => {
    const clock = () => new Date();
    const token = tokenOf(req, info);
    return {
      db: deps.db,
      clock,
      caller: token ? await authenticateToken(deps.db, token, deps.auth, clock()) : null,
      request: {
        ip: req.ip ?? req.socket.remoteAddress ?? null,
        userAgent: req.headers['user-agent'] ?? null,
        transport: req.headers.upgrade?.toLowerCase() === 'websocket' ? 'ws' : 'http',
        requestId: requestIdOf(req),
      },
      loginThrottle: deps.loginThrottle,
      signer: deps.signer,
      secretsKey: deps.secretsKey,
      live: deps.live,
    };
  };
}

export type Context = ContextInner;
