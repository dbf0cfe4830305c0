// GET /export?q=<query>&format=ndjson|csv with `Authorization: Bearer <token>`: the audit
// log as a file. Site managers, auditors and service tokens with events:read (the rule of
// events.list); no token 401, another role 403, a bad query 400 with the parser's message.
import { pipeline } from 'node:stream/promises';
import { TRPCError } from '@trpc/server';
import type { RequestHandler, Response } from 'express';
import { QUERY_LIMITS } from '../../shared/query.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import { logger } from '../logger.js';
import { exportsTotal } from '../metrics.js';
import { requestIdOf } from '../requestLog.js';
import { authenticateToken, bearerToken } from '../services/auth.js';
import type { Caller } from '../services/caller.js';
import { EXPORT_FORMATS, startExport, type ExportFormat } from '../services/export.js';
import type { Signer } from '../services/signingKey.js';
import { isDatabaseUnavailable } from '../db/database.js';

export interface ExportRouteDeps {
  db: Database;
  events: EventWriter;
  signer: Signer;
  /** VIGIL_ADMIN_TOKEN's hash, as the tRPC context gets it. */
  adminTokenHash: string | undefined;
}

function fail(res: Response, status: number, code: string, message: string): void {
  if (status === 401) res.set('www-authenticate', 'Bearer');
  res.status(status).json({ error: { code, message } });
}

/** The same rule as eventReaderProcedure (server/trpc.ts). */
function mayReadEvents(caller: Caller): boolean {
  return caller.kind === 'user' ? caller.role === 'site_manager' || caller.role === 'auditor' : caller.scopes.includes('events:read');
}

export function exportHandler(deps: ExportRouteDeps): RequestHandler {
  return async (req, res) => {
    // Express answers HEAD with the GET route: that would run (and record) a whole export.
    if (req.method !== 'GET') {
      res.set('allow', 'GET');
      return fail(res, 405, 'METHOD_NOT_SUPPORTED', 'GET /export only');
    }
    const token = bearerToken(req.headers.authorization);
    const caller = token ? await authenticateToken(deps.db, token, { adminTokenHash: deps.adminTokenHash }, new Date()) : null;
    if (!caller) return fail(res, 401, 'UNAUTHORIZED', 'a valid bearer token is required');
    if (!mayReadEvents(caller)) return fail(res, 403, 'FORBIDDEN', 'only site managers, auditors and service tokens with events:read may do this');

    const { q, format = 'ndjson' } = req.query;
    if (q !== undefined && (typeof q !== 'string' || q.length > QUERY_LIMITS.length)) {
      return fail(res, 400, 'BAD_REQUEST', `q: one query of at most ${QUERY_LIMITS.length} characters`);
    }
    if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) {
      return fail(res, 400, 'BAD_REQUEST', `format: one of ${EXPORT_FORMATS.join(', ')}`);
    }

    let started;
    try {
      started = await startExport(deps.db, deps.events, deps.signer, {
        q,
        format: format as ExportFormat,
        caller,
        request: { ip: req.ip ?? null, userAgent: req.headers['user-agent'] ?? null, requestId: requestIdOf(req) },
      });
    } catch (error) {
      if (error instanceof TRPCError && error.code === 'BAD_REQUEST') return fail(res, 400, 'BAD_REQUEST', error.message);
      if (isDatabaseUnavailable(error)) return fail(res, 503, 'SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly');
      logger.error({ err: error }, 'export failed to start');
      return fail(res, 500, 'INTERNAL_SERVER_ERROR', 'internal server error');
    }

    res.status(200).set({
      ...started.headers,
      'content-type': started.contentType,
      'content-disposition': `attachment; filename="${started.filename}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    try {
      // pipeline: backpressure (a chunk is read when the socket took the last), and a
      // closed connection destroys the body, which stops reading the database.
      await pipeline(started.body, res);
      exportsTotal.inc({ format, outcome: 'completed' });
    } catch (error) {
      const aborted = (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE';
      exportsTotal.inc({ format, outcome: aborted ? 'aborted' : 'failed' });
      if (aborted) logger.info({ rows: started.rows(), format }, 'export aborted by the client');
      else logger.error({ err: error, rows: started.rows() }, 'export failed while streaming');
      // Headers are gone: a cut connection (no final chunk) is how the client learns it.
      res.destroy();
    }
  };
}
