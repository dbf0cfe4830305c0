// A Vigil server in its own process (`tsx server/main.ts`), as an operator runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ChildServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-child-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { ...process.env, PORT: '0', VIGIL_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const fixedPort = env.PORT && env.PORT !== '0' ? env.PORT : null;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    if (fixedPort) {
      // A known port: ready when /healthz answers (whatever the log level).
      const poll = async () => {
        const ok = await fetch(`http://127.0.0.1:${fixedPort}/healthz`).then((r) => r.ok, () => false);
        if (ok) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${fixedPort}`);
        } else if (child.exitCode === null) setTimeout(() => void poll(), 100);
      };
      void poll();
    }
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
