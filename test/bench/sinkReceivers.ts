// The sinks benchmark's receivers, in a process of their own, as a SIEM is elsewhere: a
// TCP receiver that counts bytes and an HTTP receiver that answers every POST with 200.
// In the benchmark's process they took turns with the ingest they were measured against.
// Started by receiversProcess(); talks over IPC: it sends its ports once listening, and
// answers { until: n } once n bytes reached the TCP receiver since { reset }.
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './util.js';

type Command = { reset: true } | { until: number; ask: number };
type Reply = { ports: { tcp: number; http: number } } | { reached: number };

export interface Receivers {
  tcpPort: number;
  hookUrl: string;
  reset(): void;
  /** Resolves once `bytes` reached the TCP receiver since the last reset. */
  until(bytes: number): Promise<void>;
  /** The receivers' process's CPU time so far (ms). */
  cpuMs(): number;
  close(): Promise<void>;
}

export async function receiversProcess(): Promise<Receivers> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<{ tcp: number; http: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: Reply) => ('ports' in m ? resolve(m.ports) : reject(new Error('receivers: unexpected first message'))));
  });
  const waiting = new Map<number, () => void>();
  let asks = 0;
  child.on('message', (m: Reply) => {
    if ('reached' in m) {
      waiting.get(m.reached)?.();
      waiting.delete(m.reached);
    }
  });
  return {
    tcpPort: ports.tcp,
    hookUrl: `http://127.0.0.1:${ports.http}/hook`,
    reset: () => child.send({ reset: true } satisfies Command),
    until: (bytes) =>
      new Promise<void>((resolve) => {
        const ask = ++asks;
        waiting.set(ask, resolve);
        child.send({ until: bytes, ask } satisfies Command);
      }),
    cpuMs: () => processCpuMs(child.pid!),
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

async function serve(): Promise<void> {
  let bytes = 0;
  let waiter: { n: number; ask: number } | null = null;
  const reached = () => {
    if (waiter && bytes >= waiter.n) {
      process.send!({ reached: waiter.ask } satisfies Reply);
      waiter = null;
    }
  };
  const tcp = net.createServer((s) =>
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      reached();
    }),
  );
  const hook = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  hook.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  process.on('message', (m: Command) => {
    if ('reset' in m) bytes = 0;
    else {
      waiter = { n: m.until, ask: m.ask };
      reached();
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ports: { tcp: (tcp.address() as AddressInfo).port, http: (hook.address() as AddressInfo).port } } satisfies Reply);
}

if (process.argv.includes('--serve')) await serve();
