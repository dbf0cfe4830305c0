// Request logs (pino-http): one JSON line per answered request with its request id, which
// is also echoed in the `x-request-id` response header (a valid incoming one is kept, so
// a proxy's id follows the request). Only method, path, status, time, ip and user agent
// are logged: never a header that could carry a credential, never a body.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import { logger } from './logger.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Scraped or polled every few seconds: logged only at debug level. */
const QUIET_PATHS = new Set(['/healthz', '/metrics']);
/** The message of the Error pino-http invents for a 5xx (pino-http/logger.js). */
const SYNTHETIC_ERROR = /^failed with status code \d+$/;

/** The path a request was made to: Express strips a mount point (`/trpc`) from req.url. */
function requestPath(req: IncomingMessage): string {
  return pathOf((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url);
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** The request id a request carries (set by requestLogger). */
export function requestIdOf(req: IncomingMessage): string | undefined {
  const id = (req as IncomingMessage & { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

export function requestLogger() {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    customLogLevel(req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      if (QUIET_PATHS.has(requestPath(req))) return 'debug';
      return res.statusCode >= 400 ? 'warn' : 'info';
    },
    customSuccessMessage: (req, res) => `${req.method} ${requestPath(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${requestPath(req)} ${res.statusCode}`,
    serializers: {
      // The path without its query string: tRPC GET inputs and export queries stay out of the log.
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string; headers?: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        path: pathOf(req.url),
        ip: req.remoteAddress,
        userAgent: req.headers?.['user-agent'],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      // For a 5xx answered without an error, pino-http makes one up ("failed with status
      // code 503"): its stack points into pino-http and says nothing the line does not.
      err: (err: { message?: string }) => (SYNTHETIC_ERROR.test(err.message ?? '') ? undefined : err),
    },
  });
}
