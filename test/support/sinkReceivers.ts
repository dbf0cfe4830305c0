// Receivers that sinks deliver to in tests: an HTTP server that records every request and
// answers from a plan (fail the first ones with 500, 429 or a stall), and rsyslog.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { eventually } from './waiting.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What the receiver answered: a status, or 'stall' (no answer). */
  answer: number | 'stall';
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** The requests answered 2xx. */
  accepted(): ReceivedRequest[];
  /** Answers for the next requests, in order (then 200): a status or 'stall'. */
  plan: (number | 'stall')[];
  /** Answers every request with this until changed (after the plan); null: 200. */
  always: number | null;
  /** Waits this long before answering (a slow SIEM: delivery is in flight longer). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startHttpReceiver(port = 0): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const stalled: http.ServerResponse[] = [];
  const receiver: HttpReceiver = {
    url: '',
    requests,
    accepted: () => requests.filter((r) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300),
    plan: [],
    always: null,
    delayMs: 0,
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = receiver.plan.shift() ?? receiver.always ?? 200;
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answer });
      if (answer === 'stall') {
        stalled.push(res);
        return;
      }
      const respond = () => {
        res.writeHead(answer, { 'content-type': 'application/json', ...(answer === 429 ? { 'retry-after': '0' } : {}) });
        res.end(answer < 300 ? '{"ok":true}' : '{"error":"try later"}');
      };
      if (receiver.delayMs > 0) setTimeout(respond, receiver.delayMs);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

const run = promisify(execFile);

export interface Rsyslog {
  /** Where its TCP (imptcp), TLS (imtcp + gtls) and UDP inputs listen. */
  tcpPort: number;
  tlsPort: number;
  udpPort: number;
  /** The CA certificate that signed the TLS input's certificate (for caFile). */
  caFile: string;
  /** The lines rsyslog wrote: `APP-NAME|MSGID|PROCID|structured MSG`, one per message. */
  lines(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real rsyslog with its own configuration, work directory and pid file, receiving RFC
 * 5424 over TCP (octet counting), TLS (RFC 5425, certificate made with openssl now) and
 * UDP, and writing each message's parsed fields to a file.
 */
export async function startRsyslog(): Promise<Rsyslog> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-rsyslog-'));
  const [tcpPort, tlsPort, udpPort] = [await freePort(), await freePort(), await freePort()];
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.pem');
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.pem');
  const ext = path.join(dir, 'server.ext');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '1', '-subj', '/CN=Vigil test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  await writeFile(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  const output = path.join(dir, 'received.log');
  const conf = path.join(dir, 'rsyslog.conf');
  await writeFile(
    conf,
    `global(workDirectory="${dir}" maxMessageSize="256k"
  defaultNetstreamDriverCAFile="${caFile}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
module(load="imptcp")
module(load="imudp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="fields" type="string" string="%APP-NAME%|%MSGID%|%PROCID%|%PRI%|%msg%\\n")
ruleset(name="vigil") { action(type="omfile" file="${output}" template="fields" flushInterval="1" asyncWriting="off") }
input(type="imptcp" port="${tcpPort}" address="127.0.0.1" ruleset="vigil" supportOctetCountedFraming="on")
input(type="imtcp" port="${tlsPort}" address="127.0.0.1" ruleset="vigil")
input(type="imudp" port="${udpPort}" address="127.0.0.1" ruleset="vigil")
`,
  );
  const pidFile = path.join(dir, 'rsyslogd.pid');
  const child: ChildProcess = spawn('/usr/sbin/rsyslogd', ['-n', '-f', conf, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const listening = async (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited with ${child.exitCode}: ${log}`);
    return (await listening(tcpPort)) && (await listening(tlsPort));
  }, `rsyslogd listening (${log})`);
  return {
    tcpPort,
    tlsPort,
    udpPort,
    caFile,
    async lines() {
      const text = await readFile(output, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
