// Renders BENCHMARKS.md from the results.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { DatasetMeta } from './datasets.js';
import type { IngestResult } from './ingest.js';
import type { ProfileResult } from './profile.js';
import type { ListCaseResult, ListResult, PagePoint } from './list.js';
import { notes } from './notes.js';
import { int, ms, ratio, REPO_ROOT, type Summary } from './util.js';

export interface Environment {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  pglite: string;
}

export interface BenchResults {
  settings: Record<string, unknown>;
  environment: Environment;
  startedAt: string;
  seconds: number;
  ingest: IngestResult[];
  list: ListResult[];
  /** 1-minute load average samples ("phase": value). */
  load?: { at: string; value: number }[];
  datasets: { postgres?: DatasetMeta & { name: string; generatedThisRun: boolean }; pglite?: DatasetMeta & { name: string; generatedThisRun: boolean } };
}

export async function environment(adminUrl: string): Promise<Environment> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [v] = await sql`select version() as v`;
    const settings: Record<string, string> = {};
    for (const name of ['shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit', 'max_parallel_workers_per_gather', 'synchronous_commit']) {
      const [row] = await sql.unsafe(`show ${name}`);
      settings[name] = String(Object.values(row!)[0]);
    }
    const pkg = path.join(REPO_ROOT, 'node_modules/@electric-sql/pglite/package.json');
    const pglite = (JSON.parse(await readFile(pkg, 'utf8')) as { version: string }).version;
    return {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: String(v!.v).split(' on ')[0]!,
      postgresSettings: settings,
      pglite,
    };
  } finally {
    await sql.end();
  }
}

const TARGET_MS = 5;
const TARGET_INGEST = 0.5;
/** Below this CPU idle fraction when a measurement started, the figure is marked †. */
const QUIET = 0.85;

function mark(ok: boolean): string {
  return ok ? 'yes' : '**no**';
}

function pp(summary: Summary | undefined): string {
  return summary ? `${ms(summary.p50)} / ${ms(summary.p95)}` : 'n/a';
}

function points(result: ListResult): { c: ListCaseResult; p: PagePoint; deep: boolean }[] {
  return result.cases.flatMap((c) => [
    { c, p: c.first, deep: false },
    ...(c.deep ? [{ c, p: c.deep, deep: true }] : []),
  ]);
}

export function worstTrpc(result: ListResult): { c: ListCaseResult; p: PagePoint } {
  return points(result).reduce((a, b) => ((b.p.oursTrpc?.p95 ?? 0) > (a.p.oursTrpc?.p95 ?? 0) ? b : a));
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function ingestRatio(result: IngestResult): { http: number; copy: number; noIndex: number; ratio: number } {
  const http = medianOf(result.rounds.map((r) => r.http.rowsPerSec));
  const copy = medianOf(result.rounds.map((r) => r.copy));
  const noIndex = medianOf(result.rounds.map((r) => r.copyNoIndex));
  return { http, copy, noIndex, ratio: medianOf(result.rounds.map((r) => r.http.rowsPerSec / r.copy)) };
}

function ingestSection(result: IngestResult): string {
  const lines: string[] = [];
  const name = result.backend === 'postgres' ? 'Postgres' : 'PGlite';
  lines.push(
    `### ${name}: ${int(result.rows)} events per round, ${result.rounds.length} round(s), ${result.concurrency} concurrent clients` +
      ` (measured ${result.measuredAt.slice(0, 16).replace('T', ' ')} UTC)`,
  );
  lines.push('');
  lines.push('| Round | HTTP + tRPC rows/s | batch of 1000, p50 / p95 | raw COPY rows/s (same indexes) | HTTP ÷ COPY | COPY rows/s, no index (reference) |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  result.rounds.forEach((r, i) => {
    lines.push(
      `| ${i + 1}${r.idle !== undefined && r.idle < QUIET ? ' †' : ''} | ${int(r.http.rowsPerSec)} | ${pp(r.http.batch)} | ${int(r.copy)} | ${ratio(r.http.rowsPerSec / r.copy)} | ${int(r.copyNoIndex)} |`,
    );
  });
  const m = ingestRatio(result);
  lines.push(`| **median** | **${int(m.http)}** | | **${int(m.copy)}** | **${ratio(m.ratio)}** | ${int(m.noIndex)} |`);
  const withCpu = result.rounds.filter((r) => r.http.cpu && r.copyCpu !== undefined);
  if (withCpu.length) {
    const med = (f: (r: (typeof withCpu)[number]) => number) => medianOf(withCpu.map(f));
    const client = med((r) => r.http.cpu!.client);
    const server = med((r) => r.http.cpu!.server);
    const pg = med((r) => r.http.cpu!.postgres);
    lines.push('');
    lines.push(
      `CPU per 1000 events (median of the rounds): through HTTP, ${ms(client)} in this benchmark's clients (building and sending ` +
        `the JSON), ${ms(server)} in the server process and ${ms(pg)} in Postgres' backends, ${ms(client + server + pg)} in all; ` +
        `raw COPY, ${ms(med((r) => r.copyCpu!))} in Postgres. The machine has 2 cores for all of it.`,
    );
  }
  if (result.rounds.some((r) => r.idle !== undefined && r.idle < QUIET)) {
    lines.push('');
    lines.push(`† the machine was under ${QUIET * 100}% idle (other work on it) when a measurement of this round started.`);
  }
  lines.push(...profileSection(result.profile));
  if (result.variants.length) {
    lines.push('');
    lines.push('Other configurations (one run each, same row count, same COPY baseline as the median above):');
    lines.push('');
    lines.push('| Configuration | rows/s | batch p50 / p95 | ÷ COPY (median) | CPU per 1000 events: clients / server / Postgres |');
    lines.push('|---|---:|---:|---:|---:|');
    const copy = ingestRatio(result).copy;
    for (const v of result.variants) {
      const cpu = v.run.cpu ? `${ms(v.run.cpu.client)} / ${ms(v.run.cpu.server)} / ${ms(v.run.cpu.postgres)}` : 'n/a';
      lines.push(`| ${v.variant.label} | ${int(v.run.rowsPerSec)} | ${pp(v.run.batch)} | ${ratio(v.run.rowsPerSec / copy)} | ${cpu} |`);
    }
  }
  return lines.join('\n');
}

function profileSection(profile: ProfileResult | undefined): string[] {
  if (!profile) return [];
  const lines = [
    '',
    `Server CPU profile (\`--cpu-prof\`), ${profile.what}, ${int(profile.calls)} calls: ${ms(profile.wallMsPerCall)} wall per call ` +
      `at the client, ${ms(profile.cpuMsPerCall)} of server CPU per call, by component (each sample counted for the nearest ` +
      'package or source file on its stack, so Node\'s own socket and stream work counts for whoever called it):',
    '',
    '| Component | CPU per call | share |',
    '|---|---:|---:|',
  ];
  for (const c of profile.components.filter((c) => c.msPerCall / profile.cpuMsPerCall >= 0.01)) {
    lines.push(`| ${c.name} | ${ms(c.msPerCall)} | ${((100 * c.msPerCall) / profile.cpuMsPerCall).toFixed(0)}% |`);
  }
  return lines;
}

function listSection(result: ListResult, meta: BenchResults['datasets']['postgres']): string {
  const lines: string[] = [];
  const name = result.backend === 'postgres' ? 'Postgres' : 'PGlite';
  lines.push(`### ${name}: ${int(result.rows)} events${result.measuredAt ? ` (measured ${result.measuredAt.slice(0, 16).replace('T', ' ')} UTC)` : ''}`);
  lines.push('');
  if (meta) {
    lines.push(
      `Data set \`${meta.name}\`: generated ${meta.generatedAt.slice(0, 16).replace('T', ' ')} UTC in ${meta.generationSeconds} s` +
        `${meta.generatedThisRun ? ' (this run)' : ' (kept from an earlier run)'}; newest event ${meta.endIso.slice(0, 10)}, spanning ${meta.spanDays} days.`,
    );
    lines.push('');
  }
  lines.push(
    '| Filter | `q` | Matches | Depth | ours via tRPC, p50 / p95 | ours SQL, p50 / p95 | Coder-style SQL, p50 / p95 (runs) | Coder ÷ ours (p50, tRPC) | p95 < 5 ms |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|:---:|');
  for (const { c, p, deep } of points(result)) {
    const q = c.q ? `\`${c.q}\`` : '(none)';
    const busy = (idle: number | undefined) => (idle !== undefined && idle < QUIET ? ' †' : '');
    lines.push(
      `| ${deep ? '' : c.kind} | ${deep ? '' : q} | ${deep ? '' : int(c.matches)} | ${int(p.depth)} | ${pp(p.oursTrpc)}${busy(p.idleTrpc)} | ${pp(p.oursSql)}${busy(p.idleSql)} | ` +
        `${pp(p.coder)} (${p.coder.n}) | ${p.oursTrpc ? ratio(p.coder.p50 / p.oursTrpc.p50) : 'n/a'} | ${mark((p.oursTrpc?.p95 ?? Infinity) < TARGET_MS)}${p.samePage && p.trpcSamePage !== false ? '' : ' (pages differ!)'} |`,
    );
  }
  if (points(result).some((x) => (x.p.idleTrpc ?? 1) < QUIET || (x.p.idleSql ?? 1) < QUIET)) {
    lines.push('');
    lines.push(
      `† the machine was under ${QUIET * 100}% idle (other work on it) when this measurement started, even after waiting for a quieter moment.`,
    );
  }
  if (result.cases.some((c) => c.count)) {
    lines.push('');
    lines.push(
      'Where the time goes, first page. SQL parts timed alone through the store functions (p50); the server\'s own ' +
        'means over the tRPC runs from its `/metrics` (time in the `events.list` procedure, and in the whole HTTP request); ' +
        'the client\'s p50 from above:',
    );
    lines.push('');
    const pgCpu = result.backend === 'postgres';
    lines.push(
      '| Filter | page query (deep page) | capped count to 10,001 (the service\'s cap) | capped count to 2,001 (Coder\'s cap) | server: procedure | server: HTTP request | client: round trip p50 | CPU per call: client / server' +
        (pgCpu ? ' / Postgres' : '') +
        ' |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of result.cases) {
      const f = c.first;
      const cpu = [f.cpuClientMs, f.cpuServerMs, ...(pgCpu ? [f.cpuPostgresMs] : [])].map((v) => ms(v ?? NaN)).join(' / ');
      lines.push(
        `| ${c.kind} | ${ms(f.pageOnly?.p50 ?? NaN)}${c.deep ? ` (${ms(c.deep.pageOnly?.p50 ?? NaN)})` : ''} | ${ms(c.count?.p50 ?? NaN)} | ` +
          `${ms(c.count2k?.p50 ?? NaN)} | ${ms(f.serverProcedureMs ?? NaN)} | ${ms(f.serverHttpMs ?? NaN)} | ${ms(f.oursTrpc?.p50 ?? NaN)} | ${cpu} |`,
      );
    }
  }
  lines.push(...profileSection(result.profile));
  if (result.window.length) {
    lines.push('');
    lines.push(
      `Coder's original single query (page + \`count(*) OVER ()\`, no filter, one run each): ` +
        result.window.map((w) => `${ms(w.ms)} at depth ${int(w.depth)}`).join(', ') +
        '.',
    );
  }
  return lines.join('\n');
}

export function renderReport(results: BenchResults): string {
  const env = results.environment;
  const pgIngest = results.ingest.find((r) => r.backend === 'postgres' && !r.variant);
  const liteIngest = results.ingest.find((r) => r.backend === 'pglite' && !r.variant);
  const pgList = results.list.find((r) => r.backend === 'postgres' && !r.variant);
  const liteList = results.list.find((r) => r.backend === 'pglite' && !r.variant);
  const quick = results.settings.quick === true;
  const out: string[] = [];
  out.push('# Vigil benchmarks');
  out.push('');
  if (quick) out.push('> **Quick run** (`--quick`): small tables and few runs, a smoke test only. The real figures come from a full `npm run bench`.\n');
  out.push(
    `Written by \`npm run bench\` (code in \`test/bench/\`) on ${results.startedAt.slice(0, 10)}, ` +
      `run started ${results.startedAt.slice(11, 16)} UTC, ${Math.round(results.seconds / 60)} min in all.`,
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(`- ${env.cores} cores (${env.cpu}), ${env.memoryGb} GB RAM, ${env.os}, Node ${env.node}.`);
  const ps = env.postgresSettings;
  out.push(
    `- ${env.postgres} on 127.0.0.1 (loopback TCP), stock settings: shared_buffers ${ps.shared_buffers}, work_mem ${ps.work_mem}, ` +
      `effective_cache_size ${ps.effective_cache_size}, random_page_cost ${ps.random_page_cost}, jit ${ps.jit}, ` +
      `max_parallel_workers_per_gather ${ps.max_parallel_workers_per_gather}, synchronous_commit ${ps.synchronous_commit}.`,
  );
  out.push(`- PGlite ${env.pglite} (Postgres in WebAssembly, in the server's process), file data directory.`);
  if (results.load?.length) {
    out.push(
      `- 1-minute load average sampled during the run: ${results.load.map((l) => `${l.at} ${l.value.toFixed(1)}`).join(', ')} ` +
        '(the server, the client and Postgres share the 2 cores; other work on the machine shows up as noise).',
    );
  }
  out.push('');

  out.push('## Targets');
  out.push('');
  out.push('| Target | Measured | Met |');
  out.push('|---|---|:---:|');
  if (pgIngest) {
    const m = ingestRatio(pgIngest);
    out.push(
      `| Postgres ingest through HTTP + tRPC + validation, batches of 1000, at least 0.5x raw COPY | ` +
        `${int(m.http)} rows/s vs COPY ${int(m.copy)} rows/s = **${ratio(m.ratio)}** (median of ${pgIngest.rounds.length}) | ${mark(m.ratio >= TARGET_INGEST)} |`,
    );
  }
  for (const list of [pgList, liteList]) {
    if (!list) continue;
    const all = points(list);
    const under = all.filter((x) => (x.p.oursTrpc?.p95 ?? Infinity) < TARGET_MS).length;
    const underSql = all.filter((x) => x.p.oursSql.p95 < TARGET_MS).length;
    const worst = worstTrpc(list);
    const ratios = all.filter((x) => x.p.oursTrpc).map((x) => x.p.coder.p50 / x.p.oursTrpc!.p50);
    const deepRatios = all.filter((x) => x.deep && x.p.oursTrpc).map((x) => x.p.coder.p50 / x.p.oursTrpc!.p50);
    out.push(
      `| ${list.backend === 'postgres' ? 'Postgres' : 'PGlite'}, ${int(list.rows)} events: \`events.list\` p95 under 5 ms at any depth, every filter kind | ` +
        `${under} of ${all.length} pages under 5 ms at p95 through tRPC, ${underSql} of ${all.length} in SQL; worst tRPC p95 ` +
        `${ms(worst.p.oursTrpc?.p95 ?? NaN)} (${worst.c.kind}, depth ${int(worst.p.depth)}). ` +
        `Coder-style ÷ ours at p50: median ${ratio(medianOf(ratios))}, deep pages median ${ratio(medianOf(deepRatios))} | ${mark(under === all.length)} |`,
    );
  }
  if (liteIngest) {
    const m = ingestRatio(liteIngest);
    out.push(
      `| PGlite ingest, same method (reported; the 0.5x target is for Postgres) | ${int(m.http)} rows/s vs COPY ${int(m.copy)} rows/s = **${ratio(m.ratio)}** | ${mark(m.ratio >= TARGET_INGEST)} |`,
    );
  }
  out.push('');

  out.push(METHOD);
  out.push('');
  out.push(COMMANDS);
  out.push('');
  out.push('## Ingest');
  out.push('');
  for (const r of [pgIngest, liteIngest]) if (r) out.push(ingestSection(r), '');
  out.push('## events.list');
  out.push('');
  out.push(
    '"Depth" is the number of matching events before the page (the cursor is the (time, seq) of that event). When a filter ' +
      'matches fewer than depth + 50 events, the deep page is its last full page. p50 / p95 are over ' +
      `${(results.settings.list as { oursRuns?: number } | undefined)?.oursRuns ?? '?'} runs for ours; the Coder-style query is slow, so it runs a few times only ` +
      '(the count in brackets).',
  );
  out.push('');
  if (pgList) out.push(listSection(pgList, results.datasets.postgres), '');
  if (liteList) out.push(listSection(liteList, results.datasets.pglite), '');
  out.push('## Notes');
  out.push('');
  out.push(notes(results).join('\n'));
  out.push('');
  const slow = [pgList, liteList]
    .filter((l): l is ListResult => !!l)
    .flatMap((l) => points(l).filter((x) => x.p.oursSql.p95 >= TARGET_MS).map((x) => ({ l, ...x })));
  if (slow.length) {
    out.push('## Query plans of the pages whose SQL is over 5 ms at p95');
    out.push('');
    out.push(
      'EXPLAIN ANALYZE of the exact statements the store ran (the page, and the capped count of a first page), taken right ' +
        'after the timing runs. The plans of every page are in `.bench-data/plans-*.txt` after a run.',
    );
    out.push('');
    for (const { l, c, p } of slow) {
      out.push(`<details><summary>${l.backend}: ${c.kind} (${c.q ? `<code>${c.q}</code>` : 'no filter'}), depth ${int(p.depth)}</summary>`);
      out.push('');
      out.push('```');
      out.push(p.plan);
      out.push('```');
      out.push('');
      out.push('</details>');
      out.push('');
    }
  }
  return out.join('\n');
}

const COMMANDS = `Commands: \`npm run bench\` (everything, ~15 min once the data sets exist; the first run generates the
10M-event table, ~5-8 min), \`npm run bench -- --quick\` (a smoke test with small tables, written to
\`.bench-data/BENCHMARKS.quick.md\`), \`--only=ingest|list|pglite|pglite-ingest|pglite-list\` (some sections; the others
keep their last results), \`--fresh\` (regenerate the data sets),
\`--report-only\` (rewrite this file from \`.bench-data/results.json\`). Postgres: \`--url\` or \`BENCH_DATABASE_URL\`
(default \`postgres://postgres@127.0.0.1:5432/postgres\`); the benchmark creates its own databases there
(\`vigil_bench\`, kept; \`vigil_bench_ingest\`, dropped after).`;

const METHOD = `## Method

- **Server**: the real binary, \`server/main.ts\` (what \`npm start\` runs), started as a child process and configured only by
  its environment (\`DATABASE_URL\` or \`VIGIL_DATA_DIR\`, \`VIGIL_ADMIN_TOKEN\`, \`PORT\`). Clients use the typed client of
  \`shared/client.ts\` (\`createVigilClient\`) over loopback with the admin bearer token: one client per ingest sender
  (HTTP batch link, its default), and for the list the client's \`batch: false\` (plain HTTP link), since a single
  caller gains nothing from batching and the batch link holds each call for a timer tick (at least 1 ms in Node).
- **Ingest**: the same generated rows (realistic events with client-supplied ids, actors, ips, request ids, some diffs and
  metadata) go (a) through \`events.recordBatch\` in batches of 1000 from several concurrent clients, each taking the next
  batch (several internal apps flushing at once), and (b) through one raw \`COPY ... FROM STDIN\` stream (postgres.js
  \`.writable()\`; PGlite: \`COPY FROM '/dev/blob'\`) into \`audit_events_copy\`, created \`LIKE audit_events INCLUDING ALL\`
  in the same scratch database (same columns, identity, constraints and all 10 indexes), and (c) for reference into an
  index-less copy. Tables are truncated and a CHECKPOINT taken before each side; the order of (a) and (b) alternates by
  round. COPY text is prepared before its clock starts; the HTTP side's clock includes the client's JSON encoding,
  transport, tRPC, zod validation, the idempotency lookup and the insert. Rows/s = rows / wall time.
- **List**: a table of generated events (server-side \`INSERT ... SELECT\` over \`generate_series\`: every action with
  login/connect common and cordon/uncordon/delete rare, ~500 users with a Zipf-like skew (the busiest, \`ci-bot\`, an
  automation account with ~12% of events), ~8% system events without an actor, resource types following the action,
  ~2 events per request id, times over a year inserted in time order; indexes dropped for the load and rebuilt exactly
  as the migrations define them, then VACUUM ANALYZE). It is kept between runs and regenerated only when missing, of
  another size, or no longer matching the migrations (or with \`--fresh\`).
  For each filter kind: the exact match count; the cursor of the page at the wanted depth, computed in SQL as the
  (time, seq) of that matching event and encoded with \`encodeCursor\`; then
  - **ours via tRPC**: \`events.list\` with \`limit: 50\` through HTTP with the typed client, unbatched (sequential calls,
    after warm-up);
  - **ours SQL**: the store functions the service calls, as \`listEvents\` does: \`selectEventsPage\` for 51 rows and, for a
    first page, \`countEventsCapped\` to 10,001 in parallel (a deeper page's cursor carries the count its first page found,
    so it is not counted again; the benchmark's cursors carry it too), through Drizzle and the same driver, in the
    benchmark's process;
  - **Coder-style SQL**: \`SELECT * ... ORDER BY time DESC, seq DESC LIMIT 50 OFFSET depth\` plus an exact
    \`SELECT count(*)\` with the same WHERE clause (Coder's separate-count form), in parallel; the same indexes serve it.
    Both sides return the same page (checked every case). Coder's original one-query form with \`count(*) OVER ()\` is
    timed once, without a filter.
  The Coder-style figures are raw SQL without HTTP, so the ratio flatters the baseline slightly.
- Times are wall-clock from the client's side; p50 / p95 are nearest-rank percentiles. Caches are warm (the tables fit in
  the OS page cache, not in shared_buffers).`;

