// What every procedure sees: the database, the clock, who is calling and from where.
import type { CreateExpressContextOptions } from '@trpc/server/adapters/express';
import type { Database } from './db/database.js';
import { authenticateToken, bearerToken, type AuthConfig } from './services/auth.js';
import type { Caller, RequestInfo } from './services/caller.js';
import type { Clock } from './services/events.js';
import { createLoginThrottle, type LoginThrottle } from './services/loginThrottle.js';
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
}

/** The context without HTTP, for tests and in-process callers (createCaller). */
export function createContextInner(inner: Partial<ContextInner> & Pick<ContextInner, 'db'>): ContextInner {
  return {
    clock: () => new Date(),
    caller: null,
    request: { ip: null, userAgent: null },
    loginThrottle: createLoginThrottle(),
    signer: inner.signer ?? generateSigner(),
    ...inner,
  };
}

export interface ContextDeps {
  db: Database;
  auth: AuthConfig;
  loginThrottle: LoginThrottle;
  signer: Signer;
}

export function makeCreateContext(deps: ContextDeps) {
  return async ({ req }: Pick<CreateExpressContextOptions, 'req'>): Promise<ContextInner> => {
    const clock = () => new Date();
    const token = bearerToken(req.headers.authorization);
    return {
      db: deps.db,
      clock,
      caller: token ? await authenticateToken(deps.db, token, deps.auth, clock()) : null,
      request: { ip: req.ip ?? req.socket.remoteAddress ?? null, userAgent: req.headers['user-agent'] ?? null },
      loginThrottle: deps.loginThrottle,
      signer: deps.signer,
    };
  };
}

export type Context = ContextInner;
