// Small helpers the benchmark shares: timing, percentiles, formatting, child servers.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  return { n: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max: Math.max(...samples) };
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times (stopping early past `budgetMs`, after `minRuns`). */
export async function measure(
  fn: () => Promise<unknown>,
  opts: { warmup: number; runs: number; budgetMs?: number; minRuns?: number },
): Promise<Summary> {
  for (let i = 0; i < opts.warmup; i++) await fn();
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

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts test/bench/server.ts as a child process on a free port. */
export async function startBenchServer(env: { databaseUrl?: string; dataDir?: string; token: string; pool?: number }): Promise<BenchServer> {
  const child = fork(path.join(BENCH_DIR, 'server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      BENCH_TOKEN: env.token,
      BENCH_DATABASE_URL: env.databaseUrl ?? '',
      BENCH_DATA_DIR: env.dataDir ?? '',
      BENCH_POOL: String(env.pool ?? 10),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
