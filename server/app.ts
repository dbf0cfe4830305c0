// The HTTP server: tRPC at /trpc and the health check. Built from explicit parts so
// tests start the same server the binary runs.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import cors from 'cors';
import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import { WebSocketServer } from 'ws';
import { KEEP_ALIVE } from '../shared/limits.js';
import { CONNECTION_LIMITS, type ConnectionLimits } from './connectionLimits.js';
import { makeCreateContext } from './context.js';
import { databaseProbe, type Database, type ListenFn } from './db/database.js';
import { EventWriter } from './db/eventWriter.js';
import { logger } from './logger.js';
import { httpMetrics, liveEventsEncoded, metricsHandler } from './metrics.js';
import { liveWireEncoder } from './liveWire.js';
import { requestLogger } from './requestLog.js';
import { checkpointHandler } from './routes/checkpoint.js';
import { exportHandler } from './routes/export.js';
import { extensionRoutes } from './routes/extension.js';
import { landingPage } from './routes/landing.js';
import { appRouter } from './routers/_app.js';
import { AccessWatch } from './services/accessWatch.js';
import { bearerToken, hashToken, recordThrottledLogins } from './services/auth.js';
import { LiveHub } from './services/liveHub.js';
import { LIVE_SSE_PATH, liveSseHandler } from './routes/liveSse.js';
import type { ExtensionPackages } from './services/extensionPackages.js';
import { createLoginThrottle, type LoginThrottle } from './services/loginThrottle.js';
import { SinkDelivery, type SinkDeliveryOptions } from './services/sinkDelivery.js';
import { SinkDeliveryThread, type SinkDeliveryThreadOptions } from './services/sinkDeliveryThread.js';
import { defaultLogOrigin } from './config.js';
import { treeLogOf, type TreeLog } from './services/merkleTree.js';
import type { SecretsKey } from './services/secretsKey.js';
import type { Signer } from './services/signingKey.js';

export interface AppDeps {
  db: Database;
  /** The process's event writer; one is built here when not given (tests share theirs). */
  events?: EventWriter;
  /** VIGIL_ADMIN_TOKEN: a site manager's token for automation. */
  adminToken?: string | undefined;
  /** The hash of this process's local CLI credential (server/services/cliCredential.ts). */
  cliCredentialHash?: string | undefined;
  maxBodyBytes: number;
  /** Web origins allowed besides browser extensions (VIGIL_CORS_ORIGINS). */
  corsOrigins?: string[];
  /** Chrome extension ids allowed besides the server's own package (VIGIL_EXTENSION_IDS). */
  extensionIds?: string[];
  /** Express `trust proxy`, so the client ip behind a load balancer is the real one. */
  trustProxy?: boolean | string | number;
  loginThrottle?: LoginThrottle;
  /** Signs integrity checkpoints (server/services/signingKey.ts). */
  signer: Signer;
  /** Encrypts secret settings at rest (server/services/secretsKey.ts). */
  secretsKey: SecretsKey;
  /** LISTEN on the database (DatabaseHandle.listen): wakes live subscriptions at once.
   * Without it they poll. */
  listen?: ListenFn;
  /** How often live subscriptions look for missed events besides LISTEN (ms). */
  livePollMs?: number;
  /** VIGIL_METRICS_TOKEN: when set, GET /metrics needs it as a bearer token. */
  metricsToken?: string | undefined;
  /** The extension packages served at /extension/* and offered on the landing page (null: not built). */
  extensionPackages?: ExtensionPackages | null;
  /** VIGIL_PUBLIC_URL: this server's address as browsers reach it. */
  publicUrl?: string | undefined;
  /** Per-connection limits (server/connectionLimits.ts); tests lower the send buffer. */
  limits?: Partial<Pick<ConnectionLimits, 'sendBufferBytes' | 'subscriptionsPerSocket'>>;
  /**
   * Delivery to sinks (timings; tests shorten them), or false: this process delivers none.
   * With `thread` (Postgres), on a thread of its own (server/services/sinkDeliveryThread.ts).
   */
  sinkDelivery?: (Omit<SinkDeliveryOptions, 'secretsKey'> & { thread?: Omit<SinkDeliveryThreadOptions, 'delivery'> }) | false;
  /** Signs the Merkle tree's heads (built from `signer` and VIGIL_LOG_ORIGIN); default: the host's origin. */
  treeLog?: TreeLog;
  /** VIGIL_PUBLIC_CHECKPOINT=1: GET /checkpoint without a token. */
  publicCheckpoint?: boolean;
}

/** What listen() needs from createApp to serve WebSockets and shut down cleanly. */
interface VigilLocals {
  createContext: ReturnType<typeof makeCreateContext>;
  live: LiveHub;
  access: AccessWatch;
  limits: ConnectionLimits;
  sinks: { stop(): Promise<void> } | null;
  loginThrottle: LoginThrottle;
  /** Whether a browser Origin may open a WebSocket (the CORS rule). */
  originAllowed: (origin: string) => boolean;
}

const SERVER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** /healthz answers within a second: the database gets this long to answer its ping. */
const HEALTH_DEADLINE_MS = 600;

/** Who may call from a browser (CORS, and the Origin of WebSocket upgrades). */
export interface OriginPolicy {
  /** Web origins (VIGIL_CORS_ORIGINS). */
  webOrigins: readonly string[];
  /** Chrome extension ids: the one this server's key gives its package, and VIGIL_EXTENSION_IDS. */
  extensionIds: readonly string[];
}

/**
 * Vigil's own Chrome extension (by id) and configured web origins. Firefox gives every
 * installed add-on a random UUID per profile, so no server can name Vigil's in advance:
 * moz-extension:// origins are accepted. Web pages cannot claim one (browsers set Origin).
 */
export function isAllowedOrigin(origin: string, policy: OriginPolicy): boolean {
  const chrome = /^chrome-extension:\/\/([a-p]{32})$/.exec(origin);
  if (chrome) return policy.extensionIds.includes(chrome[1]!);
  return /^moz-extension:\/\/[0-9a-f-]{36}$/.test(origin) || policy.webOrigins.includes(origin);
}

/** Delivery to sinks, started: on its own thread when asked for, else on this one; null: none. */
function sinkDeliveryOf(deps: AppDeps): { stop(): Promise<void> } | null {
  if (deps.sinkDelivery === false) return null;
  const { thread, ...delivery } = deps.sinkDelivery ?? {};
  if (thread) return new SinkDeliveryThread(deps.db, { ...thread, delivery }).start();
  return new SinkDelivery(deps.db, { ...delivery, secretsKey: deps.secretsKey }).start();
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Security headers on every answer (helmet); the API serves JSON, exports and a PEM,
  // never pages, so the strictest content policy costs nothing. Cross-origin reads stay
  // governed by CORS below (the extension fetches with CORS).
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  // Request logs with request ids (x-request-id), and request latency for /metrics.
  app.use(requestLogger());
  app.use(httpMetrics());
  const originPolicy: OriginPolicy = {
    webOrigins: deps.corsOrigins ?? [],
    extensionIds: [...(deps.extensionPackages ? [deps.extensionPackages.extensionId] : []), ...(deps.extensionIds ?? [])],
  };
  app.use(
    cors({
      origin: (origin, done) => done(null, origin === undefined ? false : isAllowedOrigin(origin, originPolicy)),
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'last-event-id'],
      // What the extension reads from an export's response.
      exposedHeaders: ['content-disposition', 'x-request-id', 'x-vigil-export-format', 'x-vigil-head-seq', 'x-vigil-head-hash', 'x-vigil-chain-start-hash', 'x-vigil-checkpoint', 'x-vigil-key-id'],
      maxAge: 600,
    }),
  );

  // What requests share: one event writer (its group commit and chain head) and one live hub.
  const events = deps.events ?? new EventWriter(deps.db);
  const live = new LiveHub(deps.db, deps.listen, deps.livePollMs, (n) => liveEventsEncoded.inc(n));
  const auth = { adminTokenHash: deps.adminToken ? hashToken(deps.adminToken) : undefined, cliCredentialHash: deps.cliCredentialHash };
  const access = new AccessWatch(deps.db, auth, deps.listen);
  const limits = { ...CONNECTION_LIMITS, ...deps.limits };
  const loginThrottle = deps.loginThrottle ?? createLoginThrottle({ recordRefusals: (window) => recordThrottledLogins(events, window) });
  const createContext = makeCreateContext({
    db: deps.db,
    events,
    auth,
    loginThrottle,
    signer: deps.signer,
    secretsKey: deps.secretsKey,
    live,
    access,
    limits,
    treeLog: deps.treeLog ?? treeLogOf(deps.signer, defaultLogOrigin()),
  });
  // Streams the trail to the configured sinks; stopped when the server closes.
  const sinks = sinkDeliveryOf(deps);
  app.locals.vigil = {
    createContext,
    live,
    access,
    limits,
    sinks,
    loginThrottle,
    originAllowed: (origin) => isAllowedOrigin(origin, originPolicy),
  } satisfies VigilLocals;

  // The live stream over SSE, written without tRPC's HTTP adapter (server/routes/liveSse.ts).
  app.get(LIVE_SSE_PATH, liveSseHandler({ createContext }));

  // Mounted before any body parser: tRPC reads and limits the body itself.
  app.use(
    '/trpc',
    createExpressMiddleware({
      router: appRouter,
      createContext,
      maxBodySize: deps.maxBodyBytes,
      maxBatchSize: limits.callsPerBatch,
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    }),
  );

  // The key that verifies checkpoints, for auditors and offline verification of exports.
  app.get('/integrity/public-key', (_req, res) => {
    res.type('application/x-pem-file').set('x-vigil-key-id', deps.signer.keyId).send(deps.signer.publicKeyPem);
  });

  // Filtered export of the audit log, streamed (CSV or NDJSON with integrity data). Every
  // method reaches the handler, which answers any but GET with a JSON 405.
  app.all(
    '/export',
    exportHandler({ db: deps.db, events, signer: deps.signer, adminTokenHash: deps.adminToken ? hashToken(deps.adminToken) : undefined }),
  );

  // The latest signed tree head, for external witnesses.
  app.get(
    '/checkpoint',
    checkpointHandler({ db: deps.db, adminTokenHash: deps.adminToken ? hashToken(deps.adminToken) : undefined, public: deps.publicCheckpoint ?? false }),
  );

  // Prometheus metrics.
  // Prometheus scrapes with a static bearer token when VIGIL_METRICS_TOKEN is set; the
  // figures are counts and latencies, never events or secrets.
  app.get('/metrics', metricsGuard(deps.metricsToken), metricsHandler(deps.db));

  // Load balancers need an answer, not a hung request: degraded if the database has not
  // answered within the deadline, whatever it does.
  const probeDatabase = databaseProbe(deps.db, HEALTH_DEADLINE_MS);
  app.get('/healthz', async (_req, res) => {
    try {
      await probeDatabase();
      res.json({ status: 'ok', database: 'reachable' });
    } catch (error) {
      logger.warn({ err: error }, 'health check: database unreachable');
      res.status(503).json({ status: 'degraded', database: 'unreachable' });
    }
  });

  // The landing page and the extension packages: no login, no event data.
  // One shared, bounded ping: a stalled database must not stall the page.
  const landingProbe = databaseProbe(deps.db, 1000);
  const extensionPackages = deps.extensionPackages ?? null;
  app.get(
    '/',
    landingPage({
      version: SERVER_VERSION,
      packages: extensionPackages,
      publicUrl: deps.publicUrl,
      healthy: () => landingProbe().then(() => true, () => false),
    }),
  );
  app.use(extensionRoutes(extensionPackages, deps.publicUrl));

  // Anything no route answered (malformed URLs, body parsers) ends here: a status and a
  // message, never a stack trace.
  const lastResort: ErrorRequestHandler = (error: { status?: number; statusCode?: number }, _req, res, _next) => {
    const status = error.status ?? error.statusCode ?? 500;
    if (status >= 500) logger.error({ err: error }, 'request failed');
    if (res.headersSent) return res.end();
    res.status(status).json({ error: { message: status >= 500 ? 'internal server error' : 'bad request' } });
  };
  app.use(lastResort);

  return app;
}

function metricsGuard(token: string | undefined): express.RequestHandler {
  const expected = token ? hashToken(token) : null;
  return (req, res, next) => {
    if (!expected) return next();
    const given = bearerToken(req.headers.authorization);
    if (given && timingSafeEqual(Buffer.from(hashToken(given)), Buffer.from(expected))) return next();
    res.status(401).set('www-authenticate', 'Bearer').json({ error: { message: 'a valid bearer token is required' } });
  };
}

export interface RunningServer {
  url: string;
  server: Server;
  /** Bytes queued for WebSocket clients that have not read them yet (bounded per socket). */
  webSocketBufferedBytes(): number;
  /** Bytes queued for any client (HTTP answers, SSE streams, WebSockets) that has not read them yet. */
  bufferedBytes(): number;
  close(): Promise<void>;
}

export async function listen(app: express.Express, port: number, host: string): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const vigil = app.locals.vigil as VigilLocals | undefined;
  // tRPC over WebSocket on the same port and path (subscriptions for the extension's worker).
  // Browsers send every WebSocket upgrade, cross-site ones included, with no CORS check:
  // an upgrade from an Origin CORS would refuse is refused here, or any web page could
  // drive auth.login. Non-browser clients send no Origin and are let through.
  const wss = vigil
    ? new WebSocketServer({
        server,
        path: '/trpc',
        maxPayload: 1024 * 1024,
        verifyClient: (info: { origin?: string }, done: (ok: boolean, code?: number, message?: string) => void) =>
          !info.origin || vigil.originAllowed(info.origin) ? done(true) : done(false, 403, 'origin not allowed'),
      })
    : null;
  const wsHandler =
    vigil && wss
      ? applyWSSHandler({
          wss,
          router: appRouter,
          createContext: vigil.createContext,
          maxBatchSize: vigil.limits.callsPerBatch,
          // Live batches go out as the bytes encoded once for all their subscribers.
          experimental_encoder: liveWireEncoder,
          keepAlive: { enabled: true, ...KEEP_ALIVE },
          onError({ error, path }) {
            if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed (ws)');
          },
        })
      : null;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    webSocketBufferedBytes: () => [...(wss?.clients ?? [])].reduce((sum, client) => sum + client.bufferedAmount, 0),
    bufferedBytes: () => [...sockets].reduce((sum, socket) => sum + socket.writableLength, 0),
    close: async () => {
      wsHandler?.broadcastReconnectNotification();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      await vigil?.sinks?.stop();
      await vigil?.live.close();
      await vigil?.access.close();
      // Refused logins still counting in an open window are recorded before the database closes.
      await vigil?.loginThrottle.flush();
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
