// Ingest: the same rows through HTTP + tRPC + validation (events.recordBatch, batches of
// 1000, several clients at once) against raw COPY FROM STDIN into a table of the same
// definition and indexes (and, for reference, into an index-less one), in the same run.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { openDatabase } from '../../server/db/database.js';
import { prng } from '../../server/tools/simulator.js';
import { createVigilClient } from '../../shared/client.js';
import type { EventInput } from '../../shared/event.js';
import { listedValueOf, WRITTEN_FIELDS } from '../../shared/eventFields.js';
import type { AuditAction, ResourceType } from '../../shared/vocabulary.js';
import { auditColumns, pgliteOf, rawPglite, rawPostgres } from './datasets.js';
import { ACTION_WEIGHTS, USER_COUNT, usernameOf } from './generate.js';
import { profileIngest, type ProfileResult } from './profile.js';
import { freshDatabase, log, now, processCpuMs, startBenchServer, summarize, waitForQuiet, type BenchServer, type Summary } from './util.js';

export const BATCH = 1000;

// --- The rows: realistic events as an internal app sends them (same mix as the generator) ---


const ACTIONS = Object.entries(ACTION_WEIGHTS) as [AuditAction, number][];
const TYPE_OF: Partial<Record<AuditAction, ResourceType>> = {
  login: 'user',
  connect: 'workspace',
  open: 'workspace',
  ssh: 'workspace',
  stop: 'workspace',
  auto_off: 'workspace',
  auto_start: 'workspace',
  cordon: 'workspace_provider',
  uncordon: 'workspace_provider',
  enqueue: 'job',
  view: 'secret',
  read: 'audit_log',
};
const CHANGE_TYPES: ResourceType[] = ['workspace', 'workspace', 'image', 'template', 'user', 'dev_url', 'resource_pool', 'settings', 'token'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0', 'coder-cli/2.14.1 (linux/amd64)', 'vscode-coder/1.3.2'];

export function makeEvents(count: number, seed: number): EventInput[] {
  const rand = prng(seed);
  const start = Date.now() - 86_400_000;
  const events: EventInput[] = [];
  for (let i = 0; i < count; i++) {
    let r = rand() * 1000;
    let action: AuditAction = 'login';
    for (const [a, w] of ACTIONS) {
      if (r < w) {
        action = a;
        break;
      }
      r -= w;
    }
    const u = Math.floor(USER_COUNT * rand() ** 3);
    const username = usernameOf(u);
    const system = action === 'auto_off' || action === 'auto_start';
    const resourceType = TYPE_OF[action] ?? CHANGE_TYPES[Math.floor(rand() * CHANGE_TYPES.length)]!;
    const resourceTarget =
      resourceType === 'user' ? username : resourceType === 'workspace' ? `${username}/ws-${Math.floor(rand() * 5)}` : `${resourceType}-${Math.floor(rand() * 50)}`;
    const event: EventInput = {
      id: randomUUID(),
      time: new Date(start + (i * 86_400_000) / count).toISOString(),
      action,
      resourceType,
      resourceId: `${resourceType}:${resourceTarget}`,
      resourceTarget,
      statusCode: action === 'login' && rand() < 0.04 ? 401 : 200,
    };
    if (!system) {
      event.actor = { id: `u-${u}`, username, email: `${username}@example.com` };
      event.ip = `10.${u >> 8}.${u & 255}.${1 + Math.floor(rand() * 250)}`;
      event.userAgent = AGENTS[u % AGENTS.length]!;
      event.requestId = randomUUID();
    }
    if (action === 'write') event.diff = { name: { old: `v${Math.floor(rand() * 10)}`, new: `v${Math.floor(rand() * 10)}` } };
    if (action === 'connect' || action === 'ssh') event.metadata = { client: rand() < 0.6 ? 'vscode' : 'ssh' };
    events.push(event);
  }
  return events;
}

/** The columns an event fills (shared/eventFields.ts), without the hash. */
const CONTENT_FIELDS = WRITTEN_FIELDS.filter((f) => f.key !== 'hash');
const BASE_COLUMNS = CONTENT_FIELDS.map((f) => f.column).join(', ');
const copyColumns = (hash: boolean) => (hash ? `${BASE_COLUMNS}, hash` : BASE_COLUMNS);

function esc(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/**
 * COPY text-format lines of the events, BATCH rows per chunk (what the server would
 * store). With `hash`, each row carries a SHA-256 hex digest as the chain column (the
 * right size; computed here, before the clock starts).
 */
export function copyChunks(events: EventInput[], recordedAt: string, hash: boolean): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < events.length; i += BATCH) {
    let text = '';
    for (const e of events.slice(i, i + BATCH)) {
      text +=
        [
          ...CONTENT_FIELDS.map((f) => {
            if (f.key === 'recordedAt') return recordedAt;
            const value = listedValueOf(f, e);
            return f.sqlType === 'jsonb' ? JSON.stringify(value ?? {}) : (value as string | number | null);
          }),
          ...(hash ? [createHash('sha256').update(e.id!).digest('hex')] : []),
        ]
          .map(esc)
          .join('\t') + '\n';
    }
    chunks.push(text);
  }
  return chunks;
}

export function batchesOf(events: EventInput[]): EventInput[][] {
  const batches: EventInput[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  return batches;
}

export interface HttpRun {
  rowsPerSec: number;
  seconds: number;
  batch: Summary;
  /** CPU per 1000 rows (ms): this benchmark's clients, the server process(es), Postgres' backends. */
  cpu?: { client: number; server: number; postgres: number };
}

/**
 * Sends the batches with `concurrency` clients at once; each client takes the next batch.
 * With several server URLs (replicas on one database), client k talks to url k mod n.
 */
export async function sendBatches(urls: string | string[], token: string, batches: EventInput[][], concurrency: number): Promise<HttpRun> {
  // One client per sender, as each internal app has its own: a shared client's batch link
  // would merge the senders' concurrent calls into one HTTP request (one answer for all).
  const targets = Array.isArray(urls) ? urls : [urls];
  const clients = Array.from({ length: concurrency }, (_, k) => createVigilClient({ url: targets[k % targets.length]!, token }));
  let next = 0;
  const latencies: number[] = [];
  const t0 = now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      const client = clients[k]!;
      for (let i = next++; i < batches.length; i = next++) {
        const s = now();
        const result = await client.events.recordBatch.mutate({ events: batches[i]! });
        latencies.push(now() - s);
        if (result.events.length !== batches[i]!.length) throw new Error('recordBatch stored a different number of events');
      }
    }),
  );
  const seconds = (now() - t0) / 1000;
  const rows = batches.reduce((n, b) => n + b.length, 0);
  return { rowsPerSec: rows / seconds, seconds, batch: summarize(latencies) };
}

export interface IngestRound {
  http: HttpRun;
  copy: number;
  /** Postgres CPU per 1000 rows of the COPY into the indexed table (ms). */
  copyCpu?: number;
  copyNoIndex: number;
  /** The lowest CPU idle fraction seen just before the round's measurements. */
  idle?: number;
}

export interface IngestResult {
  backend: 'postgres' | 'pglite';
  variant?: string;
  measuredAt: string;
  rows: number;
  concurrency: number;
  rounds: IngestRound[];
  /** Other configurations, one run each. */
  variants: { variant: IngestVariant; run: HttpRun }[];
  /** Where the server's CPU goes during ingest (--cpu-prof). */
  profile?: ProfileResult;
}

export interface IngestVariant {
  label: string;
  concurrency: number;
  /** Server processes on the same database (replicas); 1 by default. */
  servers?: number;
  /** LOG_LEVEL of the server(s); the server's default (info) when absent. */
  logLevel?: string;
}

export interface IngestSettings {
  /** Batches for a CPU profile of the server (0: none). */
  profileBatches?: number;
  workDir?: string;
  /** Before each measurement, wait up to this long for an idle machine. */
  quietMaxWaitMs: number;
  rows: number;
  rounds: number;
  concurrency: number;
  variants: IngestVariant[];
}

/** Median of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// --- Postgres ---

export async function runPostgresIngest(adminUrl: string, settings: IngestSettings): Promise<IngestResult> {
  const measuredAt = new Date().toISOString();
  const scratch = await freshDatabase(adminUrl, 'vigil_bench_ingest');
  const url = scratch.url;
  const handle = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await handle.close();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  const server = await startBenchServer({ databaseUrl: url, token });
  try {
    // COPY targets: the same definition and indexes (LIKE ... INCLUDING ALL), and no index at all.
    await sql`create table audit_events_copy (like audit_events including all)`;
    await sql`create table audit_events_copy_noidx (like audit_events including defaults including identity)`;
    const [indexes] = await sql`select
      (select count(*) from pg_indexes where tablename = 'audit_events')::int as a,
      (select count(*) from pg_indexes where tablename = 'audit_events_copy')::int as b`;
    if (indexes!.a !== indexes!.b) throw new Error(`COPY table has ${indexes!.b} indexes, audit_events ${indexes!.a}`);

    const { hash } = await auditColumns(rawPostgres(sql));
    // audit_events refuses TRUNCATE (append-only trigger); this scratch session skips triggers.
    await sql`set session_replication_role = replica`;
    const reset = async () => {
      await sql`truncate audit_events, audit_events_copy, audit_events_copy_noidx restart identity`;
      await sql`checkpoint`;
    };
    let idle = 1;
    const quiet = async () => {
      idle = Math.min(idle, (await waitForQuiet(settings.quietMaxWaitMs)).idle);
    };
    const [me] = await sql`select pg_backend_pid() as pid`;
    const myPid = Number(me!.pid);
    let lastCopyCpu = NaN;
    const copyInto = async (table: string, chunks: string[]) => {
      await sql`checkpoint`;
      await quiet();
      const cpu0 = processCpuMs(myPid);
      const t0 = now();
      const stream = await sql.unsafe(`copy ${table} (${copyColumns(hash)}) from stdin`).writable();
      await pipeline(Readable.from(chunks), stream);
      const seconds = (now() - t0) / 1000;
      lastCopyCpu = ((processCpuMs(myPid) - cpu0) / settings.rows) * 1000;
      const [c] = await sql.unsafe(`select count(*)::int as n from ${table}`);
      if (c!.n !== settings.rows) throw new Error(`COPY into ${table} stored ${c!.n} rows`);
      return settings.rows / seconds;
    };
    const viaHttp = async (batches: EventInput[][], concurrency: number, urls = [server.url], servers = [server]) => {
      await sql`checkpoint`;
      await quiet();
      const backends = (await sql`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`).map(
        (r) => Number(r.pid),
      );
      const dbCpu = () => backends.reduce((t, pid) => t + (processCpuMs(pid) || 0), 0);
      const serverCpu = () => servers.reduce((t, s) => t + processCpuMs(s.child.pid!), 0);
      const cpu0 = { client: process.cpuUsage(), server: serverCpu(), db: dbCpu() };
      const run = await sendBatches(urls, token, batches, concurrency);
      const sent = batches.reduce((n, b) => n + b.length, 0);
      const clientCpu = process.cpuUsage(cpu0.client);
      run.cpu = {
        client: ((clientCpu.user + clientCpu.system) / 1000 / sent) * 1000,
        server: ((serverCpu() - cpu0.server) / sent) * 1000,
        postgres: ((dbCpu() - cpu0.db) / sent) * 1000,
      };
      const [c] = await sql`select count(*)::int as n from audit_events`;
      // (+2: the server's own first-start event may land after the reset.)
      if (c!.n < sent || c!.n > sent + 2) throw new Error(`HTTP ingest stored ${c!.n} rows of ${sent}`);
      return run;
    };

    // Warm the server (module JIT, connection pool) outside the measurement.
    await sendBatches(server.url, token, batchesOf(makeEvents(5 * BATCH, 999)), settings.concurrency);

    const rounds: IngestRound[] = [];
    for (let r = 0; r < settings.rounds; r++) {
      const events = makeEvents(settings.rows, r + 1);
      const chunks = copyChunks(events, new Date().toISOString(), hash);
      const batches = batchesOf(events);
      await reset();
      idle = 1;
      // Alternate which side goes first, so neither always meets a freshly checkpointed disk.
      let http: HttpRun;
      let copy: number;
      let copyCpu: number;
      if (r % 2 === 0) {
        copy = await copyInto('audit_events_copy', chunks);
        copyCpu = lastCopyCpu;
        http = await viaHttp(batches, settings.concurrency);
      } else {
        http = await viaHttp(batches, settings.concurrency);
        copy = await copyInto('audit_events_copy', chunks);
        copyCpu = lastCopyCpu;
      }
      const copyNoIndex = await copyInto('audit_events_copy_noidx', chunks);
      rounds.push({ http, copy, copyCpu, copyNoIndex, idle });
      log(
        `postgres ingest round ${r + 1}: HTTP ${Math.round(http.rowsPerSec)} rows/s (x${settings.concurrency}), ` +
          `COPY ${Math.round(copy)} rows/s, COPY no index ${Math.round(copyNoIndex)} rows/s`,
      );
    }
    const variants: IngestResult['variants'] = [];
    for (const variant of settings.variants) {
      const events = makeEvents(settings.rows, 100 + variants.length);
      const extra: BenchServer[] = [];
      let urls = [server.url];
      if ((variant.servers ?? 1) > 1 || variant.logLevel) {
        // Fresh server processes for this configuration, on the same database.
        for (let i = 0; i < (variant.servers ?? 1); i++) {
          extra.push(await startBenchServer({ databaseUrl: url, token, ...(variant.logLevel ? { logLevel: variant.logLevel } : {}) }));
        }
        urls = extra.map((s) => s.url);
        await sendBatches(urls, token, batchesOf(makeEvents(5 * BATCH, 998)), variant.concurrency);
      }
      try {
        await reset();
        const run = await viaHttp(batchesOf(events), variant.concurrency, urls, extra.length ? extra : [server]);
        variants.push({ variant, run });
        log(`postgres ingest, ${variant.label}: ${Math.round(run.rowsPerSec)} rows/s`);
      } finally {
        for (const s of extra) await s.stop();
      }
    }
    let profile: ProfileResult | undefined;
    if (settings.profileBatches && settings.workDir) {
      await reset();
      profile = await profileIngest({ databaseUrl: url }, settings.workDir, settings.profileBatches);
    }
    return { backend: 'postgres', measuredAt, rows: settings.rows, concurrency: settings.concurrency, rounds, variants, ...(profile ? { profile } : {}) };
  } finally {
    await server.stop();
    await sql.end();
    await scratch.drop();
  }
}

// --- PGlite: the server embeds it, so each HTTP round gets a fresh data directory and server ---

export async function runPgliteIngest(workDir: string, settings: IngestSettings): Promise<IngestResult> {
  const measuredAt = new Date().toISOString();
  const copyDir = path.join(workDir, 'pglite-ingest-copy');
  const httpDir = path.join(workDir, 'pglite-ingest-http');
  await rm(copyDir, { recursive: true, force: true });
  const handle = await openDatabase({ dataDir: copyDir });
  const pg = pgliteOf(handle);
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  try {
    await pg.exec(`create table audit_events_copy (like audit_events including all);
                   create table audit_events_copy_noidx (like audit_events including defaults including identity);`);
    const { hash } = await auditColumns(rawPglite(pg));
    let idle = 1;
    const quiet = async () => {
      idle = Math.min(idle, (await waitForQuiet(settings.quietMaxWaitMs)).idle);
    };
    const copyInto = async (table: string, chunks: string[]) => {
      await pg.exec(`truncate ${table} restart identity; checkpoint;`);
      const blob = new Blob(chunks);
      await quiet();
      const t0 = now();
      await pg.query(`copy ${table} (${copyColumns(hash)}) from '/dev/blob'`, [], { blob });
      const seconds = (now() - t0) / 1000;
      const { rows } = await pg.query<{ n: number }>(`select count(*)::int as n from ${table}`);
      if (rows[0]!.n !== settings.rows) throw new Error(`PGlite COPY into ${table} stored ${rows[0]!.n} rows`);
      return settings.rows / seconds;
    };
    const viaHttp = async (batches: EventInput[][], concurrency: number) => {
      await rm(httpDir, { recursive: true, force: true });
      const server = await startBenchServer({ dataDir: httpDir, token });
      try {
        await sendBatches(server.url, token, batchesOf(makeEvents(2 * BATCH, 999)), concurrency);
        await quiet();
        return await sendBatches(server.url, token, batches, concurrency);
      } finally {
        await server.stop();
      }
    };
    const rounds: IngestRound[] = [];
    for (let r = 0; r < settings.rounds; r++) {
      const events = makeEvents(settings.rows, r + 1);
      const chunks = copyChunks(events, new Date().toISOString(), hash);
      idle = 1;
      const copy = await copyInto('audit_events_copy', chunks);
      const http = await viaHttp(batchesOf(events), settings.concurrency);
      const copyNoIndex = await copyInto('audit_events_copy_noidx', chunks);
      rounds.push({ http, copy, copyNoIndex, idle });
      log(
        `pglite ingest round ${r + 1}: HTTP ${Math.round(http.rowsPerSec)} rows/s (x${settings.concurrency}), ` +
          `COPY ${Math.round(copy)} rows/s, COPY no index ${Math.round(copyNoIndex)} rows/s`,
      );
    }
    return { backend: 'pglite', measuredAt, rows: settings.rows, concurrency: settings.concurrency, rounds, variants: [] };
  } finally {
    await handle.close();
    await rm(copyDir, { recursive: true, force: true });
    await rm(httpDir, { recursive: true, force: true });
  }
}
