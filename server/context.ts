// What every procedure sees: the database, the clock, who is calling and from where.
import { TRPCError } from '@trpc/server';
import { isDatabaseUnavailable } from './db/database.js';
import type { IncomingMessage } from 'node:http';
import type { TRPCRequestInfo } from '@trpc/server/http';
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { CONNECTION_LIMITS, SocketBudget, type ConnectionLimits } from './connectionLimits.js';
import type { Database } from './db/database.js';
import { EventWriter } from './db/eventWriter.js';
import { WebSocketLiveSink, type LiveSink } from './liveWire.js';
import { requestIdOf } from './requestLog.js';
import { AccessWatch, type WatchedCaller } from './services/accessWatch.js';
import { authenticateToken, bearerToken, recordThrottledLogins, type AuthConfig } from './services/auth.js';
import type { Caller, RequestInfo } from './services/caller.js';
import type { Clock } from './services/events.js';
import { LiveHub } from './services/liveHub.js';
import { defaultLogOrigin } from './config.js';
import { treeLogOf, type TreeLog } from './services/merkleTree.js';
import { createLoginThrottle, type LoginThrottle } from './services/loginThrottle.js';
import { processSecretsKey, type SecretsKey } from './services/secretsKey.js';
import { generateSigner, type Signer } from './services/signingKey.js';

export interface ContextInner {
  db: Database;
  /** Writes audit events (the group commit and the chain head of this process). */
  events: EventWriter;
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
  /** Keeps the callers of long-lived connections current (server/services/accessWatch.ts). */
  access: AccessWatch;
  /**
   * A long-lived connection's caller (a WebSocket's, an SSE stream's), re-read when its
   * rights change: every call over it is authorized with this, not with `caller`.
   */
  watched: WatchedCaller | null;
  /** A WebSocket's send buffer and subscription slots; null over HTTP and in-process. */
  socket: SocketBudget | null;
  /** Where a live stream writes its batches itself (WebSocket, SSE); null in-process and for other calls. */
  liveSink: (() => LiveSink) | null;
  /** Signs the Merkle tree's heads under the log's origin (server/services/merkleTree.ts). */
  treeLog: TreeLog;
}

/** The context without HTTP, for tests and in-process callers (createCaller). */
export function createContextInner(inner: Partial<ContextInner> & Pick<ContextInner, 'db'>): ContextInner {
  const signer = inner.signer ?? generateSigner();
  const events = inner.events ?? new EventWriter(inner.db);
  return {
    events,
    clock: () => new Date(),
    caller: null,
    request: { ip: null, userAgent: null },
    loginThrottle: inner.loginThrottle ?? createLoginThrottle({ recordRefusals: (window) => recordThrottledLogins(events, window) }),
    signer,
    secretsKey: inner.secretsKey ?? processSecretsKey(),
    live: inner.live ?? new LiveHub(inner.db, undefined),
    access: inner.access ?? new AccessWatch(inner.db, {}, undefined),
    watched: null,
    socket: null,
    liveSink: null,
    treeLog: inner.treeLog ?? treeLogOf(signer, defaultLogOrigin()),
    ...inner,
  };
}

export interface ContextDeps {
  db: Database;
  events: EventWriter;
  auth: AuthConfig;
  loginThrottle: LoginThrottle;
  signer: Signer;
  secretsKey: SecretsKey;
  live: LiveHub;
  access: AccessWatch;
  limits?: ConnectionLimits;
  treeLog: TreeLog;
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

/** Runs `release` when a WebSocket or an HTTP response (an SSE stream) ends. */
function onEnd(res: WebSocket | ServerResponse, release: () => void): void {
  if ('readyState' in res && typeof res.readyState === 'number') {
    if (res.readyState >= res.CLOSING) release();
    else res.once('close', release);
    return;
  }
  const response = res as ServerResponse;
  if (response.closed) release();
  else response.once('close', release);
}

/** Who is calling needs the database: while it is away the caller is told to retry, not a 500. */
async function retryable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable; retry shortly', cause: error });
    throw error;
  }
}

export function makeCreateContext(deps: ContextDeps) {
  return async ({
    req,
    res,
    info,
  }: {
    req: IncomingMessage & { ip?: string | undefined };
    res?: WebSocket | ServerResponse;
    info?: TRPCRequestInfo;
  }): Promise<ContextInner> => {
    const clock = () => new Date();
    const token = tokenOf(req, info);
    const overWebSocket = req.headers.upgrade?.toLowerCase() === 'websocket';
    // A WebSocket lives for hours and an SSE stream as long: their caller is watched.
    const watched = token && res && (overWebSocket || info?.type === 'subscription') ? await retryable(deps.access.watch(token)) : null;
    if (watched) onEnd(res!, () => watched.release());
    const socket = overWebSocket && res ? new SocketBudget(res as WebSocket, deps.limits ?? CONNECTION_LIMITS) : null;
    // An SSE stream's sink is set by the route that writes the stream (server/routes/liveSse.ts).
    const liveSink = socket ? () => new WebSocketLiveSink(res as WebSocket, socket) : null;
    return {
      db: deps.db,
      events: deps.events,
      clock,
      caller: watched ? watched.caller : token ? await retryable(authenticateToken(deps.db, token, deps.auth, clock())) : null,
      request: {
        ip: req.ip ?? req.socket.remoteAddress ?? null,
        userAgent: req.headers['user-agent'] ?? null,
        transport: overWebSocket ? 'ws' : 'http',
        requestId: requestIdOf(req),
      },
      loginThrottle: deps.loginThrottle,
      signer: deps.signer,
      secretsKey: deps.secretsKey,
      live: deps.live,
      access: deps.access,
      watched,
      socket,
      liveSink,
      treeLog: deps.treeLog,
    };
  };
}

export type Context = ContextInner;
