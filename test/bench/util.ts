// Small helpers the benchmark shares: timing, percentiles, formatting, child servers.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/ports.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '../..');

export function now(): number {
  return performance.now();
}

/** Nearest-rank percentile of samples (ms). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  // A loop, not Math.max(...samples): a live benchmark collects more samples than a call's arguments can hold.
  const max = samples.reduce((m, v) => (v > m ? v : m), Number.NEGATIVE_INFINITY);
  return { n: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max };
}

/**
 * Runs `fn` `warmup` times unmeasured (at most ~1 s of it), then `runs` times, stopping
 * early once past `budgetMs` with at least `minRuns` samples.
 */
export async function measure(
  fn: () => Promise<unknown>,
  opts: { warmup: number; runs: number; budgetMs?: number; minRuns?: number },
): Promise<Summary> {
  const warmStart = now();
  for (let i = 0; i < opts.warmup; i++) {
    await fn();
    if (now() - warmStart > 1000) break;
  }
  const samples: number[] = [];
  const started = now();
  for (let i = 0; i < opts.runs; i++) {
    const t0 = now();
    await fn();
    samples.push(now() - t0);
    if (opts.budgetMs !== undefined && now() - started > opts.budgetMs && samples.length >= (opts.minRuns ?? 1)) break;
  }
  return summarize(samples);
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function ratio(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `${value.toFixed(0)}x`;
  if (value >= 10) return `${value.toFixed(1)}x`;
  return `${value.toFixed(2)}x`;
}

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${message}\n`);
}

// Server processes this benchmark started; stopped if the benchmark itself is stopped.
const children = new Set<ChildProcess>();
let cleanupInstalled = false;
function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGTERM');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of children) c.kill('SIGTERM');
      process.exit(130);
    });
  }
}

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the real server binary (server/main.ts, as `npm start` runs it) as a child
 * process, configured only through its environment, and waits for /healthz.
 */
export async function startBenchServer(env: {
  databaseUrl?: string;
  dataDir?: string;
  token: string;
  logLevel?: string;
  /** Extra Node flags for the server process (e.g. --cpu-prof). */
  nodeFlags?: string[];
}): Promise<BenchServer> {
  const port = await freePort();
  // The server's stdout (a JSON log line per request and per stored event) goes to a
  // file, as to a log shipper's file: a pipe drained by this busy process would fill and
  // block the server's synchronous log writes (pino waits in atomic-sleep), measuring
  // the harness instead of the server. Deleted when the server stops.
  const logFile = path.join(REPO_ROOT, '.bench-data', `server-${port}.log`);
  await mkdir(path.dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'w');
  const child = fork(path.join(REPO_ROOT, 'server/main.ts'), [], {
    execArgv: ['--import', 'tsx', ...(env.nodeFlags ?? [])],
    cwd: REPO_ROOT,
    stdio: ['ignore', logFd, 'inherit', 'ipc'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: env.databaseUrl ?? '',
      // With Postgres the data directory only holds server state (e.g. a signing key).
      VIGIL_DATA_DIR: env.dataDir ?? path.join(REPO_ROOT, '.bench-data', 'server-state'),
      VIGIL_ADMIN_TOKEN: env.token,
      VIGIL_ADMIN_PASSWORD: `bench-${env.token}`,
      // No scheduled background work during measurements.
      VIGIL_CHECKPOINT_MINUTES: '0',
      VIGIL_RETENTION_DAYS: '',
      // The server's own default (info: a request log line per call and an audit_log
      // line per stored event) unless asked otherwise.
      LOG_LEVEL: env.logLevel ?? process.env.LOG_LEVEL ?? '',
    },
  });
  closeSync(logFd);
  trackChild(child);
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
    if (code !== 0 && code !== null) process.stderr.write(`[bench] the server exited with ${code}:\n${tail()}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`the server exited with ${exited} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the server did not become ready within 120 s');
    }
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
      rmSync(logFile, { force: true });
    },
  };
}

/** The 1-minute load average: other work on this 2-core machine skews every figure. */
export function loadAverage(): number {
  return os.loadavg()[0]!;
}

async function cpuTimes(): Promise<{ idle: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** The fraction of CPU time idle over the next `ms` milliseconds (all cores). */
export async function idleFraction(ms = 500): Promise<number> {
  try {
    const a = await cpuTimes();
    await new Promise((r) => setTimeout(r, ms));
    const b = await cpuTimes();
    return b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
  } catch {
    return 1; // no /proc: assume quiet
  }
}

export interface QuietState {
  /** Idle fraction when the measurement started. */
  idle: number;
  waitedMs: number;
}

/**
 * Waits (up to `maxWaitMs`) until the machine is mostly idle while nothing of ours runs,
 * so other work on the 2 cores (test suites, builds) skews the figures less.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.85): Promise<QuietState> {
  const started = now();
  const limit = Math.min(maxWaitMs, quietBudgetMs);
  let idle = await idleFraction();
  while (idle < threshold && now() - started < limit) {
    await new Promise((r) => setTimeout(r, 1000));
    idle = await idleFraction();
  }
  const waitedMs = now() - started;
  quietBudgetMs = Math.max(0, quietBudgetMs - waitedMs);
  return { idle, waitedMs };
}

/** The total time all waitForQuiet calls of a run may spend waiting. */
let quietBudgetMs = Infinity;
export function setQuietBudget(ms: number): void {
  quietBudgetMs = ms;
}

/** A process's resident memory (MB), from /proc. */
export async function rssMb(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** A fresh, empty database `name` on the admin URL's server; `drop()` removes it again. */
export async function freshDatabase(adminUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (NaN if unknown). */
export function processCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** The same for one thread of a process (the main thread's id is the process's). */
export function threadCpuMs(pid: number, tid: number): number {
  return statCpuMs(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuMs(file: string): number {
  try {
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ... utime(11) stime(12), in clock ticks (100 per second here).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
