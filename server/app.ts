// The HTTP server: tRPC at /trpc and the health check. Built from explicit parts so
// tests start the same server the binary runs.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import { makeCreateContext } from './context.js';
import { pingDatabase, type Database } from './db/database.js';
import { logger } from './logger.js';
import { appRouter } from './routers/_app.js';
import type { Authenticator } from './services/auth.js';

export interface AppDeps {
  db: Database;
  authenticator: Authenticator;
  maxBodyBytes: number;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  // Mounted before any body parser: tRPC reads and limits the body itself.
  app.use(
    '/trpc',
    createExpressMiddleware({
      router: appRouter,
      createContext: makeCreateContext(deps),
      maxBodySize: deps.maxBodyBytes,
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    }),
  );

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
