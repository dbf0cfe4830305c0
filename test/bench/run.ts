// `npm run bench`: ingest and list benchmarks on Postgres and PGlite; writes BENCHMARKS.md.
//
//   npm run bench                  full run (10M-event Postgres table kept in database
//                                  vigil_bench, 1M-event PGlite in .bench-data/)
//   npm run bench -- --quick       small sizes, few runs; writes .bench-data/BENCHMARKS.quick.md
//   npm run bench -- --fresh       regenerate the kept data sets
//   npm run bench -- --only=ingest,list,pglite,merkle,live,sinks   some sections only (also
//                                  pglite-ingest, pglite-list); the others keep their last results
//   npm run bench -- --report-only rewrite the report from the last results (.bench-data/*.json)
//   --url=postgres://...           server to use (default $BENCH_DATABASE_URL or
//                                  postgres://postgres@127.0.0.1:5432/postgres); the
//                                  benchmark creates and drops its own databases there
//   --out=FILE  --rows=N  --pglite-rows=N  --depth=N  --ingest-rows=N
//   --merkle-tree-rows=N           the merkle section's large tree of synthetic leaves (10M; quick 200k)
//   --merkle-rounds=N, --merkle-ingest-rows=N   with --quick: the tree's ingest A/B rounds (1) and their events (10k)
//   BENCH_CONCURRENCY=N            ingest senders at once (default 4)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePgliteDataset, ensurePostgresDataset } from './datasets.js';
import { runPgliteIngest, runPostgresIngest, type IngestResult } from './ingest.js';
import { runListBench, type ListResult } from './list.js';
import { formatLiveBench, LIVE_BENCH, runLiveBench } from './live.js';
import { formatMerkleBench, runMerkleBench } from './merkle.js';
import { formatSinksBench, runSinksBench, SINKS_BENCH_FULL, SINKS_BENCH_QUICK } from './sinks.js';
import { environment, renderReport, type BenchResults } from './report.js';
import { loadAverage, log, now, REPO_ROOT, setQuietBudget } from './util.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    only: { type: 'string' },
    url: { type: 'string' },
    out: { type: 'string' },
    rows: { type: 'string' },
    'pglite-rows': { type: 'string' },
    depth: { type: 'string' },
    'ingest-rows': { type: 'string' },
    'merkle-tree-rows': { type: 'string' },
    'merkle-rounds': { type: 'string' },
    'merkle-ingest-rows': { type: 'string' },
    'report-only': { type: 'boolean', default: false },
  },
  strict: true,
});

const quick = args.quick!;
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v.replace(/_/g, '')));
const settings = {
  quick,
  pgRows: num(args.rows, quick ? 200_000 : 10_000_000),
  pgliteRows: num(args['pglite-rows'], quick ? 50_000 : 1_000_000),
  depth: num(args.depth, quick ? 100_000 : 1_000_000),
  ingestRows: num(args['ingest-rows'], quick ? 20_000 : 100_000),
  merkleTreeRows: num(args['merkle-tree-rows'], quick ? 200_000 : 10_000_000),
  pgliteIngestRows: quick ? 5_000 : 20_000,
  ingestRounds: quick ? 1 : 3,
  pgliteIngestRounds: quick ? 1 : 2,
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 4),
  quietMaxWaitMs: quick ? 3_000 : 15_000,
  /** All waits for an idle machine together, per run. */
  quietBudgetMs: quick ? 20_000 : 120_000,
  variants: quick
    ? []
    : [
        { label: '1 client', concurrency: 1 },
        { label: '8 clients', concurrency: 8 },
        { label: '4 clients, LOG_LEVEL=warn (no audit_log line per event, no request log)', concurrency: 4, logLevel: 'warn' },
        { label: '4 clients, 2 server processes on the same database', concurrency: 4, servers: 2 },
      ],
  list: quick
    ? { oursWarmup: 3, oursRuns: 30, oursBudgetMs: 1_000, oursMinRuns: 10, coderWarmup: 0, coderRuns: 2, coderBudgetMs: 2_000, windowQuery: true }
    : { oursWarmup: 10, oursRuns: 200, oursBudgetMs: 2_500, oursMinRuns: 30, coderWarmup: 1, coderRuns: 5, coderBudgetMs: 4_000, windowQuery: true },
};
const adminUrl = args.url ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sections = new Set((args.only ?? 'ingest,list,pglite,merkle,live,sinks').split(',').map((s) => s.trim()));
const KNOWN_SECTIONS = ['ingest', 'list', 'pglite', 'pglite-ingest', 'pglite-list', 'merkle', 'live', 'sinks'];
for (const section of sections) {
  if (!KNOWN_SECTIONS.includes(section)) throw new Error(`--only: unknown section ${JSON.stringify(section)}; known: ${KNOWN_SECTIONS.join(', ')}`);
}
const workDir = path.join(REPO_ROOT, '.bench-data');
const resultsFile = path.join(workDir, quick ? 'results.quick.json' : 'results.json');
const out = args.out ? path.resolve(args.out) : quick ? path.join(workDir, 'BENCHMARKS.quick.md') : path.join(REPO_ROOT, 'BENCHMARKS.md');

await mkdir(workDir, { recursive: true });
setQuietBudget(settings.quietBudgetMs);

const sameKind = (a: { backend: string; variant?: string }, b: { backend: string; variant?: string }) =>
  a.backend === b.backend && (a.variant ?? '') === (b.variant ?? '');

/** The Merkle tree's, live delivery's and sinks' blocks of the report, when those sections ran (between their own markers). */
let merkleBlock: string | null = null;
let liveBlock: string | null = null;
let sinksBlock: string | null = null;
let results: BenchResults;
if (args['report-only']) {
  results = JSON.parse(await readFile(resultsFile, 'utf8')) as BenchResults;
} else {
  // Sections not run this time keep their last results, so --only refreshes part of the report.
  const previous = await readFile(resultsFile, 'utf8')
    .then((t) => JSON.parse(t) as BenchResults)
    .catch(() => undefined);
  const started = now();
  const current: BenchResults = {
    settings,
    environment: await environment(adminUrl),
    startedAt: new Date().toISOString(),
    seconds: 0,
    ingest: (previous?.ingest ?? []).filter((r) => !r.variant),
    list: (previous?.list ?? []).filter((r) => !r.variant),
    datasets: previous?.datasets ?? {},
    load: [{ at: 'start', value: loadAverage() }],
  };
  results = current;
  // Saved after every section, so a failure late in the run keeps what was measured.
  const save = async (at: string) => {
    current.load!.push({ at, value: loadAverage() });
    current.seconds = Math.round((now() - started) / 1000);
    await writeFile(resultsFile, JSON.stringify(current, null, 2));
  };
  const addIngest = async (r: IngestResult, at: string) => {
    current.ingest = [r, ...current.ingest.filter((o) => !sameKind(o, r))];
    await save(at);
  };
  const addList = async (r: ListResult, at: string) => {
    current.list = [r, ...current.list.filter((o) => !sameKind(o, r))];
    await save(at);
  };
  const pgDbName = quick ? 'vigil_bench_quick' : settings.pgRows === 10_000_000 ? 'vigil_bench' : `vigil_bench_${settings.pgRows}`;
  const listSettings = (name: string) => ({
    depth: settings.depth,
    quietMaxWaitMs: settings.quietMaxWaitMs,
    ...settings.list,
    plansFile: path.join(workDir, `plans-${name}${quick ? '-quick' : ''}.txt`),
    profileCalls: quick ? 200 : 1000,
    workDir,
  });

  if (sections.has('ingest')) {
    log(`postgres ingest: ${settings.ingestRows.toLocaleString()} rows x ${settings.ingestRounds} rounds`);
    const r = await runPostgresIngest(adminUrl, {
      quietMaxWaitMs: settings.quietMaxWaitMs,
      rows: settings.ingestRows,
      rounds: settings.ingestRounds,
      concurrency: settings.concurrency,
      variants: settings.variants,
      profileBatches: quick ? 5 : 20,
      workDir,
    });
    await addIngest(r, 'after Postgres ingest');
  }
  if (sections.has('list')) {
    const dataset = await ensurePostgresDataset(adminUrl, pgDbName, settings.pgRows, args.fresh!);
    current.datasets.postgres = { name: pgDbName, ...dataset.meta, generatedThisRun: dataset.generated };
    const r = await runListBench({ backend: 'postgres', location: dataset.url, meta: dataset.meta }, listSettings('postgres'));
    await addList(r, 'after Postgres list');
  }
  if (sections.has('pglite') || sections.has('pglite-ingest')) {
    log(`pglite ingest: ${settings.pgliteIngestRows.toLocaleString()} rows x ${settings.pgliteIngestRounds} rounds`);
    const r = await runPgliteIngest(workDir, {
      quietMaxWaitMs: settings.quietMaxWaitMs,
      rows: settings.pgliteIngestRows,
      rounds: settings.pgliteIngestRounds,
      concurrency: settings.concurrency,
      variants: [],
    });
    await addIngest(r, 'after PGlite ingest');
  }
  if (sections.has('pglite') || sections.has('pglite-list')) {
    const dataDir = path.join(workDir, `pglite-${settings.pgliteRows}`);
    const dataset = await ensurePgliteDataset(dataDir, settings.pgliteRows, args.fresh!);
    current.datasets.pglite = { name: path.relative(REPO_ROOT, dataDir), ...dataset.meta, generatedThisRun: dataset.generated };
    const r = await runListBench({ backend: 'pglite', location: dataDir, meta: dataset.meta }, listSettings('pglite'));
    await addList(r, 'after PGlite list');
  }
  if (sections.has('merkle')) {
    const r = await runMerkleBench(adminUrl, quick
      ? { treeRows: 20_000, ingestRows: num(args['merkle-ingest-rows'], 10_000), rounds: num(args['merkle-rounds'], 1), proofCalls: 200, concurrency: settings.concurrency, largeTreeRows: settings.merkleTreeRows, browserSyncs: 200 }
      : { treeRows: 1_000_000, ingestRows: 100_000, rounds: 3, proofCalls: 1000, concurrency: settings.concurrency, largeTreeRows: settings.merkleTreeRows, browserSyncs: 500 });
    await writeFile(path.join(workDir, quick ? 'merkle.quick.json' : 'merkle.json'), JSON.stringify(r, null, 2));
    merkleBlock = `<!-- bench:merkle:start -->\n${formatMerkleBench(r)}<!-- bench:merkle:end -->`;
    await save('after Merkle tree');
  }
  if (sections.has('live')) {
    const r = await runLiveBench(adminUrl, quick ? LIVE_BENCH.quick : LIVE_BENCH.full);
    await writeFile(path.join(workDir, quick ? 'live.quick.json' : 'live.json'), JSON.stringify(r, null, 2));
    liveBlock = `<!-- bench:live:start -->\n${formatLiveBench(r)}<!-- bench:live:end -->`;
    await save('after live delivery');
  }
  if (sections.has('sinks')) {
    const r = await runSinksBench(adminUrl, quick ? SINKS_BENCH_QUICK : SINKS_BENCH_FULL);
    await writeFile(path.join(workDir, quick ? 'sinks.quick.json' : 'sinks.json'), JSON.stringify(r, null, 2));
    sinksBlock = `<!-- bench:sinks:start -->\n${formatSinksBench(r)}<!-- bench:sinks:end -->`;
    await save('after sinks');
  }
}

// Other benchmarks keep their own blocks in the same file, between markers
// <!-- bench:NAME:start --> and <!-- bench:NAME:end --> (test/bench/extra.ts: "extra",
// the soak: "soak"): carried over as they are, in their order.
const existing = await readFile(out, 'utf8').catch(() => '');
const blocks = [...existing.matchAll(/<!-- bench:([\w-]+):start -->[\s\S]*?<!-- bench:\1:end -->/g)].map((m) => m[0]);
for (const [name, block] of [['merkle', merkleBlock], ['live', liveBlock], ['sinks', sinksBlock]] as const) {
  if (!block) continue;
  const at = blocks.findIndex((b) => b.startsWith(`<!-- bench:${name}:start -->`));
  if (at >= 0) blocks[at] = block;
  else blocks.push(block);
}
const extra = blocks.map((b) => `${b}\n`).join('\n');
await writeFile(out, `${renderReport(results).trimEnd()}\n${extra ? `\n${extra}` : ''}`);
log(`wrote ${path.relative(process.cwd(), out) || out} (${results.seconds} s)`);
