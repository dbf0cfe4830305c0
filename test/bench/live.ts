// Live delivery under load, on one server process (Postgres): events ingested at a steady
// offered rate with no subscriber, then with N WebSocket subscribers and N SSE subscribers
// (typed clients; plain EventSource ones on request), all holding the extension's
// notification rule (`action:cordon,delete`), then
// many idle WebSocket subscribers. Per phase: ingest achieved (against the run without
// subscribers), delivery latency (received here - recordedAt, the server's clock when the
// batch was recorded, same machine), whether every subscriber got every matching event
// exactly once and in order, the server's RSS, and its CPU per delivery (the server
// process's CPU time over the phase, and over what the same ingest cost without
// subscribers, divided by the deliveries). The subscribers run in this process, on the
// same cores as the server: their decoding competes with it.
//
//   npm run bench -- --only=live [--quick]     (or alone: npx tsx test/bench/live.ts [--quick])
import { randomBytes } from 'node:crypto';
import { EventSource } from 'eventsource';
import { WebSocket } from 'ws';
import { createVigilClient } from '../../shared/client.js';
import { createVigilLiveClient, type VigilLiveClient } from '../../shared/liveClient.js';
import type { AuditEvent } from '../../shared/event.js';
import { makeEvents } from './ingest.js';
import { eventSourceWith } from './nodeEventSource.js';
import { freshDatabase, int, log, ms, now, processCpuMs, rssMb, startBenchServer } from './util.js';

export interface LiveBenchSettings {
  /** WebSocket subscribers, and SSE subscribers, in their loaded phases. */
  subscribers: number;
  eventsPerSecond: number;
  seconds: number;
  /** Idle WebSocket subscribers held at once. */
  idleSubscribers: number;
}

export interface LivePhase {
  /**
   * sse: typed clients over a light EventSource on node:http (test/bench/nodeEventSource.ts);
   * sse-fetch: typed clients over the `eventsource` package (fetch and WHATWG streams, the
   * typed client's default in Node); sse-raw: plain `eventsource` clients that parse the
   * messages themselves (no typed client).
   */
  transport: 'none' | 'ws' | 'sse' | 'sse-fetch' | 'sse-raw';
  subscribers: number;
  ingested: number;
  achievedPerSecond: number;
  /** Matching events each subscriber should get. */
  matching: number;
  delivered: number;
  /** Subscribers that got exactly the matching events, each once, in seq order. */
  exactlyOnce: number;
  latency: { p50: number; p95: number; max: number };
  serverCpuMs: number;
  /** This process's CPU time over the same window: the subscribers' clients and the ingest client. */
  benchCpuMs: number;
  /** The window both CPU times cover. */
  windowMs: number;
  rssPeakMb: number;
}

export interface LiveBenchResult {
  settings: LiveBenchSettings;
  phases: LivePhase[];
  /** `reopened`: sockets opened again after failing before their subscription started; `reasons`: why. */
  idle: { subscribers: number; rssBeforeMb: number; rssMb: number; reopened: number; reasons: Record<string, number> };
}

const RULE = 'action:cordon,delete';
const MATCHES = new Set(['cordon', 'delete']);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const PRIME = 1_000_000_007;

/** What one subscriber received, kept small: a count, order and two checksums of the seqs. */
class Tally {
  count = 0;
  last = 0;
  inOrder = true;
  sum = 0;
  squares = 0;
  add(seq: number) {
    if (seq <= this.last) this.inOrder = false;
    this.last = seq;
    this.count++;
    this.sum = (this.sum + seq) % PRIME;
    this.squares = (this.squares + ((seq % PRIME) * (seq % PRIME)) % PRIME) % PRIME;
  }
  equals(other: Tally) {
    return this.inOrder && this.count === other.count && this.sum === other.sum && this.squares === other.squares;
  }
}

/** Latencies in whole ms, up to a minute (later ones count as a minute). */
class Histogram {
  private readonly buckets = new Uint32Array(60_001);
  private n = 0;
  private max = 0;
  add(ms: number) {
    const b = Math.min(60_000, Math.max(0, Math.round(ms)));
    this.buckets[b]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }
  quantile(q: number) {
    if (this.n === 0) return NaN;
    let seen = 0;
    const rank = Math.ceil(q * this.n);
    for (let b = 0; b < this.buckets.length; b++) {
      seen += this.buckets[b]!;
      if (seen >= rank) return b;
    }
    return 60_000;
  }
  summary() {
    return { p50: this.quantile(0.5), p95: this.quantile(0.95), max: this.n ? this.max : NaN };
  }
}

interface Subscribers {
  tallies: Tally[];
  started(): number;
  close(): void;
}

/**
 * Plain EventSource clients reading events.live's SSE stream as any HTTP client could: a
 * message's data is the JSON text of its events, as a JSON string. Not a default phase
 * (--phases=none,sse-raw): it compares the typed client's SSE consumer with a bare one.
 */
function subscribeRawSse(url: string, token: string, count: number, latencies: Histogram): Subscribers {
  const sources: EventSource[] = [];
  const tallies: Tally[] = [];
  let started = 0;
  const input = encodeURIComponent(JSON.stringify({ q: RULE }));
  const authorized = (input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` } });
  for (let i = 0; i < count; i++) {
    const source = new EventSource(`${url}/trpc/events.live?input=${input}`, { fetch: authorized });
    const tally = new Tally();
    sources.push(source);
    tallies.push(tally);
    source.addEventListener('connected', () => started++);
    source.onmessage = (message) => {
      const received = Date.now();
      for (const event of JSON.parse(JSON.parse(message.data) as string) as AuditEvent[]) {
        latencies.add(received - Date.parse(event.recordedAt));
        tally.add(event.seq);
      }
    };
  }
  return { tallies, started: () => started, close: () => sources.forEach((s) => s.close()) };
}

function subscribe(url: string, token: string, transport: Exclude<LivePhase['transport'], 'none'>, count: number, latencies: Histogram): Subscribers {
  if (transport === 'sse-raw') return subscribeRawSse(url, token, count, latencies);
  const clients: VigilLiveClient[] = [];
  const tallies: Tally[] = [];
  let started = 0;
  const eventSource = transport === 'sse' ? eventSourceWith({ authorization: `Bearer ${token}` }) : EventSource;
  for (let i = 0; i < count; i++) {
    const live = createVigilLiveClient({ url, token, transport: transport === 'ws' ? 'ws' : 'sse', WebSocket, EventSource: eventSource });
    const tally = new Tally();
    clients.push(live);
    tallies.push(tally);
    live.client.events.live.subscribe(
      { q: RULE },
      {
        onStarted: () => started++,
        onData: ({ data }) => {
          latencies.add(Date.now() - Date.parse(data.recordedAt));
          tally.add(data.seq);
        },
      },
    );
  }
  return { tallies, started: () => started, close: () => clients.forEach((c) => c.close()) };
}

async function phase(
  url: string,
  token: string,
  transport: LivePhase['transport'],
  count: number,
  settings: LiveBenchSettings,
  pid: number,
): Promise<LivePhase> {
  const latencies = new Histogram();
  const subs = transport === 'none' ? null : subscribe(url, token, transport, count, latencies);
  if (subs) {
    const deadline = Date.now() + 120_000;
    while (subs.started() < count && Date.now() < deadline) await sleep(50);
    await sleep(500); // the last ones' first replay read
    log(`live: ${subs.started()} of ${count} ${transport} subscribers started`);
  }

  const writer = createVigilClient({ url, token });
  const batch = Math.max(1, Math.round(settings.eventsPerSecond / 10));
  const pool = makeEvents(batch * 50, 99);
  const expected = new Tally();
  const recorded: { seq: number; matches: boolean }[] = [];
  let ingested = 0;
  let rssPeak = await rssMb(pid);
  const sampler = setInterval(() => void rssMb(pid).then((mb) => (rssPeak = Math.max(rssPeak, mb))), 250);
  const cpu0 = processCpuMs(pid);
  const benchCpu0 = process.cpuUsage();
  const t0 = now();
  // Ten batches a second, each sent on schedule whether or not the last has returned.
  const inflight: Promise<unknown>[] = [];
  for (let tick = 0; tick < settings.seconds * 10; tick++) {
    const wait = t0 + tick * 100 - now();
    if (wait > 0) await sleep(wait);
    const events = pool.slice((tick % 50) * batch, (tick % 50) * batch + batch).map(({ id: _id, time: _time, ...e }) => e);
    inflight.push(
      writer.events.recordBatch.mutate({ events }).then((answer) => {
        ingested += events.length;
        answer.events.forEach((stored, i) => recorded.push({ seq: stored.seq, matches: MATCHES.has(events[i]!.action) }));
      }),
    );
  }
  await Promise.all(inflight);
  const elapsed = (now() - t0) / 1000;
  for (const r of recorded.sort((a, b) => a.seq - b.seq)) if (r.matches) expected.add(r.seq);
  if (subs) {
    const deadline = Date.now() + 30_000;
    while (subs.tallies.some((t) => t.count < expected.count) && Date.now() < deadline) await sleep(100);
  } else {
    await sleep(500);
  }
  const serverCpuMs = processCpuMs(pid) - cpu0;
  const benchCpu = process.cpuUsage(benchCpu0);
  const windowMs = now() - t0;
  clearInterval(sampler);
  await writer.close().catch(() => {});
  const tallies = subs?.tallies ?? [];
  subs?.close();
  await sleep(1000);
  return {
    transport,
    subscribers: count,
    ingested,
    achievedPerSecond: ingested / elapsed,
    matching: expected.count,
    delivered: tallies.reduce((n, t) => n + t.count, 0),
    exactlyOnce: tallies.filter((t) => t.equals(expected)).length,
    latency: latencies.summary(),
    serverCpuMs,
    benchCpuMs: (benchCpu.user + benchCpu.system) / 1000,
    windowMs,
    rssPeakMb: rssPeak,
  };
}

/**
 * `count` idle subscribers, one WebSocket each, speaking tRPC's wire format (lighter than
 * typed clients). A socket that fails or closes before its subscription started opens
 * again, as any client reconnects (opening thousands at once, a few are reset); how many
 * did, and why, is reported.
 */
async function idleSubscribers(url: string, token: string, count: number): Promise<{ started: number; reopened: number; reasons: Map<string, number>; close(): void }> {
  const sockets = new Set<WebSocket>();
  let started = 0;
  let reopened = 0;
  let closing = false;
  const reasons = new Map<string, number>();
  const open = () => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/trpc?connectionParams=1`);
    let subscribed = false;
    let reason = 'closed before the subscription started';
    sockets.add(ws);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === 'PING') return void ws.send('PONG');
      if (!subscribed && text.includes('"started"')) {
        subscribed = true;
        started++;
      }
    });
    ws.on('error', (error) => (reason = (error as NodeJS.ErrnoException).code ?? error.message));
    ws.on('close', () => {
      sockets.delete(ws);
      if (subscribed || closing) return;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      reopened++;
      setTimeout(open, 100);
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
      ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'events.live', input: { q: RULE } } }));
    });
  };
  for (let i = 0; i < count; i++) {
    open();
    if (i % 200 === 199) await sleep(100);
  }
  const deadline = Date.now() + 120_000;
  while (started < count && Date.now() < deadline) await sleep(100);
  return {
    started,
    reopened,
    reasons,
    close: () => {
      closing = true;
      sockets.forEach((ws) => ws.terminate());
    },
  };
}

/** For a look at one part (e.g. the server under --cpu-prof during the WebSocket phase alone). */
export interface LiveBenchOptions {
  transports?: LivePhase['transport'][];
  idle?: boolean;
  nodeFlags?: string[];
}

export async function runLiveBench(adminUrl: string, settings: LiveBenchSettings, options: LiveBenchOptions = {}): Promise<LiveBenchResult> {
  const scratch = await freshDatabase(adminUrl, `vigil_bench_live_${process.pid}`);
  const token = `vgl_${randomBytes(24).toString('base64url')}`;
  const server = await startBenchServer({ databaseUrl: scratch.url, token, nodeFlags: options.nodeFlags });
  const pid = server.child.pid!;
  const transports = options.transports ?? ['none', 'ws', 'sse'];
  try {
    const phases: LivePhase[] = [];
    for (const transport of transports) {
      const count = transport === 'none' ? 0 : settings.subscribers;
      log(`live: ${transport === 'none' ? 'no subscribers' : `${int(count)} ${transport} subscribers`}, ${int(settings.eventsPerSecond)} events/s offered for ${settings.seconds} s`);
      phases.push(await phase(server.url, token, transport, count, settings, pid));
    }
    if (options.idle === false) return { settings, phases, idle: { subscribers: 0, rssBeforeMb: NaN, rssMb: NaN, reopened: 0, reasons: {} } };
    await sleep(2000);
    const rssBeforeMb = await rssMb(pid);
    log(`live: ${int(settings.idleSubscribers)} idle subscribers`);
    const idle = await idleSubscribers(server.url, token, settings.idleSubscribers);
    await sleep(2000);
    const idleRss = await rssMb(pid);
    idle.close();
    return { settings, phases, idle: { subscribers: idle.started, rssBeforeMb, rssMb: idleRss, reopened: idle.reopened, reasons: Object.fromEntries(idle.reasons) } };
  } finally {
    await server.stop();
    await scratch.drop();
  }
}

export function formatLiveBench(r: LiveBenchResult): string {
  const none = r.phases.find((p) => p.transport === 'none');
  const us = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} µs` : '-');
  const row = (p: LivePhase) => {
    const cpuPerDelivery = p.delivered ? (p.serverCpuMs * 1000) / p.delivered : NaN;
    const extraPerDelivery = p.delivered && none ? ((p.serverCpuMs - none.serverCpuMs) * 1000) / p.delivered : NaN;
    return [
      p.transport === 'none' ? 'none' : `${int(p.subscribers)} ${{ ws: 'WebSocket', sse: 'SSE', 'sse-fetch': 'SSE, `eventsource` package', 'sse-raw': 'SSE, plain `eventsource`' }[p.transport]}`,
      int(p.achievedPerSecond),
      none && p !== none ? `${(p.achievedPerSecond / none.achievedPerSecond).toFixed(2)}x` : '-',
      p.transport === 'none' ? '-' : `${int(p.delivered)} / ${int(p.matching * p.subscribers)}`,
      p.transport === 'none' ? '-' : `${int(p.exactlyOnce)} / ${int(p.subscribers)}`,
      ms(p.latency.p50),
      ms(p.latency.p95),
      ms(p.latency.max),
      us(cpuPerDelivery),
      us(extraPerDelivery),
      `${(p.serverCpuMs / p.windowMs).toFixed(2)} / ${(p.benchCpuMs / p.windowMs).toFixed(2)}`,
      `${p.rssPeakMb.toFixed(0)} MB`,
    ].join(' | ');
  };
  return [
    '## Live events under load',
    '',
    `One server process on Postgres; subscribers with the notification rule \`${RULE}\`; ${int(r.settings.eventsPerSecond)} events/s offered`,
    `in 10 batches a second for ${r.settings.seconds} s (the benchmark's realistic action mix, so a share of them match). Latency: from`,
    '`recordedAt` (set when the batch is recorded) to the subscriber receiving it. Exactly once: the subscriber got every matching',
    'event, none twice, in seq order. CPU per delivery: the server process\'s CPU time over the phase / deliveries, and the same',
    'less the phase without subscribers. The subscribers (typed clients) run in the benchmark\'s process, on the same machine.',
    'Each phase\'s RSS peak starts from what the phases before it left (V8 keeps freed heap for a while). Cores busy: the',
    'server\'s CPU time, and the benchmark process\'s (its subscribers and ingest client), over the phase\'s wall time.',
    '',
    '| subscribers | ingested events/s | vs none | deliveries | exactly once | p50 | p95 | max | server CPU / delivery | beyond ingest | cores busy: server / bench | server RSS peak |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.phases.map((p) => `| ${row(p)} |`),
    '',
    `${int(r.idle.subscribers)} of ${int(r.settings.idleSubscribers)} idle WebSocket subscribers held (one socket each): server RSS ${r.idle.rssMb.toFixed(0)} MB (${r.idle.rssBeforeMb.toFixed(0)} MB before they connected).` +
      (r.idle.reopened ? ` ${int(r.idle.reopened)} sockets failed before their subscription started and were opened again (${Object.entries(r.idle.reasons).map(([why, n]) => `${why}: ${n}`).join(', ')}).` : ''),
    '',
  ].join('\n');
}

export const LIVE_BENCH = {
  quick: { subscribers: 200, eventsPerSecond: 2000, seconds: 5, idleSubscribers: 2000 },
  full: { subscribers: 1000, eventsPerSecond: 5000, seconds: 20, idleSubscribers: 10_000 },
} satisfies Record<string, LiveBenchSettings>;

// Alone: npx tsx test/bench/live.ts [--quick] [--phases=none,ws] [--no-idle] [--subscribers=N] [--server-flags="--cpu-prof --cpu-prof-dir=/tmp/p"]
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = process.argv.includes('--quick');
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const settings = { ...(quick ? LIVE_BENCH.quick : LIVE_BENCH.full) };
  if (arg('subscribers')) settings.subscribers = Number(arg('subscribers'));
  const options: LiveBenchOptions = {
    transports: arg('phases')?.split(',') as LivePhase['transport'][] | undefined,
    idle: !process.argv.includes('--no-idle'),
    nodeFlags: arg('server-flags')?.split(' '),
  };
  console.log(formatLiveBench(await runLiveBench(adminUrl, settings, options)));
}
