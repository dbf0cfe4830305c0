// events.list at the first page and deep in the result, for every filter kind, against the
// Coder-style query (OFFSET page + exact count) on the same table.
//
// Phase A, in this process: for each case the exact match count, the cursor of the page at
// the wanted depth (the (time, seq) of the depth-th matching row, computed in SQL and
// encoded with encodeCursor), the timing of our SQL (the store functions the service
// calls, page and capped count in parallel as listEvents does), the timing of the
// Coder-style SQL, a check that both return the same page, and EXPLAIN ANALYZE of ours.
// Phase B: the same pages through the tRPC HTTP endpoint with the typed client.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { countEventsCapped, selectEventsPage, type EventQuery, type Position } from '../../server/db/auditEventsStore.js';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/database.js';
import * as schema from '../../server/db/schema.js';
import { COUNT_CAP, parseQueryFor, resolveFilter, type Caller } from '../../server/services/events.js';
import { createVigilClient } from '../../shared/client.js';
import { encodeCursor } from '../../shared/cursor.js';
import type { FilterField } from '../../shared/query.js';
import { pgliteOf, rawPglite, rawPostgres, type DatasetMeta, type RawDb } from './datasets.js';
import { log, measure, startBenchServer, type Summary } from './util.js';

export const PAGE = 50;
const CALLER: Caller = { username: 'admin' };

export interface ListCase {
  kind: string;
  q: string;
}

export interface ListSettings {
  depth: number;
  oursWarmup: number;
  oursRuns: number;
  coderWarmup: number;
  coderRuns: number;
  /** Per Coder-style measurement; stops early (after 2 runs) past this. */
  coderBudgetMs: number;
  /** Also time Coder's original single query with count(*) OVER () (one run, no filter). */
  windowQuery: boolean;
  plansFile: string;
}

export interface PagePoint {
  depth: number;
  cursor: string | undefined;
  firstId: string | undefined;
  oursSql: Summary;
  oursTrpc?: Summary;
  coder: Summary;
  samePage: boolean;
  plan: string;
}

export interface ListCaseResult {
  kind: string;
  q: string;
  matches: number;
  first: PagePoint;
  /** Absent when the filter matches no more than one page. */
  deep?: PagePoint;
}

export interface WindowPoint {
  depth: number;
  ms: number;
}

export interface ListResult {
  backend: 'postgres' | 'pglite';
  rows: number;
  cases: ListCaseResult[];
  window: WindowPoint[];
}

/** The cases: every filter kind of the query language, values chosen from the data. */
export async function listCases(raw: RawDb, meta: DatasetMeta): Promise<ListCase[]> {
  const end = Date.parse(meta.endIso);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  let requestId: string | undefined;
  for (let seq = Math.floor(meta.rows / 2); !requestId; seq++) {
    const [row] = await raw.query<{ request_id: string | null }>(`select request_id from audit_events where seq = $1`, [seq]);
    requestId = row?.request_id ?? undefined;
  }
  const [rid] = await raw.query<{ id: string }>(`select md5('workspace:ci-bot/ws-0')::uuid::text as id`);
  // The last 90 days of the data, however long ago it was generated.
  const sinceDays = Math.min(3650, Math.ceil((Date.now() - end) / 86_400_000) + 90);
  return [
    { kind: 'no filter', q: '' },
    { kind: 'action', q: 'action:login' },
    { kind: 'action, rare value', q: 'action:cordon' },
    { kind: 'multi-value action', q: 'action:connect,ssh' },
    { kind: 'multi-value action, rare values', q: 'action:cordon,delete' },
    { kind: 'negation', q: '-action:login' },
    { kind: 'resource_type', q: 'resource_type:workspace' },
    { kind: 'resource_target', q: 'resource_target:ci-bot/ws-0' },
    { kind: 'username', q: 'username:ci-bot' },
    { kind: 'email', q: 'email:ci-bot@example.com' },
    { kind: 'request_id', q: `request_id:${requestId}` },
    { kind: 'resource_id', q: `resource_id:${rid!.id}` },
    { kind: 'date range', q: `date_from:${day(end - 120 * 86_400_000)} date_to:${day(end - 31 * 86_400_000)}` },
    { kind: 'since', q: `since:${sinceDays}d` },
    { kind: 'combined (username + action)', q: 'username:ci-bot action:login' },
  ];
}

// --- The Coder-style query, and the SQL used to place cursors, from the same filter ---

const COLUMN: Record<FilterField, { column: string; lower: boolean }> = {
  action: { column: 'action', lower: false },
  resource_type: { column: 'resource_type', lower: false },
  resource_id: { column: 'resource_id', lower: true },
  resource_target: { column: 'resource_target', lower: true },
  username: { column: 'actor_username', lower: true },
  email: { column: 'actor_email', lower: true },
  request_id: { column: 'request_id', lower: true },
};

/** The WHERE clause of a filter, with the same semantics (and indexes) as the store's. */
export function whereOf(query: EventQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const parts: string[] = [];
  for (const [field, filter] of Object.entries(query.fields) as [FilterField, { include?: string[]; exclude?: string[] }][]) {
    const { column, lower } = COLUMN[field];
    const target = lower ? `lower(${column})` : column;
    if (filter.include?.length) parts.push(`${target} in (${filter.include.map(p).join(', ')})`);
    if (filter.exclude?.length) parts.push(`(${column} is null or ${target} not in (${filter.exclude.map(p).join(', ')}))`);
  }
  if (query.from) parts.push(`time >= ${p(query.from.toISOString())}::timestamptz`);
  if (query.to) parts.push(`time <= ${p(query.to.toISOString())}::timestamptz`);
  return { text: parts.length ? `where ${parts.join(' and ')}` : '', params };
}

function resolve(q: string): EventQuery {
  return resolveFilter(parseQueryFor(q, CALLER), new Date());
}

// --- Engines: a Drizzle handle (with a query logger, to EXPLAIN what the store ran) and raw SQL ---

interface Engine {
  backend: 'postgres' | 'pglite';
  db: Database;
  raw: RawDb;
  captured: { sql: string; params: unknown[] }[];
  capture: boolean;
  close(): Promise<void>;
}

function captureLogger(engine: Pick<Engine, 'captured' | 'capture'>): Logger {
  return {
    logQuery(query, params) {
      if (engine.capture) engine.captured.push({ sql: query, params });
    },
  };
}

async function postgresEngine(url: string): Promise<Engine> {
  // Same driver options as the server's pool (server/db/database.ts).
  const client = postgres(url, { max: 10, onnotice: () => {} });
  const engine = { backend: 'postgres', captured: [], capture: false } as unknown as Engine;
  engine.db = drizzlePostgres({ client, schema, logger: captureLogger(engine) }) as unknown as Database;
  engine.raw = rawPostgres(client);
  engine.close = () => client.end({ timeout: 5 });
  return engine;
}

async function pgliteEngine(dataDir: string): Promise<Engine> {
  const handle = await openDatabase({ dataDir });
  const pg: PGlite = pgliteOf(handle);
  const engine = { backend: 'pglite', captured: [], capture: false } as unknown as Engine;
  engine.db = drizzlePglite({ client: pg, schema, logger: captureLogger(engine) }) as unknown as Database;
  engine.raw = rawPglite(pg);
  engine.close = () => handle.close();
  return engine;
}

async function oursOnce(engine: Engine, q: string, after: Position | undefined) {
  const query = resolve(q);
  const [rows] = await Promise.all([
    selectEventsPage(engine.db, query, after, PAGE + 1),
    countEventsCapped(engine.db, query, COUNT_CAP + 1),
  ]);
  return rows;
}

async function explainOurs(engine: Engine, q: string, after: Position | undefined): Promise<string> {
  engine.captured = [];
  engine.capture = true;
  try {
    await oursOnce(engine, q, after);
  } finally {
    engine.capture = false;
  }
  const plans: string[] = [];
  for (const { sql, params } of engine.captured) {
    const options = engine.backend === 'postgres' ? '(analyze, buffers)' : '(analyze)';
    const rows = await engine.raw.query<Record<string, string>>(`explain ${options} ${sql}`, params);
    plans.push(`${sql}\n  -- params: ${JSON.stringify(params)}\n${rows.map((r) => Object.values(r)[0]).join('\n')}`);
  }
  return plans.join('\n\n');
}

async function pagePoint(
  engine: Engine,
  c: ListCase,
  where: { text: string; params: unknown[] },
  depth: number,
  settings: ListSettings,
): Promise<PagePoint> {
  let cursor: string | undefined;
  let after: Position | undefined;
  if (depth > 0) {
    const [row] = await engine.raw.query<{ time: Date | string; seq: string | number }>(
      `select time, seq from audit_events ${where.text} order by time desc, seq desc offset ${depth - 1} limit 1`,
      where.params,
    );
    if (!row) throw new Error(`${c.kind}: no row at depth ${depth}`);
    const time = new Date(row.time).toISOString();
    cursor = encodeCursor({ time, seq: Number(row.seq) });
    after = { time: new Date(time), seq: Number(row.seq) };
  }
  const coderPage = `select * from audit_events ${where.text} order by time desc, seq desc limit ${PAGE} offset ${depth}`;
  const coderCount = `select count(*) as n from audit_events ${where.text}`;

  const ours = await oursOnce(engine, c.q, after);
  const theirs = await engine.raw.query<{ id: string }>(coderPage, where.params);
  const samePage = theirs.length === Math.min(PAGE, ours.length) && theirs.every((row, i) => row.id === ours[i]?.id);

  const oursSql = await measure(() => oursOnce(engine, c.q, after), { warmup: settings.oursWarmup, runs: settings.oursRuns });
  const coder = await measure(
    () => Promise.all([engine.raw.query(coderPage, where.params), engine.raw.query(coderCount, where.params)]),
    { warmup: settings.coderWarmup, runs: settings.coderRuns, budgetMs: settings.coderBudgetMs, minRuns: 2 },
  );
  const plan = await explainOurs(engine, c.q, after);
  return { depth, cursor, firstId: ours[0]?.id, oursSql, coder, samePage, plan };
}

export interface ListTarget {
  backend: 'postgres' | 'pglite';
  /** postgres: the database URL; pglite: the data directory. */
  location: string;
  meta: DatasetMeta;
}

export async function runListBench(target: ListTarget, settings: ListSettings): Promise<ListResult> {
  const engine = target.backend === 'postgres' ? await postgresEngine(target.location) : await pgliteEngine(target.location);
  const cases: ListCaseResult[] = [];
  const window: WindowPoint[] = [];
  try {
    const all = await listCases(engine.raw, target.meta);
    for (const c of all) {
      const where = whereOf(resolve(c.q));
      const [counted] = await engine.raw.query<{ n: string | number }>(`select count(*) as n from audit_events ${where.text}`, where.params);
      const matches = Number(counted?.n ?? 0);
      const first = await pagePoint(engine, c, where, 0, settings);
      const result: ListCaseResult = { kind: c.kind, q: c.q, matches, first };
      const depth = Math.min(settings.depth, matches - PAGE);
      if (depth >= PAGE) result.deep = await pagePoint(engine, c, where, depth, settings);
      cases.push(result);
      log(
        `${target.backend} list ${c.kind}: ${matches.toLocaleString()} matches; ours SQL p95 ${first.oursSql.p95.toFixed(2)} / ` +
          `${result.deep ? result.deep.oursSql.p95.toFixed(2) : '-'} ms; Coder-style p50 ${first.coder.p50.toFixed(1)} / ` +
          `${result.deep ? result.deep.coder.p50.toFixed(1) : '-'} ms`,
      );
    }
    if (settings.windowQuery) {
      // Coder before #23835: the page and count(*) OVER () in one query (issue #17689).
      for (const depth of [0, Math.min(settings.depth, target.meta.rows - PAGE)]) {
        const t0 = performance.now();
        await engine.raw.query(
          `select *, count(*) over () as count from audit_events order by time desc, seq desc limit ${PAGE} offset ${depth}`,
        );
        window.push({ depth, ms: performance.now() - t0 });
        log(`${target.backend} Coder count(*) OVER () at depth ${depth}: ${(performance.now() - t0).toFixed(0)} ms`);
      }
    }
  } finally {
    await engine.close();
  }

  // Phase B: through HTTP + tRPC, the server in a child process on the same data.
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  const server = await startBenchServer(
    target.backend === 'postgres' ? { databaseUrl: target.location, token } : { dataDir: target.location, token },
  );
  try {
    const client = createVigilClient({ url: server.url, token });
    for (const result of cases) {
      for (const point of [result.first, result.deep]) {
        if (!point) continue;
        const input = { ...(result.q ? { q: result.q } : {}), limit: PAGE, ...(point.cursor ? { cursor: point.cursor } : {}) };
        const page = await client.events.list.query(input);
        if (page.items[0]?.id !== point.firstId) {
          throw new Error(`${result.kind} at depth ${point.depth}: tRPC page starts at ${page.items[0]?.id}, SQL at ${point.firstId}`);
        }
        point.oursTrpc = await measure(() => client.events.list.query(input), { warmup: settings.oursWarmup, runs: settings.oursRuns });
      }
      log(
        `${target.backend} list ${result.kind} via tRPC: p50/p95 ${result.first.oursTrpc!.p50.toFixed(2)}/${result.first.oursTrpc!.p95.toFixed(2)} ms` +
          (result.deep ? `, deep ${result.deep.oursTrpc!.p50.toFixed(2)}/${result.deep.oursTrpc!.p95.toFixed(2)} ms` : ''),
      );
    }
  } finally {
    await server.stop();
  }

  const planText = cases
    .flatMap((r) => [r.first, r.deep].filter((p): p is PagePoint => !!p).map((p) => `### ${r.kind} (q=${JSON.stringify(r.q)}) depth ${p.depth}\n${p.plan}\n`))
    .join('\n');
  await writeFile(settings.plansFile, planText);
  return { backend: target.backend, rows: target.meta.rows, cases, window };
}
