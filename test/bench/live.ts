// Live delivery under load: N WebSocket subscribers (the extension's notification rule,
// `action:cordon,delete`) on one server process while events are ingested at a steady
// rate. Delivery latency = received (here) - recordedAt (the server's clock when the
// batch was recorded, same machine), against one lone subscriber measured in the same
// run; the server's RSS over time. Run alone with `npx tsx test/bench/live.ts [--quick]`.
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createVigilClient } from '../../shared/client.js';
import type { AuditEvent } from '../../shared/event.js';
import { createVigilLiveClient, type VigilLiveClient } from '../../shared/liveClient.js';
import { makeEvents } from './ingest.js';
import { freshDatabase, int, log, ms, now, ratio, rssMb, startBenchServer, summarize, type Summary } from './util.js';

export interface LiveBenchSettings {
  subscribers: number;
  eventsPerSecond: number;
  seconds: number;
}

export interface LivePhase {
  subscribers: number;
  ingested: number;
  achievedPerSecond: number;
  delivered: number;
  latency: Summary;
}

export interface LiveBenchResult {
  settings: LiveBenchSettings;
  baseline: LivePhase;
  loaded: LivePhase;
  rssMb: { idle: number; connected: number; peak: number; after: number };
}

const RULES = 'action:cordon,delete';
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function phase(url: string, token: string, count: number, settings: LiveBenchSettings, pid: number, onRss: (mb: number) => void): Promise<LivePhase> {
  const clients: VigilLiveClient[] = [];
  const latencies: number[] = [];
  let started = 0;
  const subs = [];
  // Subscribers share connections in groups, as browsers each hold one: one socket per subscriber.
  for (let i = 0; i < count; i++) {
    const live = createVigilLiveClient({ url, token, transport: 'ws', WebSocket });
    clients.push(live);
    subs.push(
      live.client.events.live.subscribe(
        { q: RULES },
        {
          onStarted: () => started++,
          onData: ({ data }) => latencies.push(Date.now() - Date.parse((data as AuditEvent).recordedAt)),
        },
      ),
    );
    if (i % 100 === 99) await sleep(50);
  }
  while (started < count) await sleep(50);
  onRss(await rssMb(pid));
  log(`live: ${count} subscribers connected`);

  const writer = createVigilClient({ url, token });
  const batch = Math.max(1, Math.round(settings.eventsPerSecond / 10));
  const pool = makeEvents(batch * 50, 99);
  let ingested = 0;
  const t0 = now();
  const sampler = setInterval(() => void rssMb(pid).then(onRss), 250);
  // Ten batches a second, each sent on schedule whether or not the last has returned.
  const inflight: Promise<unknown>[] = [];
  for (let tick = 0; tick < settings.seconds * 10; tick++) {
    const due = t0 + tick * 100;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const events = pool.slice((tick % 50) * batch, (tick % 50) * batch + batch).map(({ id: _id, time: _time, ...e }) => e);
    inflight.push(writer.events.recordBatch.mutate({ events }).then(() => (ingested += events.length)));
  }
  await Promise.all(inflight);
  const elapsed = (now() - t0) / 1000;
  await sleep(2000);
  clearInterval(sampler);
  for (const s of subs) s.unsubscribe();
  for (const c of clients) c.close();
  return { subscribers: count, ingested, achievedPerSecond: ingested / elapsed, delivered: latencies.length, latency: summarize(latencies) };
}

export async function runLiveBench(adminUrl: string, settings: LiveBenchSettings): Promise<LiveBenchResult> {
  const scratch = await freshDatabase(adminUrl, 'vigil_bench_live');
  const token = `vgl_${randomBytes(24).toString('base64url')}`;
  const server = await startBenchServer({ databaseUrl: scratch.url, token });
  const pid = server.child.pid!;
  try {
    const rss = { idle: await rssMb(pid), connected: 0, peak: 0, after: 0 };
    log(`live: baseline, one subscriber`);
    const baseline = await phase(server.url, token, 1, settings, pid, () => {});
    await sleep(1000);
    rss.idle = await rssMb(pid);
    log(`live: ${settings.subscribers} subscribers at ${int(settings.eventsPerSecond)} events/s for ${settings.seconds} s`);
    let connectedSeen = false;
    const loaded = await phase(server.url, token, settings.subscribers, settings, pid, (mb) => {
      if (!connectedSeen) {
        rss.connected = mb;
        connectedSeen = true;
      }
      rss.peak = Math.max(rss.peak, mb);
    });
    await sleep(2000);
    rss.after = await rssMb(pid);
    return { settings, baseline, loaded, rssMb: rss };
  } finally {
    await server.stop();
    await scratch.drop();
  }
}

export function formatLiveBench(r: LiveBenchResult): string {
  const row = (label: string, p: LivePhase) =>
    `| ${label} | ${int(p.achievedPerSecond)} | ${int(p.delivered)} | ${ms(p.latency.p50)} | ${ms(p.latency.p95)} | ${ms(p.latency.max)} |`;
  return [
    '## Live events under load',
    '',
    `One server process on Postgres; subscribers over WebSocket with the notification rule \`${RULES}\`; events ingested`,
    `in 10 batches a second for ${r.settings.seconds} s (the benchmark's realistic action mix, so a share of them match).`,
    'Latency: from `recordedAt` (set when the batch is recorded) to the subscriber receiving it.',
    '',
    '| subscribers | ingested events/s | deliveries | p50 | p95 | max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('1 (baseline)', r.baseline),
    row(int(r.loaded.subscribers), r.loaded),
    '',
    `Delivery p95 with ${int(r.loaded.subscribers)} subscribers is ${ratio(r.loaded.latency.p95 / r.baseline.latency.p95)} the lone subscriber's.`,
    `Server RSS: ${r.rssMb.idle.toFixed(0)} MB idle, ${r.rssMb.connected.toFixed(0)} MB with ${int(r.loaded.subscribers)} subscribers connected, ` +
      `${r.rssMb.peak.toFixed(0)} MB peak while ingesting, ${r.rssMb.after.toFixed(0)} MB after.`,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const result = await runLiveBench(adminUrl, quick ? { subscribers: 100, eventsPerSecond: 1000, seconds: 5 } : { subscribers: 1000, eventsPerSecond: 5000, seconds: 20 });
  console.log(formatLiveBench(result));
}
