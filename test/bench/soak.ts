// Load over time: 200 concurrent clients against one server process on Postgres for
// --minutes (default 10): 100 ingest clients (batches with client ids), 80 readers
// (events.list with the query kinds people use, paging on), 20 live subscribers. Reports
// the error rate, p50/p95 per procedure, and the server's RSS over time (growth from the
// first to the last minute). `npm run soak` runs it after the crash suite.
import { randomBytes, randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { createVigilClient } from '../../shared/client.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { makeEvents } from './ingest.js';
import { freshDatabase, int, log, ms, now, rssMb, startBenchServer, summarize } from './util.js';

const QUERIES = ['', 'action:cordon,delete', 'resource_type:workspace', '-action:login since:1h', 'username:alan.abbott', 'workspace action:connect'];
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

export interface SoakResult {
  minutes: number;
  clients: { ingest: number; readers: number; live: number };
  procedures: Record<string, { calls: number; errors: number; p50: number; p95: number }>;
  eventsIngested: number;
  liveDeliveries: number;
  rss: { minute: number; mb: number }[];
}

export async function runSoak(adminUrl: string, minutes: number): Promise<SoakResult> {
  const scratch = await freshDatabase(adminUrl, 'vigil_bench_soak');
  const token = `vgl_${randomBytes(24).toString('base64url')}`;
  const server = await startBenchServer({ databaseUrl: scratch.url, token });
  const pid = server.child.pid!;
  const samples: Record<string, { ok: number[]; errors: number }> = {};
  const track = async (procedure: string, call: () => Promise<unknown>) => {
    const s = (samples[procedure] ??= { ok: [], errors: 0 });
    const t0 = now();
    try {
      await call();
      s.ok.push(now() - t0);
    } catch {
      s.errors++;
    }
  };
  const deadline = Date.now() + minutes * 60_000;
  const rss: { minute: number; mb: number }[] = [];
  let eventsIngested = 0;
  let liveDeliveries = 0;
  const clients = { ingest: 100, readers: 80, live: 20 };
  try {
    const pool = makeEvents(20_000, 7);
    const lives = Array.from({ length: clients.live }, (_, i) => {
      const live = createVigilLiveClient({ url: server.url, token, transport: 'ws', WebSocket });
      const sub = live.client.events.live.subscribe({ q: QUERIES[i % QUERIES.length] }, { onData: () => liveDeliveries++ });
      return { live, sub };
    });
    const sampler = setInterval(() => void rssMb(pid).then((mb) => rss.push({ minute: (Date.now() - (deadline - minutes * 60_000)) / 60_000, mb })), 5_000);
    const ingest = Array.from({ length: clients.ingest }, async (_, c) => {
      const client = createVigilClient({ url: server.url, token });
      let k = c * 97;
      while (Date.now() < deadline) {
        const events = Array.from({ length: 20 }, () => ({ ...pool[k++ % pool.length]!, id: randomUUID(), time: new Date().toISOString() }));
        await track('events.recordBatch', async () => {
          await client.events.recordBatch.mutate({ events });
          eventsIngested += events.length;
        });
        await sleep(1000);
      }
    });
    const readers = Array.from({ length: clients.readers }, async (_, c) => {
      const client = createVigilClient({ url: server.url, token });
      let cursor: string | null = null;
      let i = c;
      while (Date.now() < deadline) {
        const q = QUERIES[i++ % QUERIES.length]!;
        await track('events.list', async () => {
          const page = await client.events.list.query({ q, limit: 50, ...(cursor && i % 3 ? { cursor } : {}) });
          cursor = page.nextCursor;
        });
        if (i % 10 === 0) await track('events.stats', () => client.events.stats.query({ q, buckets: 48 }));
        await sleep(500);
      }
    });
    let lastLog = Date.now();
    const progress = setInterval(() => {
      if (Date.now() - lastLog < 60_000) return;
      lastLog = Date.now();
      log(`soak: ${int(eventsIngested)} events ingested, ${int(liveDeliveries)} live deliveries, RSS ${rss.at(-1)?.mb.toFixed(0)} MB`);
    }, 5_000);
    await Promise.all([...ingest, ...readers]);
    clearInterval(sampler);
    clearInterval(progress);
    for (const { live, sub } of lives) {
      sub.unsubscribe();
      live.close();
    }
  } finally {
    await server.stop();
    await scratch.drop();
  }
  const procedures = Object.fromEntries(
    Object.entries(samples).map(([p, s]) => {
      const sum = summarize(s.ok);
      return [p, { calls: s.ok.length + s.errors, errors: s.errors, p50: sum.p50, p95: sum.p95 }];
    }),
  );
  return { minutes, clients, procedures, eventsIngested, liveDeliveries, rss };
}

export function formatSoak(r: SoakResult): string {
  const firstMinute = r.rss.filter((s) => s.minute <= 1).map((s) => s.mb);
  const lastMinute = r.rss.filter((s) => s.minute >= r.minutes - 1).map((s) => s.mb);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const lines = [
    '## Soak: 200 clients for ' + `${r.minutes} minutes`,
    '',
    `One server process on Postgres; ${r.clients.ingest} ingest clients (a batch of 20 a second each), ${r.clients.readers} readers`,
    `(a page every 500 ms over ${QUERIES.length} query kinds, following cursors; stats now and then), ${r.clients.live} live subscribers.`,
    `${int(r.eventsIngested)} events ingested, ${int(r.liveDeliveries)} live deliveries.`,
    '',
    '| procedure | calls | errors | error rate | p50 | p95 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.procedures).map(
      ([p, s]) => `| ${p} | ${int(s.calls)} | ${int(s.errors)} | ${((s.errors / Math.max(1, s.calls)) * 100).toFixed(2)}% | ${ms(s.p50)} | ${ms(s.p95)} |`,
    ),
    '',
    `Server RSS: ${avg(firstMinute).toFixed(0)} MB in the first minute, ${avg(lastMinute).toFixed(0)} MB in the last ` +
      `(${(((avg(lastMinute) - avg(firstMinute)) / Math.max(1, avg(firstMinute))) * 100).toFixed(1)}% change); samples every 5 s:`,
    '',
    r.rss.filter((_, i) => i % 12 === 0).map((s) => `${s.minute.toFixed(0)} min ${s.mb.toFixed(0)} MB`).join(' · '),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const minutesArg = process.argv.find((a) => a.startsWith('--minutes='));
  const minutes = minutesArg ? Number(minutesArg.split('=')[1]) : 10;
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  console.log(formatSoak(await runSoak(adminUrl, minutes)));
}
