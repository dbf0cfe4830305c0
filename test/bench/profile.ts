// Where the server's CPU goes: the real server under --cpu-prof while it answers a run of
// events.list calls (and of recordBatch calls), self time attributed to the nearest
// package or source file on each sampled stack (Node internals count for their caller).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createVigilClient } from '../../shared/client.js';
import { makeEvents } from './ingest.js';
import { log, now, startBenchServer } from './util.js';

export interface ProfileResult {
  what: string;
  calls: number;
  /** Wall time per call, client side. */
  wallMsPerCall: number;
  /** Server CPU per call (sampled, not idle), and its split by component. */
  cpuMsPerCall: number;
  components: { name: string; msPerCall: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const COMPONENTS: [RegExp, string][] = [
  [/node_modules\/postgres\//, 'postgres.js (driver)'],
  [/node_modules\/@electric-sql\/pglite/, 'PGlite (Postgres in WASM)'],
  [/node_modules\/drizzle-orm\//, 'Drizzle ORM'],
  [/node_modules\/@trpc\//, 'tRPC'],
  [/node_modules\/(zod|@zod)\//, 'zod (validation)'],
  [/node_modules\/(pino|pino-http|sonic-boom|fast-redact|pino-std-serializers|thread-stream|@pinojs\/[^/]+|atomic-sleep)\//, 'logging (pino, pino-http, redaction)'],
  [/node_modules\/prom-client\/|server\/metrics\.ts/, 'metrics (prom-client)'],
  [/node_modules\/helmet\//, 'helmet'],
  [/node_modules\/cors\//, 'cors'],
  [/node_modules\/(express|router|body-parser|finalhandler|send|serve-static|on-finished|qs|cookie|path-to-regexp|depd|debug|accepts|negotiator|type-is|content-type|raw-body)\//, 'Express'],
  [/(server|shared)\/.*\.ts/, 'Vigil code (server/, shared/)'],
  [/node_modules\/tsx\//, 'tsx (loader)'],
];

function componentOf(url: string): string | null {
  if (!url || url.startsWith('node:')) return null;
  for (const [re, name] of COMPONENTS) if (re.test(url)) return name;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return m ? m[1]! : null;
}

function summarise(profile: CpuProfile, calls: number, skipMs: number): { cpu: number; components: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const components = new Map<string, number>();
  let elapsed = 0;
  let cpu = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    elapsed += dt;
    if (elapsed < skipMs * 1000) return; // start-up and warm-up
    const leaf = byId.get(id)!;
    const fn = leaf.callFrame.functionName;
    if (fn === '(idle)' || fn === '(program)') return;
    cpu += dt;
    let name = fn === '(garbage collector)' ? 'garbage collection' : null;
    for (let cur: number | undefined = id; !name && cur !== undefined; cur = parent.get(cur)) {
      name = componentOf(byId.get(cur)!.callFrame.url);
    }
    name ??= 'Node.js (HTTP, sockets, streams)';
    components.set(name, (components.get(name) ?? 0) + dt);
  });
  return { cpu: cpu / 1000 / calls, components: new Map([...components].map(([k, v]) => [k, v / 1000 / calls])) };
}

async function profiled(
  target: { databaseUrl?: string; dataDir?: string },
  dir: string,
  what: string,
  warm: (client: ReturnType<typeof createVigilClient>) => Promise<void>,
  run: (client: ReturnType<typeof createVigilClient>, url: string, token: string) => Promise<number>,
): Promise<ProfileResult> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const token = `vgl_bench_${randomBytes(12).toString('hex')}`;
  const server = await startBenchServer({ ...target, token, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
  const started = now();
  let calls = 0;
  let wall = 0;
  let skipMs = 0;
  try {
    const client = createVigilClient({ url: server.url, token });
    await warm(client);
    skipMs = now() - started;
    const t0 = now();
    calls = await run(client, server.url, token);
    wall = (now() - t0) / calls;
  } finally {
    await server.stop();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no CPU profile');
  const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
  // The profile starts when the process does, before the server listened: skip that too.
  const startup = profile.timeDeltas.reduce((a, b) => a + b, 0) / 1000 - (now() - started);
  const { cpu, components } = summarise(profile, calls, Math.max(0, startup) + skipMs);
  // BENCH_KEEP_PROFILE=<file> keeps the raw profile, for a look at single functions.
  if (process.env.BENCH_KEEP_PROFILE) await (await import('node:fs/promises')).copyFile(path.join(dir, file), process.env.BENCH_KEEP_PROFILE);
  await rm(dir, { recursive: true, force: true });
  const result = {
    what,
    calls,
    wallMsPerCall: wall,
    cpuMsPerCall: cpu,
    components: [...components].map(([name, msPerCall]) => ({ name, msPerCall })).sort((a, b) => b.msPerCall - a.msPerCall),
  };
  log(`profile ${what}: ${wall.toFixed(2)} ms wall, ${cpu.toFixed(2)} ms server CPU per call`);
  return result;
}

/** events.list without a filter (50 events), one client, on a read-only data set. */
export function profileList(target: { databaseUrl?: string; dataDir?: string }, workDir: string, calls: number): Promise<ProfileResult> {
  return profiled(
    target,
    path.join(workDir, 'cpu-profile'),
    'events.list, no filter, 50 events, one client',
    async (c) => {
      for (let i = 0; i < 100; i++) await c.events.list.query({ limit: 50 });
    },
    async (c) => {
      for (let i = 0; i < calls; i++) await c.events.list.query({ limit: 50 });
      return calls;
    },
  );
}

/** events.recordBatch of 1000 events from 4 clients (writes: use a scratch database). */
export function profileIngest(target: { databaseUrl?: string; dataDir?: string }, workDir: string, batches: number): Promise<ProfileResult> {
  const data = Array.from({ length: batches }, (_, i) => makeEvents(1000, 500 + i));
  return profiled(
    target,
    path.join(workDir, 'cpu-profile'),
    'events.recordBatch, 1000 events, 4 clients',
    async (c) => {
      for (let i = 0; i < 3; i++) await c.events.recordBatch.mutate({ events: makeEvents(1000, 900 + i) });
    },
    async (c, url, token) => {
      let next = 0;
      // A client per sender (a shared one would merge their calls into one request).
      await Promise.all(
        Array.from({ length: 4 }, async (_, k) => {
          const own = k === 0 ? c : createVigilClient({ url, token });
          for (let i = next++; i < data.length; i = next++) await own.events.recordBatch.mutate({ events: data[i]! });
        }),
      );
      return batches;
    },
  );
}
