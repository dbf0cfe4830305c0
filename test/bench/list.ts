// events.list at the first page and deep in the result, for every filter kind, against the
// Coder-style query (OFFSET page + exact count) on the same table.
//
// Phase A, in this process: for each case the exact match count, the cursor of the page at
// the wanted depth (the (time, seq) of the depth-th matching row, computed in SQL and
// encoded with encodeCursor, with the capped count a first page would have put in it),
// the timing of our SQL (the store functions the service calls, as listEvents does: page
// and capped count in parallel for a first page, the page alone after a cursor), the timing of the
// Coder-style SQL, a check that both return the same page, and EXPLAIN ANALYZE of ours.
// Phase B: the same pages through the tRPC HTTP endpoint with the typed client.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { countEventsCapped, selectListedEventsPage, type EventQuery, type Position } from '../../server/db/auditEventsStore.js';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/database.js';
import * as schema from '../../server/db/schema.js';
import { COUNT_CAP, resolveFilter } from '../../server/services/events.js';
import { createVigilClient } from '../../shared/client.js';
import { encodeCursor } from '../../shared/cursor.js';
import { formatQueryError, parseAuditQuery, type FilterField } from '../../shared/query.js';
import { pgliteOf, rawPglite, rawPostgres, type DatasetMeta, type RawDb } from './datasets.js';
import { profileList, type ProfileResult } from './profile.js';
import { log, measure, processCpuMs, startBenchServer, waitForQuiet, type Summary } from './util.js';

export const PAGE = 50;

export interface ListCase {
  kind: string;
  q: string;
}

export interface ListSettings {
  depth: number;
  oursWarmup: number;
  oursRuns: number;
  /** Per measurement of ours; stops early (after `oursMinRuns`) past this. */
  oursBudgetMs: number;
  oursMinRuns: number;
  coderWarmup: number;
  coderRuns: number;
  /** Per Coder-style measurement; stops early (after 2 runs) past this. */
  coderBudgetMs: number;
  /** Before each of our measurements, wait up to this long for an idle machine. */
  quietMaxWaitMs: number;
  /** Calls for a CPU profile of the server answering events.list (0: none). */
  profileCalls?: number;
  workDir?: string;
  /** Also time Coder's original single query with count(*) OVER () (one run, no filter). */
  windowQuery: boolean;
  plansFile: string;
}

export interface PagePoint {
  depth: number;
  cursor: string | undefined;
  firstId: string | undefined;
  oursSql: Summary;
  /** The page query alone (selectListedEventsPage), without the count. */
  pageOnly?: Summary;
  oursTrpc?: Summary;
  coder: Summary;
  /** Ours and the Coder-style query returned the same page. */
  samePage: boolean;
  /** The page through tRPC started where the SQL one did. */
  trpcSamePage?: boolean;
  /**
   * Server-side means over the tRPC runs, from the server's own /metrics: time in the
   * events.list procedure, and in the whole HTTP request (middleware, tRPC, procedure).
   */
  serverProcedureMs?: number;
  serverHttpMs?: number;
  /** CPU per tRPC call: this benchmark's client, the server process, Postgres' backends (Postgres only). */
  cpuClientMs?: number;
  cpuServerMs?: number;
  cpuPostgresMs?: number;
  /** CPU idle fraction (whole machine) just before our SQL and tRPC measurements. */
  idleSql?: number;
  idleTrpc?: number;
  plan: string;
}

export interface ListCaseResult {
  kind: string;
  q: string;
  matches: number;
  /** countEventsCapped alone, at the service's cap (10,001) and at Coder's (2,001). */
  count?: Summary;
  count2k?: Summary;
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
  /** Set for an experiment on something else than the code as it is (none at present). */
  variant?: string;
  /** When this result was measured. */
  measuredAt?: string;
  rows: number;
  cases: ListCaseResult[];
  window: WindowPoint[];
  /** Where the server's CPU goes answering events.list (--cpu-prof). */
  profile?: ProfileResult;
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

/** The filter the server would run for `q` (relative times resolved now). */
function resolve(q: string): EventQuery {
  const parsed = parseAuditQuery(q, { me: 'admin' });
  if (!parsed.ok) throw new Error(`bench query ${JSON.stringify(q)}: ${formatQueryError(parsed.error)}`);
  return resolveFilter(parsed.filter, new Date());
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

/**
 * What listEvents runs: the page and, for a first page, the capped count in parallel. A
 * deeper page's cursor carries the count the first page found, so it only walks the page.
 */
async function oursOnce(engine: Engine, q: string, after: Position | undefined) {
  const query = resolve(q);
  const [rows] = await Promise.all([
    selectListedEventsPage(engine.db, query, after, PAGE + 1),
    after ? null : countEventsCapped(engine.db, query, COUNT_CAP + 1),
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

function oursOptions(s: ListSettings) {
  return { warmup: s.oursWarmup, runs: s.oursRuns, budgetMs: s.oursBudgetMs, minRuns: s.oursMinRuns };
}

/** For the parts of our query timed alone (a breakdown, so fewer runs). */
function partOptions(s: ListSettings) {
  return { warmup: Math.min(5, s.oursWarmup), runs: s.oursRuns, budgetMs: s.oursBudgetMs / 3, minRuns: Math.min(20, s.oursMinRuns) };
}

async function pagePoint(
  engine: Engine,
  c: ListCase,
  where: { text: string; params: unknown[] },
  matches: number,
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
    // As a client paging there would hold it: with the count the first page found.
    cursor = encodeCursor({ time, seq: Number(row.seq), count: { value: Math.min(matches, COUNT_CAP), capped: matches > COUNT_CAP } });
    after = { time: new Date(time), seq: Number(row.seq) };
  }
  const coderPage = `select * from audit_events ${where.text} order by time desc, seq desc limit ${PAGE} offset ${depth}`;
  const coderCount = `select count(*) as n from audit_events ${where.text}`;

  const ours = await oursOnce(engine, c.q, after);
  const theirs = await engine.raw.query<{ id: string }>(coderPage, where.params);
  const samePage = theirs.length === Math.min(PAGE, ours.length) && theirs.every((row, i) => row.id === ours[i]?.id);

  const idleSql = (await waitForQuiet(settings.quietMaxWaitMs)).idle;
  const oursSql = await measure(() => oursOnce(engine, c.q, after), oursOptions(settings));
  const pageOnly = await measure(() => selectListedEventsPage(engine.db, resolve(c.q), after, PAGE + 1), partOptions(settings));
  const coder = await measure(
    () => Promise.all([engine.raw.query(coderPage, where.params), engine.raw.query(coderCount, where.params)]),
    { warmup: settings.coderWarmup, runs: settings.coderRuns, budgetMs: settings.coderBudgetMs, minRuns: 2 },
  );
  const plan = await explainOurs(engine, c.q, after);
  return { depth, cursor, firstId: ours[0]?.id, oursSql, pageOnly, coder, samePage, plan, idleSql };
}

export interface ListTarget {
  backend: 'postgres' | 'pglite';
  /** postgres: the database URL; pglite: the data directory. */
  location: string;
  meta: DatasetMeta;
}

export async function runListBench(target: ListTarget, settings: ListSettings): Promise<ListResult> {
  const engine = target.backend === 'postgres' ? await postgresEngine(target.location) : await pgliteEngine(target.location);
  const measuredAt = new Date().toISOString();
  let closed = false;
  try {
    const { cases, window } = await phaseSql(engine, target, settings);
    if (target.backend === 'pglite') {
      // One process per PGlite data directory: the server opens it next.
      closed = true;
      await engine.close();
    }
    await phaseTrpc(target, cases, settings);
    const location = target.backend === 'postgres' ? { databaseUrl: target.location } : { dataDir: target.location };
    const profile = settings.profileCalls && settings.workDir ? await profileList(location, settings.workDir, settings.profileCalls) : undefined;
    const planText = cases
      .flatMap((r) =>
        [r.first, r.deep]
          .filter((p): p is PagePoint => !!p)
          .map((p) => `### ${r.kind} (q=${JSON.stringify(r.q)}) depth ${p.depth}\n${p.plan}\n`),
      )
      .join('\n');
    await writeFile(settings.plansFile, planText);
    return {
      backend: target.backend,
      measuredAt,
      rows: target.meta.rows,
      cases,
      window,
      ...(profile ? { profile } : {}),
    };
  } finally {
    if (!closed) await engine.close();
  }
}

/** Phase A: counts, cursors, our SQL, the Coder-style SQL and plans, in this process. */
async function phaseSql(engine: Engine, target: ListTarget, settings: ListSettings) {
  const cases: ListCaseResult[] = [];
  const window: WindowPoint[] = [];
  const all = await listCases(engine.raw, target.meta);
  for (const c of all) {
    const where = whereOf(resolve(c.q));
    const [counted] = await engine.raw.query<{ n: string | number }>(`select count(*) as n from audit_events ${where.text}`, where.params);
    const matches = Number(counted?.n ?? 0);
    const first = await pagePoint(engine, c, where, matches, 0, settings);
    const count = await measure(() => countEventsCapped(engine.db, resolve(c.q), COUNT_CAP + 1), partOptions(settings));
    const count2k = await measure(() => countEventsCapped(engine.db, resolve(c.q), 2_001), partOptions(settings));
    const result: ListCaseResult = { kind: c.kind, q: c.q, matches, count, count2k, first };
    // Not quite the last page: a since: window loses its oldest events as the clock moves
    // between the phases, and the deep page must still exist when tRPC asks for it.
    const depth = Math.min(settings.depth, matches - (matches > 20 * PAGE ? 10 * PAGE : PAGE));
    if (depth >= PAGE) result.deep = await pagePoint(engine, c, where, matches, depth, settings);
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
      await engine.raw.query(`select *, count(*) over () as count from audit_events order by time desc, seq desc limit ${PAGE} offset ${depth}`);
      window.push({ depth, ms: performance.now() - t0 });
      log(`${target.backend} Coder count(*) OVER () at depth ${depth}: ${(performance.now() - t0).toFixed(0)} ms`);
    }
  }
  return { cases, window };
}

/** Sums and counts of the server's latency histograms for events.list (null if unavailable). */
async function serverMetrics(url: string): Promise<{ procSum: number; procCount: number; httpSum: number; httpCount: number } | null> {
  try {
    const response = await fetch(`${url}/metrics`);
    if (!response.ok) return null;
    const lines = (await response.text()).split('\n');
    const total = (prefix: string, label: string) =>
      lines
        .filter((l) => l.startsWith(prefix) && l.includes(label))
        .map((l) => Number(l.split(' ').at(-1)))
        .reduce((a, b) => a + b, 0);
    return {
      procSum: total('vigil_trpc_procedure_duration_seconds_sum', 'procedure="events.list"'),
      procCount: total('vigil_trpc_procedure_duration_seconds_count', 'procedure="events.list"'),
      httpSum: total('vigil_http_request_duration_seconds_sum', 'route="/trpc'),
      httpCount: total('vigil_http_request_duration_seconds_count', 'route="/trpc'),
    };
  } catch {
    return null;
  }
}

/**
 * Phase B: the same pages through HTTP + tRPC with the typed client, the server in a
 * child process on the same data. (For PGlite the engine of phase A must be closed
 * first: one process per data directory.)
 */
async function phaseTrpc(target: ListTarget, cases: ListCaseResult[], settings: ListSettings): Promise<void> {
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  const server = await startBenchServer(
    target.backend === 'postgres' ? { databaseUrl: target.location, token } : { dataDir: target.location, token },
  );
  // Postgres: the backends serving the server, to add up their CPU (PGlite runs inside the server).
  const pg = target.backend === 'postgres' ? postgres(target.location, { max: 1, onnotice: () => {} }) : undefined;
  try {
    // Without request batching: one caller at a time gains nothing from it, and tRPC's
    // batch link holds every call for a timer tick (at least 1 ms in Node) to gather others.
    const client = createVigilClient({ url: server.url, token, batch: false });
    for (const result of cases) {
      for (const point of [result.first, result.deep]) {
        if (!point) continue;
        const input = { ...(result.q ? { q: result.q } : {}), limit: PAGE, ...(point.cursor ? { cursor: point.cursor } : {}) };
        const page = await client.events.list.query(input);
        point.trpcSamePage = page.items[0]?.id === point.firstId;
        if (!point.trpcSamePage) {
          log(`warning: ${result.kind} at depth ${point.depth}: the tRPC page starts at ${page.items[0]?.id}, the SQL one at ${point.firstId}`);
        }
        const options = oursOptions(settings);
        for (let i = 0; i < options.warmup; i++) await client.events.list.query(input);
        point.idleTrpc = (await waitForQuiet(settings.quietMaxWaitMs)).idle;
        const before = await serverMetrics(server.url);
        const backends = pg ? await backendPids(pg) : [];
        const cpu0 = { client: process.cpuUsage(), server: processCpuMs(server.child.pid!), db: sumCpu(backends) };
        point.oursTrpc = await measure(() => client.events.list.query(input), { ...options, warmup: 0 });
        const clientCpu = process.cpuUsage(cpu0.client);
        const calls = point.oursTrpc.n;
        point.cpuClientMs = (clientCpu.user + clientCpu.system) / 1000 / calls;
        point.cpuServerMs = (processCpuMs(server.child.pid!) - cpu0.server) / calls;
        if (pg) point.cpuPostgresMs = (sumCpu(backends) - cpu0.db) / calls;
        const after = await serverMetrics(server.url);
        if (before && after && after.procCount > before.procCount && after.httpCount > before.httpCount) {
          point.serverProcedureMs = ((after.procSum - before.procSum) / (after.procCount - before.procCount)) * 1000;
          point.serverHttpMs = ((after.httpSum - before.httpSum) / (after.httpCount - before.httpCount)) * 1000;
        }
      }
      log(
        `${target.backend} list ${result.kind} via tRPC: p50/p95 ${result.first.oursTrpc!.p50.toFixed(2)}/${result.first.oursTrpc!.p95.toFixed(2)} ms` +
          (result.deep ? `, deep ${result.deep.oursTrpc!.p50.toFixed(2)}/${result.deep.oursTrpc!.p95.toFixed(2)} ms` : ''),
      );
    }
  } finally {
    await server.stop();
    await pg?.end();
  }
}

/** Postgres backends of the benchmark database other than this connection. */
async function backendPids(pg: postgres.Sql): Promise<number[]> {
  const rows = await pg`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return rows.map((r) => Number(r.pid));
}

function sumCpu(pids: number[]): number {
  return pids.reduce((total, pid) => total + (processCpuMs(pid) || 0), 0);
}
