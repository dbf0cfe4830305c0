// Sink delivery: throughput to a local TCP syslog receiver and a local webhook receiver
// (events already stored, from cursor 0 to the head) beside writing the same bytes to the
// same kind of socket directly; ingest through a server process with three sinks that
// server delivers against none; sink lag (seconds) sampled during that ingest. The
// receivers run in a process of their own, as a SIEM is elsewhere (test/bench/sinkReceivers.ts). Postgres; `npm run bench -- --only=sinks [--quick]`,
// or alone with `npx tsx test/bench/sinks.ts [--quick]`.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { sql } from 'drizzle-orm';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';
import { selectEventsAfterSeq, selectMaxSeq } from '../../server/db/auditEventsStore.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents, toAuditEvent } from '../../server/services/events.js';
import { generateSecretsKey } from '../../server/services/secretsKey.js';
import { SinkDelivery } from '../../server/services/sinkDelivery.js';
import { createSink } from '../../server/services/sinks.js';
import { octetCounted, syslogMessage } from '../../server/services/sinkTransports.js';
import { eventInputSchema } from '../../shared/event.js';
import { BATCH, batchesOf, makeEvents, median, sendBatches } from './ingest.js';
import { receiversProcess } from './sinkReceivers.js';
import { createVigilClient } from '../../shared/client.js';
import { freshDatabase, int, log, now, percentile, processCpuMs, ratio, startBenchServer, threadCpuMs } from './util.js';

export interface SinksBenchResult {
  events: number;
  /**
   * `cpuEventsPerSec`: events per second of this process's CPU time (user + system), less
   * sensitive to a shared machine than the wall clock; `totalCpuEventsPerSec` counts the
   * database's backends too (a sink's batch text is built by Postgres).
   */
  syslog: { eventsPerSec: number; rawEventsPerSec: number; cpuEventsPerSec: number; totalCpuEventsPerSec: number };
  webhook: { eventsPerSec: number; rawEventsPerSec: number; cpuEventsPerSec: number; totalCpuEventsPerSec: number };
  /**
   * `noneCpuUsPerEvent` / `threeSinksCpuUsPerEvent`: CPU (this process and the database's
   * backends: writers, sinks, receivers) per ingested event, medians over the rounds; their
   * difference is what the three sinks cost per event, receivers included.
   */
  ingest: {
    rows: number;
    noneRowsPerSec: number;
    threeSinksRowsPerSec: number;
    ratio: number;
    lagP95Seconds: number;
    noneCpuUsPerEvent: number;
    threeSinksCpuUsPerEvent: number;
    /** The same split by where it was spent (medians of each part). */
    noneCpu: CpuSplit;
    threeSinksCpu: CpuSplit;
    /** Each round's rows/s, in round order. */
    noneRuns: number[];
    threeSinksRuns: number[];
    /** An A/A run: the "three sinks" side created none. */
    control: boolean;
  };
}

async function ingest(handle: DatabaseHandle, events: ReturnType<typeof eventInputSchema.parse>[], concurrency = 4): Promise<number> {
  const batches: (typeof events)[] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const writer = new EventWriter(handle.db);
  const started = now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < batches.length) await recordEvents(writer, batches[next++]!);
  }));
  return events.length / ((now() - started) / 1000);
}

const FAST = { pollMs: 50, flushMs: 200, leaseMs: 15_000 };
const ctxOf = (db: DatabaseHandle['db'], secretsKey: ReturnType<typeof generateSecretsKey>) => ({ db, events: new EventWriter(db), secretsKey, caller: null, request: { ip: null, userAgent: null }, clock: () => new Date() });

/** CPU time (ms) the database's client backends used so far, by pid (this database's connections; not autovacuum, which the stored events set off). */
async function backendsCpuMs(handle: DatabaseHandle, applicationName?: string): Promise<Map<number, number>> {
  const rows = (await handle.db.execute(
    sql`select pid from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and (${applicationName ?? null}::text is null or application_name = ${applicationName ?? null})`,
  )) as unknown as { pid: number }[];
  return new Map(rows.map((r) => [Number(r.pid), processCpuMs(Number(r.pid)) || 0]));
}

/** CPU used since `before` by the backends in `after` (ms). */
const cpuSince = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

/** Where the CPU of an ingest went, µs per event. */
export interface CpuSplit {
  total: number;
  /** The server's main thread (requests, the event writer). */
  serverMain: number;
  /** Its other threads (the sink delivery thread, V8's and libuv's helpers). */
  serverOther: number;
  /** Postgres backends of the sink delivery thread (application_name vigil-sinks). */
  sinkBackends: number;
  /** Every other backend of the database (the server's writers, this harness). */
  otherBackends: number;
  receivers: number;
  /** This process: the ingest clients and the lag sampler. */
  clients: number;
}

/** Time for one sink to deliver every stored event (its cursor moved to 0 first): wall clock, this process's CPU and that and the database backends' together. */
async function deliverAll(
  handle: DatabaseHandle,
  input: Parameters<typeof createSink>[1],
  secretsKey: ReturnType<typeof generateSecretsKey>,
): Promise<{ seconds: number; cpuSeconds: number; totalCpuSeconds: number }> {
  const { id } = await createSink(ctxOf(handle.db, secretsKey), input);
  await handle.db.execute(sql`update sinks set cursor_seq = 0 where id = ${id}`);
  const head = await selectMaxSeq(handle.db);
  const delivery = new SinkDelivery(handle.db, { ...FAST, secretsKey });
  const dbCpu = await backendsCpuMs(handle);
  const started = now();
  const cpu = process.cpuUsage();
  delivery.start();
  for (;;) {
    const [row] = (await handle.db.execute(sql`select cursor_seq from sinks where id = ${id}`)) as unknown as { cursor_seq: string }[];
    if (Number(row!.cursor_seq) >= head) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const dbMs = cpuSince(dbCpu, await backendsCpuMs(handle));
  await delivery.stop();
  await handle.db.execute(sql`delete from sinks where id = ${id}`);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { seconds, cpuSeconds, totalCpuSeconds: cpuSeconds + dbMs / 1000 };
}

export const SINKS_BENCH_FULL = { events: 200_000, ingestRows: 100_000, rounds: 4 };
export const SINKS_BENCH_QUICK = { events: 20_000, ingestRows: 10_000, rounds: 1 };

const medianSplit = (splits: CpuSplit[]): CpuSplit => {
  const keys = ['total', 'serverMain', 'serverOther', 'sinkBackends', 'otherBackends', 'receivers', 'clients'] as const;
  return Object.fromEntries(keys.map((k) => [k, median(splits.map((c) => c[k]))])) as unknown as CpuSplit;
};

/**
 * `rounds`: ingest rounds with and without sinks, in alternating order (best even).
 * `control`: the "three sinks" side creates none (an A/A run: shows what the harness alone
 * makes of the ratio; expect about 1.00x).
 */
export async function runSinksBench(adminUrl: string, settings: { events: number; ingestRows: number; rounds: number; control?: boolean }): Promise<SinksBenchResult> {
  const scratch = await freshDatabase(adminUrl, 'vigil_bench_sinks');
  const handle = await openDatabase({ databaseUrl: scratch.url, maxConnections: 8 });
  const secretsKey = generateSecretsKey();
  try {
    log(`sinks: storing ${int(settings.events)} events`);
    await ingest(handle, makeEvents(settings.events, 11).map((e) => eventInputSchema.parse(e)));
    // The receivers run in a process of their own (test/bench/sinkReceivers.ts).
    const receivers = await receiversProcess();
    const tcp = { port: receivers.tcpPort, reset: receivers.reset, until: receivers.until };
    const hook = { url: receivers.hookUrl };

    // The bytes a syslog sink writes, written straight to a socket: the ceiling.
    const all = (await selectEventsAfterSeq(handle.db, { fields: {} }, 0, Number.MAX_SAFE_INTEGER, settings.events + 10)).map(toAuditEvent);
    const syslogMessages = all.map((e) => syslogMessage(e, 'vigil'));
    const syslogChunks: Buffer[] = [];
    for (let i = 0; i < syslogMessages.length; i += 5000) syslogChunks.push(octetCounted(syslogMessages.slice(i, i + 5000)));
    const total = syslogChunks.reduce((n, b) => n + b.length, 0);
    const rawTcp = await (async () => {
      tcp.reset();
      const socket = net.connect(tcp.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const started = now();
      for (const chunk of syslogChunks) socket.write(chunk);
      await tcp.until(total);
      const s = (now() - started) / 1000;
      socket.destroy();
      return all.length / s;
    })();
    const rawHttp = await (async () => {
      const started = now();
      for (let i = 0; i < all.length; i += 5000) {
        const body = all.slice(i, i + 5000).map((e) => `${JSON.stringify(e)}\n`).join('');
        await (await fetch(hook.url, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })).text();
      }
      return all.length / ((now() - started) / 1000);
    })();

    const syslogRuns: { seconds: number; cpuSeconds: number; totalCpuSeconds: number }[] = [];
    const webhookRuns: { seconds: number; cpuSeconds: number; totalCpuSeconds: number }[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      tcp.reset();
      syslogRuns.push(await deliverAll(handle, { name: `syslog-${round}`, kind: 'syslog', url: `tcp://127.0.0.1:${tcp.port}`, batchSize: 5000 }, secretsKey));
      webhookRuns.push(await deliverAll(handle, { name: `webhook-${round}`, kind: 'webhook', url: hook.url, secret: 's', batchSize: 5000 }, secretsKey));
    }
    const rates = (runs: { seconds: number; cpuSeconds: number; totalCpuSeconds: number }[]) => ({
      eventsPerSec: median(runs.map((r) => all.length / r.seconds)),
      cpuEventsPerSec: median(runs.map((r) => all.length / r.cpuSeconds)),
      totalCpuEventsPerSec: median(runs.map((r) => all.length / r.totalCpuSeconds)),
    });

    // Ingest through a server process (server/main.ts, as `npm start` runs it: HTTP, tRPC,
    // validation; 4 clients, batches of 1,000), with no sink and with three sinks that
    // server delivers (on Postgres, on a thread of its own), rounds alternated. Started only
    // now: its delivery would have taken the sinks above.
    const token = `vgl_${randomBytes(24).toString('base64url')}`;
    const server = await startBenchServer({ databaseUrl: scratch.url, token });
    const admin = createVigilClient({ url: server.url, token });
    // The ingest benchmark's own sender and events (test/bench/ingest.ts).
    const ingestThroughServer = async (seed: number) => (await sendBatches(server.url, token, batchesOf(makeEvents(settings.ingestRows, seed)), 4)).rowsPerSec;
    const none: number[] = [];
    const three: number[] = [];
    const noneCpu: CpuSplit[] = [];
    const threeCpu: CpuSplit[] = [];
    const lags: number[] = [];
    /**
     * CPU per event of the server (its main thread, whose id is the process's, and the
     * rest), the database's backends (the sink thread's by their application_name), the
     * receivers and this process (the clients) while `run` ingests `rows` events.
     */
    const cpuPerEvent = async (run: () => Promise<number>, rows: number, into: CpuSplit[]) => {
      const pid = server.child.pid!;
      const [sinkDb, allDb] = [await backendsCpuMs(handle, 'vigil-sinks'), await backendsCpuMs(handle)];
      const [serverCpu, mainCpu, receiversCpu, cpu] = [processCpuMs(pid), threadCpuMs(pid, pid), receivers.cpuMs(), process.cpuUsage()];
      const rate = await run();
      const used = process.cpuUsage(cpu);
      const sinkMs = cpuSince(sinkDb, await backendsCpuMs(handle, 'vigil-sinks'));
      const allMs = cpuSince(allDb, await backendsCpuMs(handle));
      const perEvent = (ms: number) => (ms * 1000) / rows;
      const mainMs = threadCpuMs(pid, pid) - mainCpu;
      const split: Omit<CpuSplit, 'total'> = {
        serverMain: perEvent(mainMs),
        serverOther: perEvent(processCpuMs(pid) - serverCpu - mainMs),
        sinkBackends: perEvent(sinkMs),
        otherBackends: perEvent(allMs - sinkMs),
        receivers: perEvent(receivers.cpuMs() - receiversCpu),
        clients: perEvent((used.user + used.system) / 1000),
      };
      into.push({ total: Object.values(split).reduce((a, b) => a + b, 0), ...split });
      return rate;
    };
    try {
      await ingestThroughServer(99); // warm-up
      const withoutSinks = async (round: number) => {
        none.push(await cpuPerEvent(() => ingestThroughServer(100 + round), settings.ingestRows, noneCpu));
      };
      const withThreeSinks = async (round: number) => {
        const ids = settings.control
          ? []
          : [
              (await admin.sinks.create.mutate({ name: `i-syslog-${round}`, kind: 'syslog', url: `tcp://127.0.0.1:${tcp.port}` })).id,
              (await admin.sinks.create.mutate({ name: `i-hook-${round}`, kind: 'webhook', url: hook.url, secret: 's' })).id,
              (await admin.sinks.create.mutate({ name: `i-ocsf-${round}`, kind: 'webhook', url: hook.url, secret: 's', format: 'ocsf' })).id,
            ];
        const caughtUp = async () => (await admin.sinks.list.query()).filter((s) => ids.includes(s.id)).every((s) => s.lag.events === 0);
        // The server takes the new sinks at its next poll (about a second).
        while (!(await caughtUp())) await new Promise((r) => setTimeout(r, 100));
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            for (const s of await admin.sinks.list.query()) if (ids.includes(s.id)) lags.push(s.lag.seconds);
            await new Promise((r) => setTimeout(r, 250));
          }
        })();
        // Until the sinks delivered what was ingested: their CPU counts in full.
        three.push(
          await cpuPerEvent(async () => {
            const rate = await ingestThroughServer(200 + round);
            while (!(await caughtUp())) await new Promise((r) => setTimeout(r, 20));
            return rate;
          }, settings.ingestRows, threeCpu),
        );
        sampling = false;
        await sampler;
        for (const id of ids) await admin.sinks.delete.mutate({ id });
      };
      // Every ingest grows the table, and ingest slows as it grows (10 % over these
      // rounds): the order alternates, so neither side always runs on the larger table.
      for (let round = 0; round < settings.rounds; round++) {
        if (round % 2 === 0) {
          await withoutSinks(round);
          await withThreeSinks(round);
        } else {
          await withThreeSinks(round);
          await withoutSinks(round);
        }
      }
    } finally {
      await admin.close().catch(() => {});
      await server.stop();
    }
    await receivers.close();
    const noneRate = median(none);
    const threeRate = median(three);
    return {
      events: all.length,
      syslog: { ...rates(syslogRuns), rawEventsPerSec: rawTcp },
      webhook: { ...rates(webhookRuns), rawEventsPerSec: rawHttp },
      ingest: {
        rows: settings.ingestRows,
        noneRowsPerSec: noneRate,
        threeSinksRowsPerSec: threeRate,
        ratio: threeRate / noneRate,
        lagP95Seconds: lags.length ? percentile(lags, 95) : 0,
        noneCpuUsPerEvent: median(noneCpu.map((c) => c.total)),
        threeSinksCpuUsPerEvent: median(threeCpu.map((c) => c.total)),
        noneCpu: medianSplit(noneCpu),
        threeSinksCpu: medianSplit(threeCpu),
        noneRuns: none,
        threeSinksRuns: three,
        control: settings.control ?? false,
      },
    };
  } finally {
    await handle.close();
    await scratch.drop();
  }
}

export function formatSinksBench(r: SinksBenchResult): string {
  return [
    '## Sinks',
    '',
    `${int(r.events)} stored events delivered from cursor 0 (batches of 5,000), beside the same bytes written straight to the socket (the ceiling).`,
    '',
    '| | sink events/s | per CPU-second of the delivering process | ... and of its Postgres backends too | direct events/s | target |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    `| syslog, TCP (RFC 6587) | ${int(r.syslog.eventsPerSec)} | ${int(r.syslog.cpuEventsPerSec)} | ${int(r.syslog.totalCpuEventsPerSec)} | ${int(r.syslog.rawEventsPerSec)} | ≥ 50,000 |`,
    `| webhook, NDJSON | ${int(r.webhook.eventsPerSec)} | ${int(r.webhook.cpuEventsPerSec)} | ${int(r.webhook.totalCpuEventsPerSec)} | ${int(r.webhook.rawEventsPerSec)} | ≥ 50,000 |`,
    '',
    ...(r.ingest.control ? ['**Control run (A/A): the "three sinks" side created no sink.**', ''] : []),
    `Ingest of ${int(r.ingest.rows)} events through a server process (HTTP + tRPC, 4 clients, batches of 1,000), medians of ${r.ingest.noneRuns.length} rounds in alternating order (without: ${r.ingest.noneRuns.map(int).join(', ')}; with: ${r.ingest.threeSinksRuns.map(int).join(', ')}): ${int(r.ingest.noneRowsPerSec)}/s without sinks, ${int(r.ingest.threeSinksRowsPerSec)}/s with three sinks that server delivers (syslog, webhook, webhook OCSF): ${ratio(r.ingest.ratio)} (target ≥ 0.85×). Sink lag during that ingest, p95: ${r.ingest.lagP95Seconds.toFixed(1)} s (target ≤ 2 s).`,
    '',
    `CPU per ingested event (the server, the database's backends, the receivers' process and the clients; with sinks, until they delivered it): ${r.ingest.noneCpuUsPerEvent.toFixed(1)} µs without sinks, ${r.ingest.threeSinksCpuUsPerEvent.toFixed(1)} µs with three: the three sinks ${(r.ingest.threeSinksCpuUsPerEvent - r.ingest.noneCpuUsPerEvent).toFixed(1)} µs per event, receivers included.`,
    '',
    '| CPU µs per event (medians) | server main thread | server other threads | sink backends | other backends | receivers | clients |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...(
      [
        ['without sinks', r.ingest.noneCpu],
        ['with three', r.ingest.threeSinksCpu],
      ] as const
    ).map(([name, c]) => `| ${name} | ${c.serverMain.toFixed(1)} | ${c.serverOther.toFixed(1)} | ${c.sinkBackends.toFixed(1)} | ${c.otherBackends.toFixed(1)} | ${c.receivers.toFixed(1)} | ${c.clients.toFixed(1)} |`),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const settings = { ...(quick ? SINKS_BENCH_QUICK : SINKS_BENCH_FULL), control: process.argv.includes('--control') };
  for (const name of ['events', 'ingestRows', 'rounds'] as const) if (arg(name) !== undefined) settings[name] = Number(arg(name));
  console.log(formatSinksBench(await runSinksBench(adminUrl, settings)));
}
