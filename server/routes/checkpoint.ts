// GET /checkpoint: the latest signed tree head as a C2SP checkpoint note (text/plain), for
// external witnesses and monitors. Auditors, site managers and service tokens with
// events:read present a bearer token; VIGIL_PUBLIC_CHECKPOINT=1 serves it to anyone (a
// checkpoint holds a size and a root hash, nothing of the events).
import type { RequestHandler } from 'express';
import type { Database } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { selectLatestTreeHead } from '../db/merkleStore.js';
import { logger } from '../logger.js';
import { authenticateToken, bearerToken } from '../services/auth.js';
import type { Caller } from '../services/caller.js';

export interface CheckpointRouteDeps {
  db: Database;
  adminTokenHash: string | undefined;
  /** VIGIL_PUBLIC_CHECKPOINT=1 */
  public: boolean;
}

/** The same rule as eventReaderProcedure (server/trpc.ts). */
function mayReadEvents(caller: Caller): boolean {
  return caller.kind === 'user' ? caller.role === 'site_manager' || caller.role === 'auditor' : caller.scopes.includes('events:read');
}

export function checkpointHandler(deps: CheckpointRouteDeps): RequestHandler {
  return async (req, res) => {
    const fail = (status: number, message: string) => {
      if (status === 401) res.set('www-authenticate', 'Bearer');
      res.status(status).type('text/plain').send(`${message}\n`);
    };
    try {
      if (!deps.public) {
        const token = bearerToken(req.headers.authorization);
        const caller = token ? await authenticateToken(deps.db, token, { adminTokenHash: deps.adminTokenHash }, new Date()) : null;
        if (!caller) return fail(401, 'a valid bearer token is required (or set VIGIL_PUBLIC_CHECKPOINT=1)');
        if (!mayReadEvents(caller)) return fail(403, 'only site managers, auditors and service tokens with events:read may do this');
      }
      const head = await selectLatestTreeHead(deps.db);
      if (!head) return fail(404, 'no tree head is signed yet');
      res.status(200).type('text/plain; charset=utf-8').set('cache-control', 'no-store').send(head.note);
    } catch (error) {
      if (isDatabaseUnavailable(error)) return fail(503, 'the database is unavailable; retry shortly');
      logger.error({ err: error }, 'GET /checkpoint failed');
      fail(500, 'internal server error');
    }
  };
}
