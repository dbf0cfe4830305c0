// What every procedure sees: the database, the clock and who is calling.
import type { CreateExpressContextOptions } from '@trpc/server/adapters/express';
import type { Database } from './db/database.js';
import { authenticateBearer, type Authenticator } from './services/auth.js';
import type { Caller, Clock } from './services/events.js';

export interface ContextInner {
  db: Database;
  clock: Clock;
  /** null: no valid credentials were presented. */
  caller: Caller | null;
}

/** The context without HTTP, for tests and in-process callers (createCaller). */
export function createContextInner(inner: Partial<ContextInner> & Pick<ContextInner, 'db'>): ContextInner {
  return { clock: () => new Date(), caller: null, ...inner };
}

export interface ContextDeps {
  db: Database;
  authenticator: Authenticator;
}

export function makeCreateContext(deps: ContextDeps) {
  return async ({ req }: Pick<CreateExpressContextOptions, 'req'>): Promise<ContextInner> =>
    createContextInner({ db: deps.db, caller: await authenticateBearer(deps.authenticator, req.headers.authorization) });
}

export type Context = ContextInner;
