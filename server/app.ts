// The HTTP server: tRPC at /trpc and the health check. Built from explicit parts so
// tests start the same server the binary runs.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import cors from 'cors';
import express from 'express';
import { makeCreateContext } from './context.js';
import { pingDatabase, type Database } from './db/database.js';
import { logger } from './logger.js';
import { appRouter } from './routers/_app.js';
import { hashToken } from './services/auth.js';
import { createLoginThrottle, type LoginThrottle } from './services/loginThrottle.js';
import type { Signer } from './services/signingKey.js';

export interface AppDeps {
  db: Database;
  /** VIGIL_ADMIN_TOKEN: a site manager's token for automation. */
  adminToken?: string | undefined;
  maxBodyBytes: number;
  /** Web origins allowed besides browser extensions (VIGIL_CORS_ORIGINS). */
  corsOrigins?: string[];
  /** Express `trust proxy`, so the client ip behind a load balancer is the real one. */
  trustProxy?: boolean | string | number;
  loginThrottle?: LoginThrottle;
  /** Signs integrity checkpoints (server/services/signingKey.ts). */
  signer: Signer;
}

/** Browser extensions (the Vigil extension's pages and worker) and configured origins. */
export function isAllowedOrigin(origin: string, configured: readonly string[]): boolean {
  return /^(chrome-extension|moz-extension):\/\/[a-z0-9-]{1,64}$/.test(origin) || configured.includes(origin);
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  const corsOrigins = deps.corsOrigins ?? [];
  app.use(
    cors({
      origin: (origin, done) => done(null, origin === undefined ? false : isAllowedOrigin(origin, corsOrigins)),
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'last-event-id'],
      maxAge: 600,
    }),
  );

  // Mounted before any body parser: tRPC reads and limits the body itself.
  app.use(
    '/trpc',
    createExpressMiddleware({
      router: appRouter,
      createContext: makeCreateContext({
        db: deps.db,
        auth: { adminTokenHash: deps.adminToken ? hashToken(deps.adminToken) : undefined },
        loginThrottle: deps.loginThrottle ?? createLoginThrottle(),
        signer: deps.signer,
      }),
      maxBodySize: deps.maxBodyBytes,
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    }),
  );

  // The key that verifies checkpoints, for auditors and offline verification of exports.
  app.get('/integrity/public-key', (_req, res) => {
    res.type('application/x-pem-file').set('x-vigil-key-id', deps.signer.keyId).send(deps.signer.publicKeyPem);
  });

  app.get('/healthz', async (_req, res) => {
    try {
      await pingDatabase(deps.db);
      res.json({ status: 'ok', database: 'reachable' });
    } catch (error) {
      logger.warn({ err: error }, 'health check: database unreachable');
      res.status(503).json({ status: 'degraded', database: 'unreachable' });
    }
  });

  return app;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function listen(app: express.Express, port: number, host: string): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
