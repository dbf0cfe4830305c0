// How a batch reaches each kind of sink. `send` resolves once the receiver took the batch
// (an HTTP 2xx; for syslog over TCP/TLS, the bytes written to the socket; over UDP, the
// datagrams sent) and throws a SinkSendError otherwise; the caller retries with backoff.
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { AuditEvent } from '../../shared/event.js';
import type { SinkFormat, SinkKind } from '../../shared/sinkCatalog.js';
import { ACTION_DESCRIPTIONS, AUDIT_ACTIONS } from '../../shared/vocabulary.js';
import type { SinkBatchFraming } from './sinkBatches.js';
import { jsonPayload, textPayload } from './sinkFormats.js';

export class SinkSendError extends Error {
  constructor(
    message: string,
    /** The receiver asked to wait this long (Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface SinkTarget {
  name: string;
  kind: SinkKind;
  url: string;
  format: SinkFormat;
  secret: string | null;
  caFile: string | null;
}

export interface Transport {
  send(events: AuditEvent[], batchId: string, signal?: AbortSignal): Promise<{ status?: number }>;
  /**
   * How this transport frames `vigil` and `ocsf` events when the batch is read as its wire
   * text (sendText takes it as it is); absent for the kinds and formats written here.
   */
  readonly framing?: SinkBatchFraming;
  /** Sends a batch already framed as `framing` says. */
  sendText?(body: string, batchId: string, signal?: AbortSignal): Promise<{ status?: number }>;
  /** The receiver takes a stream, not requests: a sink that is behind may send more than batchSize at once. */
  readonly streams?: boolean;
  close(): void;
}

export interface TransportOptions {
  /** How long one request (or connection and write) may take. */
  timeoutMs: number;
}

const HOSTNAME = os.hostname();

export function createTransport(target: SinkTarget, options: TransportOptions): Transport {
  switch (target.kind) {
    case 'syslog':
      return new URL(target.url).protocol === 'udp:' ? udpSyslog(target) : streamSyslog(target, options);
    case 'webhook':
    case 'splunk_hec':
    case 'datadog':
      return httpTransport(target, options);
  }
}

// ---- syslog ----------------------------------------------------------------------------

/** RFC 5424 facility 13 (log audit); severity 5 (notice) for the actions that notify, else 6 (informational). */
const syslogPri = (action: AuditEvent['action']) => 13 * 8 + (action === 'delete' || action === 'cordon' ? 5 : 6);

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME vigil PROCID MSGID - MSG`. */
export function syslogMessage(event: AuditEvent, format: SinkFormat): string {
  return `<${syslogPri(event.action)}>1 ${event.time} ${HOSTNAME} vigil ${process.pid} ${event.action} - ${textPayload(format, event)}`;
}

/** The formats a batch's wire text is written for (the same bytes as jsonPayload): `vigil` and `ocsf`; CEF is written here. */
function eventTextOf(format: SinkFormat): SinkBatchFraming['event'] | null {
  return format === 'vigil' || format === 'ocsf' ? { format } : null;
}

/** The syslog framing of a batch's wire text: the same header as syslogMessage. */
export function syslogFraming(event: SinkBatchFraming['event']): SinkBatchFraming {
  return {
    event,
    kind: 'syslog',
    hostname: HOSTNAME,
    procId: String(process.pid),
    priByAction: Object.fromEntries(AUDIT_ACTIONS.map((action) => [action, syslogPri(action)])),
  };
}

/**
 * RFC 6587 octet counting: each `MSG-LEN SP SYSLOG-MSG`, the length in bytes, one after
 * another. One string encoded once: a buffer per message costs more than the socket write.
 */
export function octetCounted(messages: readonly string[]): Buffer {
  let framed = '';
  for (const message of messages) framed += `${Buffer.byteLength(message, 'utf8')} ${message}`;
  return Buffer.from(framed, 'utf8');
}

function hostPort(url: URL, defaultPort: number): { host: string; port: number } {
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : defaultPort };
}

function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause;
  if (cause?.message) return cause.code ? `${cause.code}: ${cause.message}` : cause.message;
  return e.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e.message ?? error);
}

/** TCP (RFC 6587) and TLS (RFC 5425): one connection kept open, opened again after any error. */
function streamSyslog(target: SinkTarget, options: TransportOptions): Transport {
  const url = new URL(target.url);
  const secure = url.protocol === 'tls:';
  const { host, port } = hostPort(url, secure ? 6514 : 514);
  let socket: net.Socket | null = null;

  const drop = () => {
    socket?.destroy();
    socket = null;
  };

  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = secure
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(target.caFile ? { ca: readFileSync(target.caFile) } : {}) })
        : net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SinkSendError(`connecting to ${host}:${port} timed out after ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      s.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.setKeepAlive(true, 30_000);
        resolve(s);
      });
      s.once('error', (error) => {
        clearTimeout(timer);
        reject(new SinkSendError(errorText(error)));
      });
      // A receiver that closes the connection: the next batch opens a new one.
      s.on('close', () => {
        if (socket === s) socket = null;
      });
      s.on('error', () => {
        if (socket === s) socket = null;
      });
      // Syslog receivers send nothing back; anything they do is read and dropped.
      s.on('data', () => {});
    });

  const event = eventTextOf(target.format);
  /** The whole batch in one write. */
  const write = async (bytes: Buffer | string) => {
    if (!socket) socket = await connect();
    const s = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        drop();
        reject(new SinkSendError(`writing to ${host}:${port} timed out after ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      s.write(bytes, (error) => {
        clearTimeout(timer);
        if (error) {
          drop();
          reject(new SinkSendError(errorText(error)));
        } else resolve();
      });
    });
    return {};
  };

  return {
    send: (events) => write(octetCounted(events.map((e) => syslogMessage(e, target.format)))),
    ...(event ? { framing: syslogFraming(event), sendText: (body: string) => write(body) } : {}),
    streams: true,
    close: drop,
  };
}

/** UDP: one datagram per message, no framing; nothing says it arrived. */
function udpSyslog(target: SinkTarget): Transport {
  const url = new URL(target.url);
  const { host, port } = hostPort(url, 514);
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.unref();
  return {
    async send(events) {
      for (const event of events) {
        const message = Buffer.from(syslogMessage(event, target.format), 'utf8');
        await new Promise<void>((resolve, reject) =>
          socket.send(message, port, host, (error) => (error ? reject(new SinkSendError(errorText(error))) : resolve())),
        );
      }
      return {};
    },
    close: () => socket.close(),
  };
}

// ---- HTTP kinds ------------------------------------------------------------------------

/** `x-vigil-signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function webhookSignature(secret: string, body: string | Uint8Array, unixSeconds: number): string {
  // Two updates: no copy of a large body.
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Splunk HEC's event endpoint under the URL given (unless the URL already names it). */
export function splunkEventUrl(url: string): string {
  const base = url.replace(/\/+$/, '');
  return base.endsWith('/services/collector/event') ? base : `${base}/services/collector/event`;
}

/** A one-line summary for Datadog's `message`. */
const summaryOf = (e: AuditEvent) => `${e.actor?.username ?? 'system'} ${e.action} ${e.resourceType} ${e.resourceTarget}`;

interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer>;
}

/** A webhook's POST of an NDJSON body, signed. */
function webhookRequest(target: SinkTarget, text: string, batchId: string): HttpRequest {
  const t = Math.floor(Date.now() / 1000);
  // Encoded once, for the signature and the request both (each encoded a string of its own).
  const body = Buffer.from(text, 'utf8');
  return {
    url: target.url,
    headers: { 'content-type': 'application/x-ndjson', 'x-vigil-delivery': batchId, 'x-vigil-signature': webhookSignature(target.secret ?? '', body, t) },
    body,
  };
}

/** The request each HTTP kind makes of a batch. */
function httpRequestOf(target: SinkTarget, events: AuditEvent[], batchId: string): HttpRequest {
  const format = target.format === 'cef' ? 'vigil' : target.format;
  const secret = target.secret ?? '';
  switch (target.kind) {
    case 'webhook':
      return webhookRequest(target, events.map((e) => `${JSON.stringify(jsonPayload(format, e))}\n`).join(''), batchId);
    case 'splunk_hec': {
      const body = events
        .map((e) =>
          JSON.stringify({ time: Date.parse(e.time) / 1000, host: HOSTNAME, source: 'vigil', sourcetype: 'vigil:audit', event: jsonPayload(format, e) }),
        )
        .join('\n');
      return { url: splunkEventUrl(target.url), headers: { 'content-type': 'application/json', authorization: `Splunk ${secret}` }, body };
    }
    case 'datadog': {
      const body = JSON.stringify(
        events.map((e) => ({
          ddsource: 'vigil',
          ddtags: `action:${e.action},resource_type:${e.resourceType}`,
          hostname: HOSTNAME,
          service: 'vigil',
          message: summaryOf(e),
          title: ACTION_DESCRIPTIONS[e.action],
          timestamp: Date.parse(e.time),
          [format]: jsonPayload(format, e),
        })),
      );
      return { url: target.url, headers: { 'content-type': 'application/json', 'dd-api-key': secret }, body };
    }
    default:
      throw new Error(`${target.kind} is not an HTTP kind`);
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function httpTransport(target: SinkTarget, options: TransportOptions): Transport {
  const post = async (request: HttpRequest, signal: AbortSignal | undefined) => {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: 'POST',
        headers: { 'user-agent': 'vigil-sink/1', ...request.headers },
        body: request.body,
        redirect: 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (timeout.aborted) throw new SinkSendError(`no answer within ${options.timeoutMs} ms`);
      throw new SinkSendError(errorText(error));
    }
    // Read (and bound) the answer either way, so the connection can be reused.
    const text = await response.text().catch(() => '');
    if (response.ok) return { status: response.status };
    throw new SinkSendError(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`, retryAfterMs(response.headers.get('retry-after')));
  };
  const event = target.kind === 'webhook' ? eventTextOf(target.format) : null;
  return {
    send: (events, batchId, signal) => post(httpRequestOf(target, events, batchId), signal),
    ...(event
      ? { framing: { kind: 'ndjson', event } satisfies SinkBatchFraming, sendText: (body: string, batchId: string, signal?: AbortSignal) => post(webhookRequest(target, body, batchId), signal) }
      : {}),
    close() {},
  };
}
