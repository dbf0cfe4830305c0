// Ingest with logins mixed in: a login records its event inside a transaction (with the
// new session), beside the pipelined group commit of the batches. Measures batches alone
// and batches while one client logs in again and again, alternating, on a scratch
// Postgres database, through the real server binary.
//
//   npx tsx test/bench/ingestWithLogins.ts [--rows=20000] [--rounds=3] [--url=postgres://...]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createVigilClient } from '../../shared/client.js';
import { openDatabase } from '../../server/db/database.js';
import { BATCH, makeEvents, median } from './ingest.js';
import { freshDatabase, log, now, startBenchServer } from './util.js';

const { values: args } = parseArgs({
  options: { rows: { type: 'string' }, rounds: { type: 'string' }, url: { type: 'string' } },
  strict: true,
});
const rows = Number(args.rows ?? 20_000);
const rounds = Number(args.rounds ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const adminUrl = args.url ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const scratch = await freshDatabase(adminUrl, 'vigil_bench_ingest_logins');
const migrated = await openDatabase({ databaseUrl: scratch.url, maxConnections: 1 });
await migrated.close();
const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
const server = await startBenchServer({ databaseUrl: scratch.url, token });
const admin = createVigilClient({ url: server.url, token });
const password = 'correct horse battery staple';
await admin.users.create.mutate({ username: 'bench-login', role: 'auditor', password });

/** Sends `rows` events in batches with `concurrency` clients; answers rows per second. */
async function ingest(seed: number): Promise<number> {
  const events = makeEvents(rows, seed);
  const batches = Array.from({ length: Math.ceil(rows / BATCH) }, (_, i) => events.slice(i * BATCH, (i + 1) * BATCH));
  const clients = Array.from({ length: concurrency }, () => createVigilClient({ url: server.url, token }));
  let next = 0;
  const t0 = now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next++; i < batches.length; i = next++) await client.events.recordBatch.mutate({ events: batches[i]! });
    }),
  );
  return rows / ((now() - t0) / 1000);
}

/** Logs in one after another until `stop` resolves; answers how many. */
async function loginLoop(stop: Promise<unknown>): Promise<number> {
  const client = createVigilClient({ url: server.url });
  let done = false;
  void stop.then(() => (done = true));
  let n = 0;
  while (!done) {
    await client.auth.login.mutate({ username: 'bench-login', password });
    n++;
  }
  return n;
}

const alone: number[] = [];
const mixed: number[] = [];
const loginsPerSec: number[] = [];
try {
  await ingest(1); // warm-up
  for (let r = 0; r < rounds; r++) {
    alone.push(await ingest(100 + r));
    const t0 = now();
    const run = ingest(200 + r);
    const logins = await loginLoop(run);
    mixed.push(await run);
    loginsPerSec.push(logins / ((now() - t0) / 1000));
    log(`round ${r + 1}: alone ${alone.at(-1)!.toFixed(0)} rows/s, with logins ${mixed.at(-1)!.toFixed(0)} rows/s (${loginsPerSec.at(-1)!.toFixed(1)} logins/s)`);
  }
  log(
    `median of ${rounds}: alone ${median(alone).toFixed(0)} rows/s, with logins ${median(mixed).toFixed(0)} rows/s ` +
      `(${(median(mixed) / median(alone)).toFixed(2)}x), ${median(loginsPerSec).toFixed(1)} logins/s`,
  );
} finally {
  await server.stop();
  await scratch.drop();
}
