// tRPC initialisation, error shaping and the procedure kinds every router builds on.
import { initTRPC, TRPCError } from '@trpc/server';
import { CONNECTION_LIMITS } from './connectionLimits.js';
import type { Context } from './context.js';
import { isDatabaseUnavailable } from './db/database.js';
import { procedureDuration } from './metrics.js';
import { mayReadEvents, type Caller } from './services/caller.js';
import { ReasonedCause } from './services/refusal.js';
import { KEEP_ALIVE } from '../shared/limits.js';

interface SchemaIssue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message: string;
}

function issuePath(issue: SchemaIssue): string {
  const parts = (issue.path ?? []).map((p) => (typeof p === 'object' ? p.key : p));
  return parts.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );
}

/** Validation issues of a zod (or any standard-schema) failure, if that is what `cause` is. */
function schemaIssues(cause: unknown): SchemaIssue[] | null {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) ? (issues as SchemaIssue[]) : null;
}

function describeIssues(issues: SchemaIssue[]) {
  return issues.map((i) => ({ path: issuePath(i) || '(input)', message: i.message }));
}

const t = initTRPC.context<Context>().create({
  // Stack traces never reach clients.
  isDev: false,
  // SSE subscriptions send a ping comment so proxies and clients know the stream lives.
  // A client that hears nothing for two pings and more reconnects.
  sse: { ping: { enabled: true, intervalMs: KEEP_ALIVE.pingMs }, client: { reconnectAfterInactivityMs: 2 * KEEP_ALIVE.pingMs + 5_000 } },
  errorFormatter({ shape, error }) {
    const issues = error.code === 'BAD_REQUEST' ? schemaIssues(error.cause) : null;
    if (issues) return { ...shape, data: { ...shape.data, issues: describeIssues(issues) } };
    if (error.code === 'BAD_REQUEST' && error.message === 'Batch call exceeds maximum size') {
      return { ...shape, message: `a batch may carry at most ${CONNECTION_LIMITS.callsPerBatch} calls; split it` };
    }
    if (error.code === 'BAD_REQUEST' && error.cause instanceof SyntaxError) {
      return { ...shape, message: `body: not valid JSON (${error.cause.message})` };
    }
    if (error.cause instanceof ReasonedCause) return { ...shape, data: { ...shape.data, reason: error.cause.reason } };
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      // The real cause goes to the log, not to the client.
      return { ...shape, message: 'internal server error' };
    }
    return shape;
  },
});

/**
 * Errors clients can act on, for HTTP and in-process callers alike: input validation
 * errors say which field is wrong (`events[2].action: unknown action "explode"; ...`),
 * and an unreachable database is SERVICE_UNAVAILABLE (retry) rather than a 500.
 * Runs around the input parser, hence a base middleware.
 */
const shapeErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.code === 'BAD_REQUEST') {
    const issues = schemaIssues(result.error.cause);
    if (issues) result.error.message = describeIssues(issues).map((i) => `${i.path}: ${i.message}`).join('; ');
  }
  if (!result.ok && result.error.code === 'INTERNAL_SERVER_ERROR' && isDatabaseUnavailable(result.error.cause)) {
    return {
      ...result,
      error: new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable; retry shortly', cause: result.error.cause }),
    };
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Times every procedure call for GET /metrics (vigil_trpc_procedure_duration_seconds). */
const timed = t.middleware(async ({ path, type, next }) => {
  const end = procedureDuration.startTimer({ procedure: path, type });
  const result = await next();
  end({ code: result.ok ? 'OK' : result.error.code });
  return result;
});

/**
 * Over a long-lived connection the caller is the one of NOW: rights revoked, a session
 * ended or a role changed since the connection opened apply to its next call
 * (server/services/accessWatch.ts). Over a WebSocket, calls are admitted a bounded
 * number at a time, and none while the client leaves its answers unread.
 */
const currentCaller = t.middleware(async ({ ctx, type, signal, next }) => {
  const release = ctx.socket && type !== 'subscription' ? await ctx.socket.admitCall(signal) : null;
  try {
    if (!ctx.watched) return await next();
    return await next({ ctx: { ...ctx, caller: await ctx.watched.current() } });
  } finally {
    release?.();
  }
});

export const publicProcedure = t.procedure.use(timed).use(shapeErrors).use(currentCaller);

function unauthorized(): TRPCError {
  return new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
}

function forbidden(what: string): TRPCError {
  return new TRPCError({ code: 'FORBIDDEN', message: `only ${what} may do this` });
}

/** Any valid credentials: a user of any role, or a service token. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.caller) throw unauthorized();
  return next({ ctx: { ...ctx, caller: ctx.caller } });
});

/** Site managers and auditors (the people Coder lets read the audit log). */
export const auditorProcedure = authedProcedure.use(({ ctx, next }) => {
  const { caller } = ctx;
  if (caller.kind !== 'user' || (caller.role !== 'site_manager' && caller.role !== 'auditor')) {
    throw forbidden('site managers and auditors');
  }
  return next({ ctx: { ...ctx, caller } });
});

/** Why `caller` may not read events (UNAUTHORIZED, FORBIDDEN), or null: it may. Streams re-ask. */
export function eventReaderRefusal(caller: Caller | null): TRPCError | null {
  if (!caller) return unauthorized();
  if (!mayReadEvents(caller)) return forbidden('site managers, auditors and service tokens with events:read');
  return null;
}

/** Reading events: site managers, auditors, and service tokens with `events:read`. */
export const eventReaderProcedure = authedProcedure.use(({ ctx, next }) => {
  const refusal = eventReaderRefusal(ctx.caller);
  if (refusal) throw refusal;
  return next();
});

/** Recording events: service tokens with `events:write`, and site managers. */
export const ingestProcedure = authedProcedure.use(({ ctx, next }) => {
  const { caller } = ctx;
  const allowed = caller.kind === 'user' ? caller.role === 'site_manager' : caller.scopes.includes('events:write');
  if (!allowed) throw forbidden('service tokens with events:write and site managers');
  return next();
});

/** Everything else that changes Vigil itself: site managers only. */
export const siteManagerProcedure = authedProcedure.use(({ ctx, next }) => {
  const { caller } = ctx;
  if (caller.kind !== 'user' || caller.role !== 'site_manager') throw forbidden('site managers');
  return next({ ctx: { ...ctx, caller } });
});
