// The list benchmark's tables: N generated events in a kept Postgres database (or a kept
// PGlite data directory), regenerated only when missing, of the wrong size or with --fresh.
// The load drops the secondary indexes and the unique id constraint, inserts with
// server-side SQL in chunks, recreates them exactly as the migration defined them
// (captured from the catalog first), then VACUUM ANALYZE.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';
import { generateInsertSql } from './generate.js';
import { createVigilClient } from '../../shared/client.js';
import { log, now, REPO_ROOT, startBenchServer } from './util.js';

/** Bumped whenever the generator changes, so kept data sets are regenerated. */
export const GENERATOR_VERSION = 1;
const SPAN_DAYS = 365;

export interface DatasetMeta {
  version: number;
  rows: number;
  /** The newest event's time; the generated times end here. */
  endIso: string;
  spanDays: number;
  generatedAt: string;
  generationSeconds: number;
}

/** The minimal query surface both engines offer (postgres.js and PGlite). */
export interface RawDb {
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export function rawPostgres(sql: postgres.Sql): RawDb {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
  };
}

export function rawPglite(pg: PGlite): RawDb {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await pg.query<T>(text, params)).rows;
    },
  };
}

/** The PGlite client under a Drizzle handle opened by openDatabase. */
export function pgliteOf(handle: DatabaseHandle): PGlite {
  return (handle.db as unknown as { $client: PGlite }).$client;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function readMeta(db: RawDb): Promise<DatasetMeta | null> {
  const [exists] = await db.query<{ t: string | null }>(`select to_regclass('bench_meta')::text as t`);
  if (!exists?.t) return null;
  const [row] = await db.query<{ value: DatasetMeta | string }>(`select value from bench_meta where key = 'dataset'`);
  if (!row) return null;
  return typeof row.value === 'string' ? (JSON.parse(row.value) as DatasetMeta) : row.value;
}

/**
 * The definition of audit_events (columns, indexes, constraints) as the catalog reports
 * it, to tell whether a kept data set still matches the migrations.
 */
export async function tableSignature(db: RawDb): Promise<string> {
  const columns = await db.query<{ c: string }>(
    `select column_name || ' ' || data_type || coalesce('(' || datetime_precision || ')', '') || ' ' || is_nullable as c
     from information_schema.columns where table_name = 'audit_events' and table_schema = current_schema()
     order by ordinal_position`,
  );
  const indexes = await db.query<{ c: string }>(
    `select indexname || ': ' || regexp_replace(indexdef, '^.* USING ', '') as c from pg_indexes
     where tablename = 'audit_events' and schemaname = current_schema() order by indexname`,
  );
  return [...columns, ...indexes].map((r) => r.c).join('\n');
}

/** Whether every migration applied to the kept database is still the same file today. */
async function migrationsMatch(db: RawDb): Promise<boolean> {
  const files = readMigrationFiles({ migrationsFolder: path.join(REPO_ROOT, 'server/db/migrations') });
  const [table] = await db.query<{ t: string | null }>(`select to_regclass('drizzle.__drizzle_migrations')::text as t`);
  if (!table?.t) return false;
  const applied = await db.query<{ hash: string }>(`select hash from drizzle.__drizzle_migrations order by created_at, id`);
  return applied.every((row, i) => files[i]?.hash === row.hash);
}

async function isComplete(db: RawDb, rows: number, expected: string): Promise<DatasetMeta | null> {
  const meta = await readMeta(db);
  if (!meta || meta.version !== GENERATOR_VERSION || meta.rows !== rows) return null;
  if (!(await migrationsMatch(db))) {
    log('the kept database had migrations applied that differ from the current files');
    return null;
  }
  const actual = await tableSignature(db);
  if (actual !== expected) {
    log(`the kept table differs from what the migrations create now:\n--- kept\n${actual}\n--- migrations\n${expected}`);
    return null;
  }
  const [stats] = await db.query<{ max: string | number | null; indexes: string | number }>(
    `select (select max(seq) from audit_events) as max,
            (select count(*) from pg_indexes where tablename = 'audit_events') as indexes`,
  );
  // max(seq) >= rows: the server's first start may add an event or two after the load.
  if (Number(stats?.max) < rows || Number(stats?.indexes) < 10) return null;
  return meta;
}

const KNOWN_COLUMNS = new Set([
  'seq', 'id', 'time', 'recorded_at', 'action', 'resource_type', 'resource_id', 'resource_target', 'actor_id',
  'actor_username', 'actor_email', 'ip', 'user_agent', 'status_code', 'request_id', 'diff', 'metadata', 'hash',
]);

/**
 * Which optional columns audit_events has today (the benchmark fills them), failing
 * clearly if a migration added a required column the generators do not know.
 */
export async function auditColumns(db: RawDb): Promise<{ hash: boolean }> {
  const cols = await db.query<{ column_name: string; is_nullable: string; column_default: string | null; is_identity: string }>(
    `select column_name, is_nullable, column_default, is_identity from information_schema.columns
     where table_name = 'audit_events' and table_schema = current_schema()`,
  );
  const unknown = cols.filter(
    (c) => !KNOWN_COLUMNS.has(c.column_name) && c.is_nullable === 'NO' && c.column_default === null && c.is_identity !== 'YES',
  );
  if (unknown.length) {
    throw new Error(`audit_events has required columns the benchmark cannot fill: ${unknown.map((c) => c.column_name).join(', ')}`);
  }
  return { hash: cols.some((c) => c.column_name === 'hash') };
}

/** Loads `rows` events into an empty, migrated audit_events. */
async function load(db: RawDb, rows: number, label: string, opts: { maintenanceMem: string; parallel: boolean; chunk: number }): Promise<DatasetMeta> {
  const started = now();
  const endIso = new Date().toISOString();
  const { hash } = await auditColumns(db);
  const indexes = await db.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where tablename = 'audit_events' and indexname <> 'audit_events_pkey'`,
  );
  const uniques = await db.query<{ conname: string; def: string }>(
    `select conname, pg_get_constraintdef(oid) as def from pg_constraint
     where conrelid = 'audit_events'::regclass and contype = 'u'`,
  );
  for (const c of uniques) await db.query(`alter table audit_events drop constraint ${c.conname}`);
  for (const i of indexes) await db.query(`drop index if exists ${i.indexname}`);

  for (let from = 1; from <= rows; from += opts.chunk) {
    const to = Math.min(rows, from + opts.chunk - 1);
    const t0 = now();
    await db.query(generateInsertSql({ from, to, total: rows, endIso, spanDays: SPAN_DAYS, hashColumn: hash }));
    log(`${label}: inserted rows ${from.toLocaleString()}..${to.toLocaleString()} in ${((now() - t0) / 1000).toFixed(1)} s`);
  }

  await db.query(`set maintenance_work_mem = '${opts.maintenanceMem}'`);
  if (opts.parallel) await db.query(`set max_parallel_maintenance_workers = 2`);
  for (const c of uniques) {
    const t0 = now();
    await db.query(`alter table audit_events add constraint ${c.conname} ${c.def}`);
    log(`${label}: ${c.conname} rebuilt in ${((now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const i of indexes) {
    if (uniques.some((c) => c.conname === i.indexname)) continue;
    const t0 = now();
    await db.query(i.indexdef);
    log(`${label}: ${i.indexname} rebuilt in ${((now() - t0) / 1000).toFixed(1)} s`);
  }
  const t0 = now();
  await db.query(`vacuum (analyze) audit_events`);
  log(`${label}: VACUUM ANALYZE in ${((now() - t0) / 1000).toFixed(1)} s`);

  const meta: DatasetMeta = {
    version: GENERATOR_VERSION,
    rows,
    endIso,
    spanDays: SPAN_DAYS,
    generatedAt: new Date().toISOString(),
    generationSeconds: Math.round((now() - started) / 1000),
  };
  return meta;
}

/** Marks the data set complete (the last step, so an interrupted load is regenerated). */
async function writeMeta(db: RawDb, meta: DatasetMeta): Promise<void> {
  await db.query(`create table if not exists bench_meta (key text primary key, value jsonb not null)`);
  await db.query(
    `insert into bench_meta (key, value) values ('dataset', $1::jsonb)
     on conflict (key) do update set value = excluded.value`,
    [JSON.stringify(meta)],
  );
}

/**
 * Starts the server once on a new data set, so its first-start work (creating the first
 * site manager, which records an event) is done before any measurement compares pages.
 */
async function settle(target: { databaseUrl?: string; dataDir?: string }): Promise<void> {
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  const server = await startBenchServer({ ...target, token });
  try {
    await createVigilClient({ url: server.url, token }).events.list.query({ limit: 1 });
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    await server.stop();
  }
}

/** The signature of audit_events as the current migrations create it (in a scratch database). */
async function postgresSignature(adminUrl: string): Promise<string> {
  const name = `vigil_bench_sig_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
    const handle = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), maxConnections: 1 });
    await handle.close();
    const sql = postgres(withDatabase(adminUrl, name), { max: 1, onnotice: () => {} });
    try {
      return await tableSignature(rawPostgres(sql));
    } finally {
      await sql.end();
    }
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

export interface PostgresDataset {
  url: string;
  meta: DatasetMeta;
  /** True when this run generated it. */
  generated: boolean;
}

/** The database `name` holding `rows` generated events, generating it when needed. */
export async function ensurePostgresDataset(adminUrl: string, name: string, rows: number, fresh: boolean): Promise<PostgresDataset> {
  const url = withDatabase(adminUrl, name);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [found] = await admin`select 1 as one from pg_database where datname = ${name}`;
    if (found && !fresh) {
      const expected = await postgresSignature(adminUrl);
      try {
        // New migrations are applied to the kept data as an upgrade would (an index change
        // is cheaper to apply than a regeneration); one that cannot apply means regenerate.
        await (await openDatabase({ databaseUrl: url, maxConnections: 1 })).close();
      } catch (error) {
        log(`postgres: cannot migrate ${name}: ${(error as Error).message.split('\n')[0]}`);
      }
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const meta = await isComplete(rawPostgres(sql), rows, expected);
        if (meta) {
          log(`postgres: reusing ${name} (${rows.toLocaleString()} events generated ${meta.generatedAt})`);
          return { url, meta, generated: false };
        }
      } finally {
        await sql.end();
      }
      log(`postgres: ${name} is incomplete or of another size; regenerating`);
    }
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  // The table and indexes exactly as the server creates them.
  const handle = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await handle.close();
  log(`postgres: generating ${rows.toLocaleString()} events in ${name} (minutes at 10M)`);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const meta = await load(rawPostgres(sql), rows, `postgres ${name}`, { maintenanceMem: '1GB', parallel: true, chunk: 1_000_000 });
    await settle({ databaseUrl: url });
    await writeMeta(rawPostgres(sql), meta);
    log(`postgres: ${name} ready in ${meta.generationSeconds} s`);
    return { url, meta, generated: true };
  } finally {
    await sql.end();
  }
}

async function pgliteSignature(scratchDir: string): Promise<string> {
  await rm(scratchDir, { recursive: true, force: true });
  const handle = await openDatabase({ dataDir: scratchDir });
  try {
    return await tableSignature(rawPglite(pgliteOf(handle)));
  } finally {
    await handle.close();
    await rm(scratchDir, { recursive: true, force: true });
  }
}

export interface PgliteDataset {
  dataDir: string;
  meta: DatasetMeta;
  generated: boolean;
}

/** A PGlite data directory holding `rows` generated events, generating it when needed. */
export async function ensurePgliteDataset(dataDir: string, rows: number, fresh: boolean): Promise<PgliteDataset> {
  if (existsSync(dataDir) && !fresh) {
    const expected = await pgliteSignature(`${dataDir}-signature`);
    let handle: DatabaseHandle | undefined;
    try {
      // Opening applies new migrations, which may fail on old data (a new NOT NULL column).
      handle = await openDatabase({ dataDir });
      const meta = await isComplete(rawPglite(pgliteOf(handle)), rows, expected);
      if (meta) {
        log(`pglite: reusing ${path.basename(dataDir)} (${rows.toLocaleString()} events generated ${meta.generatedAt})`);
        return { dataDir, meta, generated: false };
      }
    } catch (error) {
      log(`pglite: cannot reuse ${path.basename(dataDir)}: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await handle?.close();
    }
    log(`pglite: ${path.basename(dataDir)} is incomplete, of another size or outdated; regenerating`);
  }
  await rm(dataDir, { recursive: true, force: true });
  let handle = await openDatabase({ dataDir });
  let meta: DatasetMeta;
  try {
    log(`pglite: generating ${rows.toLocaleString()} events in ${dataDir}`);
    meta = await load(rawPglite(pgliteOf(handle)), rows, 'pglite', { maintenanceMem: '256MB', parallel: false, chunk: 250_000 });
  } finally {
    await handle.close();
  }
  await settle({ dataDir });
  handle = await openDatabase({ dataDir });
  try {
    await writeMeta(rawPglite(pgliteOf(handle)), meta);
  } finally {
    await handle.close();
  }
  log(`pglite: ready in ${meta.generationSeconds} s`);
  return { dataDir, meta, generated: true };
}
