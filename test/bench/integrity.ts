// What tamper evidence costs: ingest with the hash chain against the same ingest with a
// constant hash (measured in the same run, rounds alternated), and how fast the chain
// verifies at 1M events. Postgres; run alone with `npx tsx test/bench/integrity.ts`.
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { verifyChain } from '../../server/services/integrity.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { eventInputSchema } from '../../shared/event.js';
import { BATCH, makeEvents, median } from './ingest.js';
import { freshDatabase, int, log, now, ratio } from './util.js';

export interface IntegrityBenchResult {
  ingest: { rows: number; rounds: number; chainedRowsPerSec: number; plainRowsPerSec: number; cost: number };
  verify: { events: number; seconds: number; eventsPerSec: number; ok: boolean };
}

async function scratchDatabase(adminUrl: string, name: string): Promise<{ handle: DatabaseHandle; drop(): Promise<void> }> {
  const scratch = await freshDatabase(adminUrl, name);
  const handle = await openDatabase({ databaseUrl: scratch.url, maxConnections: 4 });
  return {
    handle,
    async drop() {
      await handle.close();
      await scratch.drop();
    },
  };
}

/** Records `events` in batches, `concurrency` writers at once; answers rows per second. */
async function ingest(handle: DatabaseHandle, events: ReturnType<typeof eventInputSchema.parse>[], chain: boolean, concurrency: number): Promise<number> {
  const batches: (typeof events)[] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const writer = new EventWriter(handle.db, { chain });
  const started = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) await recordEvents(writer, batches[next++]!);
    }),
  );
  return events.length / ((now() - started) / 1000);
}

export async function runIntegrityBench(
  adminUrl: string,
  settings: { ingestRows: number; rounds: number; verifyEvents: number; concurrency?: number },
): Promise<IntegrityBenchResult> {
  const concurrency = settings.concurrency ?? 4;
  const chained: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    // Alternate which goes first, each into a fresh database, so neither side gets the warmer one.
    for (const chain of round % 2 === 0 ? [true, false] : [false, true]) {
      const db = await scratchDatabase(adminUrl, `vigil_bench_chain_${chain ? 'on' : 'off'}`);
      try {
        const events = makeEvents(settings.ingestRows, round * 7 + (chain ? 1 : 2)).map((e) => eventInputSchema.parse(e));
        const rate = await ingest(db.handle, events, chain, concurrency);
        (chain ? chained : plain).push(rate);
        log(`integrity: round ${round + 1} ${chain ? 'chained' : 'plain'} ${int(rate)} rows/s`);
      } finally {
        await db.drop();
      }
    }
  }

  const db = await scratchDatabase(adminUrl, 'vigil_bench_verify');
  try {
    log(`integrity: recording ${int(settings.verifyEvents)} events to verify`);
    for (let done = 0; done < settings.verifyEvents; done += 50_000) {
      const n = Math.min(50_000, settings.verifyEvents - done);
      await ingest(db.handle, makeEvents(n, 1000 + done).map((e) => eventInputSchema.parse(e)), true, concurrency);
    }
    const started = now();
    const report = await verifyChain(db.handle.db, { trusted: [generateSigner()], batchSize: 10_000 });
    const seconds = (now() - started) / 1000;
    log(`integrity: verified ${int(report.checked)} events in ${seconds.toFixed(1)} s`);
    const chainedRate = median(chained);
    const plainRate = median(plain);
    return {
      ingest: { rows: settings.ingestRows, rounds: settings.rounds, chainedRowsPerSec: chainedRate, plainRowsPerSec: plainRate, cost: 1 - chainedRate / plainRate },
      verify: { events: report.checked, seconds, eventsPerSec: report.checked / seconds, ok: report.ok },
    };
  } finally {
    await db.drop();
  }
}

export function formatIntegrityBench(r: IntegrityBenchResult): string {
  const budget = r.ingest.cost <= 0.2 ? 'within' : 'OVER';
  return [
    '## Tamper evidence: what the hash chain costs',
    '',
    `Ingest through the events service (validation, hashing, one transaction per batch of ${BATCH}, 4 writers) into`,
    'Postgres, with the chain against the same path writing a constant hash, each into a fresh database, rounds',
    `alternated; median of ${r.ingest.rounds} rounds of ${int(r.ingest.rows)} events each.`,
    '',
    '| path | rows/s | ratio to plain |',
    '| --- | ---: | ---: |',
    `| plain (constant hash) | ${int(r.ingest.plainRowsPerSec)} | 1.00x |`,
    `| hash chain | ${int(r.ingest.chainedRowsPerSec)} | ${ratio(r.ingest.chainedRowsPerSec / r.ingest.plainRowsPerSec)} |`,
    '',
    `Chaining costs ${(r.ingest.cost * 100).toFixed(1)}% of ingest throughput: ${budget} the 20% budget. (This is the service`,
    'path; through HTTP + tRPC the same hashing is a smaller share of each request.)',
    '',
    `Verification (\`integrity.verify\`, \`npm run vigil -- verify\`) walked ${int(r.verify.events)} events in ${r.verify.seconds.toFixed(1)} s:`,
    `**${int(r.verify.eventsPerSec)} events/s**, result ${r.verify.ok ? 'ok' : 'FAILED'}.`,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const result = await runIntegrityBench(adminUrl, quick ? { ingestRows: 20_000, rounds: 2, verifyEvents: 50_000 } : { ingestRows: 100_000, rounds: 4, verifyEvents: 1_000_000 });
  console.log(formatIntegrityBench(result));
}
