// The list benchmark's tables: N generated events in a kept Postgres database (or a kept
// PGlite data directory), regenerated only when missing, of the wrong size or with --fresh.
// The load drops the secondary indexes and the unique id constraint, inserts with
// server-side SQL in chunks, recreates them exactly as the migration defined them
// (captured from the catalog first), then VACUUM ANALYZE.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';
import { generateInsertSql } from './generate.js';
import { log, now } from './util.js';

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

async function isComplete(db: RawDb, rows: number): Promise<DatasetMeta | null> {
  const meta = await readMeta(db);
  if (!meta || meta.version !== GENERATOR_VERSION || meta.rows !== rows) return null;
  const [stats] = await db.query<{ max: string | number | null; indexes: string | number }>(
    `select (select max(seq) from audit_events) as max,
            (select count(*) from pg_indexes where tablename = 'audit_events') as indexes`,
  );
  // max(seq) == rows: nothing was added since (the table is append-only here).
  if (Number(stats?.max) !== rows || Number(stats?.indexes) < 10) return null;
  return meta;
}

/** Loads `rows` events into an empty, migrated audit_events. */
async function load(db: RawDb, rows: number, label: string, opts: { maintenanceMem: string; parallel: boolean; chunk: number }): Promise<DatasetMeta> {
  const started = now();
  const endIso = new Date().toISOString();
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
    await db.query(generateInsertSql({ from, to, total: rows, endIso, spanDays: SPAN_DAYS }));
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
  await db.query(`create table if not exists bench_meta (key text primary key, value jsonb not null)`);
  await db.query(
    `insert into bench_meta (key, value) values ('dataset', $1::jsonb)
     on conflict (key) do update set value = excluded.value`,
    [JSON.stringify(meta)],
  );
  return meta;
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
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const meta = await isComplete(rawPostgres(sql), rows);
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
    log(`postgres: ${name} ready in ${meta.generationSeconds} s`);
    return { url, meta, generated: true };
  } finally {
    await sql.end();
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
    const handle = await openDatabase({ dataDir });
    try {
      const meta = await isComplete(rawPglite(pgliteOf(handle)), rows);
      if (meta) {
        log(`pglite: reusing ${path.basename(dataDir)} (${rows.toLocaleString()} events generated ${meta.generatedAt})`);
        return { dataDir, meta, generated: false };
      }
    } finally {
      await handle.close();
    }
    log(`pglite: ${path.basename(dataDir)} is incomplete or of another size; regenerating`);
  }
  await rm(dataDir, { recursive: true, force: true });
  const handle = await openDatabase({ dataDir });
  try {
    log(`pglite: generating ${rows.toLocaleString()} events in ${dataDir}`);
    const meta = await load(rawPglite(pgliteOf(handle)), rows, 'pglite', { maintenanceMem: '256MB', parallel: false, chunk: 250_000 });
    log(`pglite: ready in ${meta.generationSeconds} s`);
    return { dataDir, meta, generated: true };
  } finally {
    await handle.close();
  }
}
