// `npm run demo`: a busy Coder-like deployment recording into a running Vigil server
// through the typed client, so the popup, the full view and notifications have something
// true to show (server/tools/simulator.ts says what happens in it).
//
//   VIGIL_TOKEN=<service token or site manager token> npm run demo -- [options]
//     --url URL        the server (default http://127.0.0.1:8080, or $VIGIL_URL)
//     --rate N         live events per second (default 5)
//     --days N         days of history to record first (default 1; 0: none)
//     --per-day N      events per day of history (default 2000)
//     --duration S     stop after S seconds (default: run until Ctrl-C)
//     --seed N         the simulation's seed (default: random)
// The token comes from VIGIL_TOKEN, else VIGIL_ADMIN_TOKEN (never from the command line,
// where other users could read it). Exit status 0 when every event was recorded.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { createVigilClient } from '../../shared/client.js';
import { demoTargetFromEnv } from '../config.js';
import { createSimulator } from './simulator.js';

export interface DemoOptions {
  url: string;
  token: string;
  rate: number;
  days: number;
  perDay: number;
  durationS: number | undefined;
  seed: number;
  progress: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface DemoResult {
  backfilled: number;
  live: number;
  transientErrors: number;
  seconds: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  let transientErrors = 0;
  const vigil = createVigilClient({
    url: o.url,
    token: o.token,
    buffer: {
      size: 200,
      intervalMs: 250,
      onError: (error, pending) => {
        transientErrors++;
        o.log(`demo: the server did not take a batch (${(error as Error).message}); ${pending} events kept, retrying`);
      },
    },
  });
  // Fail early and clearly on a wrong URL or token.
  await vigil.events.list.query({ limit: 1 }).catch(async (error: Error) => {
    if (/FORBIDDEN/.test(String((error as { data?: { code?: string } }).data?.code))) return; // a write-only service token
    throw new Error(`cannot use ${o.url}: ${error.message}`);
  });
  const sim = createSimulator({ seed: o.seed });

  let backfilled = 0;
  if (o.days > 0) {
    const events = [...sim.backfill(o.days, o.perDay, new Date())];
    const bar = o.progress
      ? new cliProgress.SingleBar({ format: 'history [{bar}] {percentage}% | {value}/{total} events', stream: process.stderr }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(events.length, 0);
    for (let i = 0; i < events.length; i += 500) {
      const batch = events.slice(i, i + 500);
      await vigil.events.recordBatch.mutate({ events: batch });
      backfilled += batch.length;
      bar?.update(backfilled);
    }
    bar?.stop();
    o.log(`demo: recorded ${backfilled} events of history over ${o.days} day(s)`);
  }

  let live = 0;
  const deadline = o.durationS === undefined ? Infinity : started + o.durationS * 1000;
  const liveStarted = Date.now();
  let lastReport = liveStarted;
  o.log(`demo: recording ~${o.rate} events/s into ${o.url}${o.durationS === undefined ? ' (Ctrl-C to stop)' : ` for ${o.durationS} s`}`);
  // Poisson arrivals at the rate, so bursts and lulls look like a real deployment.
  while (!o.signal?.aborted && Date.now() < deadline) {
    const waitMs = Math.min((-Math.log(1 - Math.random()) / o.rate) * 1000, deadline - Date.now(), 5000);
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        o.signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, waitMs));
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (o.signal?.aborted || Date.now() >= deadline) break;
    vigil.recordLater(sim.next(new Date()));
    live++;
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      o.log(`demo: ${live} live events in ${Math.round((lastReport - liveStarted) / 1000)} s (${vigil.pending()} waiting)`);
    }
  }
  await vigil.close();
  const result = { backfilled, live, transientErrors, seconds: Math.round((Date.now() - started) / 100) / 10 };
  o.log(`demo: done: ${backfilled} history + ${live} live events recorded in ${result.seconds} s, ${transientErrors} transient errors`);
  return result;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string', default: '5' },
      days: { type: 'string', default: '1' },
      'per-day': { type: 'string', default: '2000' },
      duration: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const target = demoTargetFromEnv();
  const token = target.token;
  if (!token) {
    console.error('demo: set VIGIL_TOKEN (a service token with events:write, `npm run vigil -- token create demo`) or VIGIL_ADMIN_TOKEN');
    return 2;
  }
  const number = (name: string, raw: string | undefined, min: number, max: number) => {
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
    return v;
  };
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  try {
    await runDemo({
      url: values.url ?? target.url ?? 'http://127.0.0.1:8080',
      token,
      rate: number('rate', values.rate, 0.01, 10_000),
      days: number('days', values.days, 0, 3650),
      perDay: number('per-day', values['per-day'], 1, 10_000_000),
      durationS: values.duration === undefined ? undefined : number('duration', values.duration, 0, 10 * 365 * 86_400),
      seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : number('seed', values.seed, 0, 2 ** 31),
      progress: process.stderr.isTTY,
      log: (line) => console.error(line),
      signal: controller.signal,
    });
    return 0;
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
