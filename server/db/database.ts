// Opens the database: a real Postgres through postgres.js when a URL is given, else an
// embedded PGlite in a data directory (locked, so two processes never open it), and
// applies the migrations. Everything above this module sees one `Database` type.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import lockfile from 'proper-lockfile';
import { PRIVATE_DIR_MODE, restrictTree } from '../fileModes.js';
import { watchedSockets } from './connectionWatchdog.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** LISTEN on a channel: `onNotify` gets each NOTIFY's payload (after its transaction commits). */
  listen: ListenFn;
  close(): Promise<void>;
}

/** The embedded database's data directory is locked by another process (a running server, another CLI). */
export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string) {
    super(`the data directory ${dataDir} is in use by another Vigil process; stop it or set VIGIL_DATA_DIR`);
  }
}

export type ListenFn = (channel: string, onNotify: (payload: string) => void) => Promise<() => Promise<void>>;

// Postgres error classes and client error codes that mean "the database is not there
// right now": the request may be retried (event ids are idempotency keys). Time-outs
// (statement, lock, idle in transaction) are among them: the database was too slow or a
// lock holder stalled, not the request wrong.
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300|57014|55P03|25P03)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/** Whether an error (or what caused it, drizzle wraps driver errors) means the database is unreachable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : typeof e.errno === 'string' ? e.errno : '';
    if (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
  }
  return false;
}

const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Serialises migrations when several replicas start on one Postgres at once. */
const MIGRATION_LOCK_KEY = 7_162_021_001;

/**
 * How long postgres.js waits before connecting again after a failed attempt. Its default
 * grows to 10-20 s while the database is down (the count is shared by the whole pool and
 * the LISTEN connection): a request during an outage waited that long for its 503, and
 * the server noticed the database was back as late. Here: at most one second.
 */
const reconnectDelaySeconds = (failures: number) => Math.min(0.05 * 2 ** failures, 1);

/** How long a request may wait on Postgres (server/config.ts reads them from the environment). */
export interface DatabaseTimeouts {
  /** statement_timeout of every connection; a connection owing an answer this long plus a grace is dropped. */
  statementMs: number;
  /** lock_timeout (row locks and the writers' advisory lock). */
  lockMs: number;
  /** Opening a connection, TCP and start-up. */
  connectMs: number;
}

/** A connection silent this much longer than statement_timeout is broken, not busy. */
const ANSWER_GRACE_MS = 2_000;
/** TCP keep-alive on every connection: first probe after this much idleness. */
const KEEPALIVE_MS = 10_000;

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files (`<dataDir>/pgdata`) and its lock. */
  dataDir?: string;
  /** postgres.js pool size. */
  maxConnections?: number;
  /** Postgres only. Unset: no time-outs (the benchmark's bulk loads run long statements). */
  timeouts?: DatabaseTimeouts | undefined;
  /** Postgres only: how the connections name themselves (pg_stat_activity.application_name). */
  applicationName?: string;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.maxConnections ?? 10, options.timeouts, options.applicationName);
  if (!options.dataDir) throw new Error('openDatabase needs a databaseUrl or a dataDir');
  return openPglite(options.dataDir);
}

/** postgres.js options: the connections' name, and bounds on every wait on the database. */
function connectionOptions(timeouts: DatabaseTimeouts | undefined, applicationName: string | undefined) {
  const named = applicationName ? { application_name: applicationName } : {};
  if (!timeouts) return { connection: named } as postgres.Options<Record<string, never>>;
  const answerTimeoutMs = timeouts.statementMs + ANSWER_GRACE_MS;
  return {
    connect_timeout: timeouts.connectMs / 1000,
    // Start-up parameters: set on every connection the pool (or LISTEN) opens.
    connection: {
      ...named,
      statement_timeout: timeouts.statementMs,
      lock_timeout: timeouts.lockMs,
      // A client that vanished mid-transaction (its FIN lost too) releases its locks, the
      // writers' advisory lock included, instead of holding them until TCP gives up.
      idle_in_transaction_session_timeout: answerTimeoutMs,
    },
    // A documented postgres.js option its types leave out.
    socket: watchedSockets({ answerTimeoutMs, keepAliveMs: KEEPALIVE_MS }),
  } as postgres.Options<Record<string, never>>;
}

async function openPostgres(url: string, max: number, timeouts: DatabaseTimeouts | undefined, applicationName: string | undefined): Promise<DatabaseHandle> {
  const migrator = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await migrator.end();
  }
  const client = postgres(url, { max, onnotice: () => {}, backoff: reconnectDelaySeconds, keep_alive: KEEPALIVE_MS / 1000, ...connectionOptions(timeouts, applicationName) });
  const db = drizzlePostgres({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    // postgres.js keeps one extra connection for LISTEN and re-listens after a reconnect.
    listen: async (channel, onNotify) => {
      const { unlisten } = await client.listen(channel, onNotify);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      lockfilePath: path.join(dataDir, 'vigil.lock'),
      stale: 15_000,
      update: 5_000,
      retries: 0,
      realpath: false,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new DataDirInUseError(dataDir);
    }
    throw error;
  }
  try {
    const client = new PGlite(path.join(dataDir, 'pgdata'));
    await client.waitReady;
    await restrictTree(dataDir);
    const pglite = drizzlePglite({ client, schema });
    await migratePglite(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      db: pglite as unknown as Database,
      kind: 'pglite',
      listen: async (channel, onNotify) => client.listen(channel, onNotify),
      close: async () => {
        await client.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Which database a Drizzle handle talks to (PGlite's client is the one with `waitReady`). */
export function databaseKindOf(db: Database): { kind: 'postgres' | 'pglite'; poolMax: number } {
  const client = (db as unknown as { $client?: { options?: { max?: number }; waitReady?: unknown } }).$client;
  if (client && 'waitReady' in client) return { kind: 'pglite', poolMax: 1 };
  return { kind: 'postgres', poolMax: Number(client?.options?.max ?? 0) };
}

/** Rows of a raw query, whichever driver ran it (postgres.js gives an array, PGlite `{ rows }`). */
export async function queryRows<T extends Record<string, unknown>>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

const dialect = new PgDialect();

/**
 * queryRows for a large query run again and again with the same text: on Postgres a named
 * prepared statement (planned once per connection, then from its generic plan), where
 * Drizzle's execute has the text parsed and planned at every call. Elsewhere (PGlite, a
 * transaction) as queryRows.
 */
export async function queryRowsPrepared<T extends Record<string, unknown>>(db: Database, query: SQL): Promise<T[]> {
  const client = (db as unknown as { $client?: { waitReady?: unknown; unsafe?: (text: string, params: unknown[], options: { prepare: boolean }) => Promise<T[]> } }).$client;
  if (!client || 'waitReady' in client || typeof client.unsafe !== 'function') return queryRows(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  return client.unsafe(text, params, { prepare: true });
}

/** A cheap round trip, for /healthz. */
export async function pingDatabase(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}

/**
 * A health probe that answers within `deadlineMs` whatever the database does: a ping
 * still running past it is reported as a failure (and shared by the probes that come
 * meanwhile, so a stalled database does not collect a queue of pings).
 */
export function databaseProbe(db: Database, deadlineMs: number): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  return () => {
    const ping = (inFlight ??= pingDatabase(db).finally(() => {
      inFlight = null;
    }));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error(`the database did not answer within ${deadlineMs} ms`), { code: 'ETIMEDOUT' })), deadlineMs);
      ping.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  };
}
