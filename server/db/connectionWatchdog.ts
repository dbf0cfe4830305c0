// Sockets for postgres.js that notice a connection which stopped answering. A network path
// that silently loses bytes (a dropped NAT entry, a stalled proxy, a peer gone without a
// FIN) leaves the kernel's TCP retransmitting for ~15 minutes, and postgres.js waits as
// long. Here a connection that owes Postgres's answer (a query was sent, its
// ReadyForQuery has not come) and has received nothing for `answerTimeoutMs` is destroyed:
// its queries fail with ETIMEDOUT (a retryable 503) and postgres.js opens a new one.
// Postgres's own statement_timeout answers every healthy query sooner than that.
import net from 'node:net';

export interface WatchdogOptions {
  /** A connection owing an answer and silent for this long is dropped. */
  answerTimeoutMs: number;
  /** TCP keep-alive: first probe after this much idleness (keeps NAT entries, finds dead peers). */
  keepAliveMs: number;
}

/** What postgres.js hands a custom socket factory (its parsed options). */
interface PostgresSocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
  ssl?: unknown;
}

/**
 * Counts protocol messages by type in a byte stream (type byte, int32 length including
 * itself, body), whatever the chunking. `untypedFirst`: the stream starts with a message
 * without a type byte (the client's StartupMessage), reported as type 0.
 */
class MessageCounter {
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private skip = 0;

  constructor(
    private untypedFirst: boolean,
    private readonly onMessage: (type: number, length: number) => void,
  ) {}

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const headerSize = this.untypedFirst ? 4 : 5;
      const n = Math.min(headerSize - this.headerBytes, chunk.length - i);
      this.header.set(chunk.subarray(i, i + n), this.headerBytes);
      this.headerBytes += n;
      i += n;
      if (this.headerBytes < headerSize) continue;
      this.headerBytes = 0;
      const type = this.untypedFirst ? 0 : this.header[0]!;
      const length = this.header.readInt32BE(this.untypedFirst ? 0 : 1);
      this.untypedFirst = false;
      this.skip = Math.max(0, length - 4);
      this.onMessage(type, length);
    }
  }
}

const code = (c: string) => c.charCodeAt(0);
/** Client messages each answered by one ReadyForQuery: Sync (extended protocol), Query (simple). */
const ANSWERED = new Set([code('S'), code('Q')]);
const READY_FOR_QUERY = code('Z');
const COPY_IN_RESPONSE = code('G');
const COPY_ENDS = new Set([code('c'), code('f')]);
/** A CancelRequest's length: sent alone on a connection the server closes without answering. */
const CANCEL_REQUEST_LENGTH = 16;

/**
 * A postgres.js `socket` option. Over TLS postgres.js moves the socket under its own TLS
 * stream (dropping our listeners) and the bytes cannot be read: there only keep-alive and
 * Postgres's timeouts apply.
 */
export function watchedSockets(options: WatchdogOptions) {
  let next = 0;
  return (pg: PostgresSocketOptions): net.Socket => {
    const socket = pg.path
      ? net.connect(pg.path)
      : (() => {
          const i = next++ % pg.host.length;
          return net.connect(pg.port[i] ?? pg.port[0]!, pg.host[i]!);
        })();
    socket.setKeepAlive(true, options.keepAliveMs);
    if (!pg.ssl) watch(socket, options.answerTimeoutMs);
    return socket;
  };
}

function watch(socket: net.Socket, answerTimeoutMs: number): void {
  // Owed: ReadyForQuery messages (one per Sync or Query sent), and an answer to anything
  // written since the last bytes came (a Parse/Describe/Flush is answered without one).
  let owed = 0;
  let unansweredSince: number | null = null;
  let copying = false;
  let lastHeard = Date.now();
  const startWaiting = () => {
    if (owed === 0) lastHeard = Date.now();
  };

  const sent = new MessageCounter(true, (type, length) => {
    if (type === 0 && length !== CANCEL_REQUEST_LENGTH) {
      startWaiting();
      owed++;
    } else if (ANSWERED.has(type)) {
      startWaiting();
      owed++;
    } else if (COPY_ENDS.has(type)) {
      copying = false;
      lastHeard = Date.now();
    }
  });
  const received = new MessageCounter(false, (type) => {
    if (type === READY_FOR_QUERY) owed = Math.max(0, owed - 1);
    else if (type === COPY_IN_RESPONSE) copying = true;
  });

  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    const [chunk] = args;
    if (chunk instanceof Uint8Array) sent.feed(chunk);
    unansweredSince ??= Date.now();
    return write(...args);
  }) as typeof socket.write;
  socket.on('data', (chunk: Buffer) => {
    lastHeard = Date.now();
    unansweredSince = null;
    received.feed(chunk);
  });

  const check = setInterval(() => {
    const now = Date.now();
    const silent = (unansweredSince !== null && now - unansweredSince > answerTimeoutMs) || (owed > 0 && now - lastHeard > answerTimeoutMs);
    if (silent && !copying) {
      clearInterval(check);
      const error = Object.assign(new Error(`database connection: no answer for ${answerTimeoutMs} ms; dropped it`), { code: 'ETIMEDOUT' });
      socket.destroy(error);
    }
  }, Math.max(50, Math.min(1000, answerTimeoutMs / 4)));
  check.unref();
  socket.once('close', () => clearInterval(check));
}
