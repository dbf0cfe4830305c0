// The export soak test (not part of `npm test`: it takes minutes):
//
//   npx tsx test/bench/export.ts [--rows 1000000] [--backend postgres|pglite]
//                                [--url postgres://postgres@127.0.0.1:5432/postgres] [--keep]
//
// Fills a fresh database with `--rows` realistic events through the real recording path
// (a valid hash chain), signs a checkpoint, starts the real server (server/main.ts) as a
// child process and, while sampling the server's resident memory (/proc/PID/status):
//   1. exports everything as NDJSON to a file (and then as CSV),
//   2. checks the file row for row against events.list for the same query,
//   3. runs the offline verifier (shared/verifyExport.ts) on it as a third party would.
// Prints the figures (peak RSS per phase against the idle baseline) and exits 1 if a
// check fails.
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import postgres from 'postgres';
import { EventWriter } from '../../server/db/eventWriter.js';
import { openDatabase } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { recordEvents } from '../../server/services/events.js';
import { createSimulator } from '../../server/tools/simulator.js';
import { auditLogger } from '../../server/services/eventLog.js';
import { createVigilClient } from '../../shared/client.js';
import { eventInputSchema } from '../../shared/event.js';
import { log, REPO_ROOT, startBenchServer } from './util.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    backend: { type: 'string', default: 'postgres' },
    url: { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    keep: { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows!.replace(/_/g, ''));
const backend = args.backend === 'pglite' ? 'pglite' : 'postgres';
const workDir = path.join(REPO_ROOT, '.bench-data', 'export');
const dbName = 'vigil_bench_export';
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function rssOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples a process's RSS every 50 ms until stopped; answers the peak and the samples. */
function sampler(pid: number) {
  const samples: number[] = [];
  let peak = 0;
  const timer = setInterval(() => {
    rssOf(pid).then(
      ({ rss }) => {
        samples.push(rss);
        peak = Math.max(peak, rss);
      },
      () => {},
    );
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { peak, samples };
    },
  };
}

async function fill(db: Awaited<ReturnType<typeof openDatabase>>['db']): Promise<void> {
  const writer = new EventWriter(db);
  const sim = createSimulator({ seed: 2026 });
  const started = performance.now();
  let batch = [];
  let done = 0;
  // A little more history than asked for, cut at exactly `rows`.
  for (const event of sim.backfill(90, Math.ceil((rows * 1.1) / 90), new Date())) {
    if (done + batch.length >= rows) break;
    batch.push(eventInputSchema.parse(event));
    if (batch.length === 5000) {
      await recordEvents(writer, batch);
      done += batch.length;
      batch = [];
      await new Promise((r) => setImmediate(r));
      if (done % 100_000 === 0) log(`filled ${done.toLocaleString()} events (${Math.round(done / ((performance.now() - started) / 1000))}/s)`);
    }
  }
  if (batch.length) await recordEvents(writer, batch);
  done += batch.length;
  log(`filled ${done.toLocaleString()} events in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

// Filling records through the real path, which logs every event: not a million lines here.
auditLogger.level = process.env.LOG_LEVEL ?? 'warn';

async function main(): Promise<number> {
  await mkdir(workDir, { recursive: true });
  const env: { databaseUrl?: string; dataDir?: string } = {};
  let dropDatabase = async () => {};
  if (backend === 'postgres') {
    const admin = postgres(args.url!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.unsafe(`create database ${dbName}`);
    await admin.end();
    const url = new URL(args.url!);
    url.pathname = `/${dbName}`;
    env.databaseUrl = url.toString();
    dropDatabase = async () => {
      const dropper = postgres(args.url!, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${dbName} with (force)`);
      await dropper.end();
    };
  } else {
    env.dataDir = path.join(workDir, 'pglite');
    await rm(env.dataDir, { recursive: true, force: true });
  }

  log(`filling ${rows.toLocaleString()} events on ${backend}`);
  const handle = await openDatabase({ databaseUrl: env.databaseUrl, dataDir: env.dataDir });
  await fill(handle.db);
  await handle.close();

  const token = generateToken();
  const server = await startBenchServer({ ...env, token });
  const pid = server.child.pid!;
  const figures: Record<string, string | number | boolean> = { backend, rows };
  const failures: string[] = [];
  try {
    const client = createVigilClient({ url: server.url, token });
    await client.integrity.checkpoint.mutate();
    const keyPem = await (await fetch(`${server.url}/integrity/public-key`)).text();
    const keyFile = path.join(workDir, 'vigil.pem');
    await import('node:fs/promises').then((fs) => fs.writeFile(keyFile, keyPem));

    // Warm up (code paths, caches) with a small export, then the idle baseline.
    await (await fetch(`${server.url}/export?q=action:cordon`, { headers: { authorization: `Bearer ${token}` } })).text();
    await new Promise((r) => setTimeout(r, 1000));
    const baseline = (await rssOf(pid)).rss;
    figures.baselineRss = mb(baseline);

    for (const format of ['ndjson', 'csv'] as const) {
      const file = path.join(workDir, `export.${format}`);
      const watch = sampler(pid);
      const started = performance.now();
      const response = await fetch(`${server.url}/export?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 200) throw new Error(`export answered ${response.status}: ${await response.text()}`);
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(file));
      const seconds = (performance.now() - started) / 1000;
      const { peak, samples } = watch.stop();
      const size = (await stat(file)).size;
      // RSS over the export's quarters: flat means it does not grow with the rows sent.
      const quarter = (i: number) => mb(Math.max(...samples.slice(Math.floor((samples.length * i) / 4), Math.floor((samples.length * (i + 1)) / 4)), 0));
      figures[`${format}.seconds`] = seconds.toFixed(1);
      figures[`${format}.rowsPerSecond`] = Math.round(rows / seconds);
      figures[`${format}.bytes`] = mb(size);
      figures[`${format}.peakRss`] = mb(peak);
      figures[`${format}.peakOverBaseline`] = mb(peak - baseline);
      figures[`${format}.rssByQuarter`] = [0, 1, 2, 3].map(quarter).join(' / ');
      log(`${format}: ${mb(size)} in ${seconds.toFixed(1)} s, server RSS baseline ${mb(baseline)}, peak ${mb(peak)} (quarters ${figures[`${format}.rssByQuarter`]})`);
    }
    figures.serverVmHWM = mb((await rssOf(pid)).hwm);

    // Row for row against events.list for the same (empty) query, without holding either.
    log('comparing the NDJSON export with events.list');
    const lines = createInterface({ input: createReadStream(path.join(workDir, 'export.ndjson'), { encoding: 'utf8' }), crlfDelay: Infinity });
    const iterator = lines[Symbol.asyncIterator]();
    const header = JSON.parse((await iterator.next()).value as string);
    let cursor: string | undefined;
    let compared = 0;
    let mismatch: string | null = null;
    const listStarted = performance.now();
    // events.list also shows what was recorded after the export's head (the CSV export's
    // own read event): skip those.
    outer: do {
      const page = await client.events.list.query({ limit: 200, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) {
        if (item.seq > header.head.seq) continue;
        const line = await iterator.next();
        const exported = JSON.parse(line.value as string);
        const { type: _t, prevHash: _p, ...event } = exported;
        if (JSON.stringify(event) !== JSON.stringify(item)) {
          mismatch = `row ${compared + 1}: export ${line.value} vs list ${JSON.stringify(item)}`;
          break outer;
        }
        compared++;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const trailer = JSON.parse((await iterator.next()).value as string);
    if (!mismatch && trailer.type !== 'trailer') mismatch = `the export has more rows than events.list (${compared})`;
    figures.listComparedRows = compared;
    figures.listSeconds = ((performance.now() - listStarted) / 1000).toFixed(1);
    figures.rowsMatchList = mismatch === null;
    if (mismatch) failures.push(mismatch);

    log('verifying offline (node --import tsx shared/verifyExport.ts)');
    const verifyStarted = performance.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'shared/verifyExport.ts', path.join(workDir, 'export.ndjson'), '--public-key', keyFile], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }));
    const report = JSON.parse(stdout);
    figures.verifySeconds = ((performance.now() - verifyStarted) / 1000).toFixed(1);
    figures.verified = report.ok === true;
    figures.verifiedRows = report.eventsVerified;
    figures.chainVerified = report.chainVerified;
    figures.checkpoint = report.checkpoint;
    if (!report.ok) failures.push(`offline verification: ${JSON.stringify(report.problems)}`);
  } finally {
    await server.stop();
    if (!args.keep) {
      await dropDatabase();
      if (env.dataDir) await rm(env.dataDir, { recursive: true, force: true });
      await rm(path.join(workDir, 'export.ndjson'), { force: true });
      await rm(path.join(workDir, 'export.csv'), { force: true });
    }
  }
  console.log(JSON.stringify(figures, null, 2));
  for (const f of failures) console.error(`FAILED: ${f}`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
