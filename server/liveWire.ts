// Live batches on the wire, as bytes built once per batch and shared by every connection
// that takes the same form (a WebSocket message for one subscription id, an SSE event):
// the bytes tRPC would have written, so clients decode them with tRPC's own decoders.
// Over WebSocket a stream's first batch goes the ordinary way, through tRPC, which tells
// the stream the message id the client subscribed under; every later batch is written
// straight to the socket, skipping tRPC's subscription loop and serialization per
// subscriber and message. Over SSE the stream is written by server/routes/liveSse.ts,
// every batch straight to the response.
import type { ServerResponse } from 'node:http';
import { jsonEncoder, type Encoder } from '@trpc/server/adapters/ws';
import type { WebSocket } from 'ws';
import type { SocketBudget } from './connectionLimits.js';
import { LiveBatch } from './services/liveBatch.js';

type MessageId = string | number | null;

/** Where one stream's batches go once tRPC has sent its first. */
export interface LiveSink {
  /** Whether batches are written straight to the connection. */
  readonly direct: boolean;
  /** Whether the client has not read enough of what it was sent: the stream waits. */
  readonly congested: boolean;
  /** Resolves once the stream may write again (or `signal` aborted). */
  drained(signal: AbortSignal): Promise<void>;
  /** tRPC is writing one of this stream's batches over WebSocket, as message `id`. */
  bind(id?: MessageId, jsonrpc?: '2.0'): void;
  send(batch: LiveBatch): void;
}

/** A batch on its way through tRPC (a WebSocket stream's first), with the stream it belongs to. */
export class LiveDelivery {
  constructor(
    readonly batch: LiveBatch,
    readonly sink: LiveSink,
  ) {}
}

const TAIL = 'null}}}';

/** tRPC's data message for a tracked batch, as JSON.stringify would write it, with the batch's text quoted once. */
function webSocketMessage(id: MessageId, jsonrpc: '2.0' | undefined, batch: LiveBatch): string {
  const tracked = String(batch.lastSeq);
  const envelope = JSON.stringify({ id, jsonrpc, result: { type: 'data', id: tracked, data: { id: tracked, data: null } } });
  return envelope.slice(0, -TAIL.length) + batch.quoted() + '}}}';
}

/** An SSE event as tRPC writes one: a field per line, a blank line after. Values here never hold a newline. */
export function sseEventText(fields: { event?: string; data: string; id?: string }): string {
  return `${fields.event !== undefined ? `event: ${fields.event}\n` : ''}data: ${fields.data}\n${fields.id !== undefined ? `id: ${fields.id}\n` : ''}\n`;
}

/** The SSE event of a tracked batch: its data and its id (what a reconnecting EventSource resumes after). */
function sseEvent(batch: LiveBatch): Buffer {
  return Buffer.from(sseEventText({ data: batch.quoted(), id: String(batch.lastSeq) }));
}

function liveItemOf(message: unknown): LiveBatch | LiveDelivery | null {
  const result = (message as { result?: { type?: string; data?: { data?: unknown } } } | null)?.result;
  const item = result?.type === 'data' ? result.data?.data : undefined;
  return item instanceof LiveBatch || item instanceof LiveDelivery ? item : null;
}

/** tRPC's JSON messages, except a live batch's: its text, quoted once for all, is spliced into the small envelope. */
export const liveWireEncoder: Encoder = {
  encode(message) {
    const item = liveItemOf(message);
    if (!item) return jsonEncoder.encode(message);
    const { id, jsonrpc } = message as { id: MessageId; jsonrpc?: '2.0' };
    if (item instanceof LiveDelivery) item.sink.bind(id, jsonrpc);
    return webSocketMessage(id, jsonrpc, item instanceof LiveDelivery ? item.batch : item);
  },
  decode: jsonEncoder.decode,
};

export class WebSocketLiveSink implements LiveSink {
  /** The frame cache's key: subscriptions under the same message id share the bytes. */
  private key: string | null = null;
  private id: MessageId = null;
  private jsonrpc: '2.0' | undefined;
  private readonly build = (batch: LiveBatch) => Buffer.from(webSocketMessage(this.id, this.jsonrpc, batch));

  constructor(
    private readonly socket: WebSocket,
    private readonly budget: SocketBudget,
  ) {}

  get direct(): boolean {
    return this.key !== null;
  }

  get congested(): boolean {
    return this.budget.congested;
  }

  drained(signal: AbortSignal): Promise<void> {
    return this.budget.drained(signal);
  }

  bind(id: MessageId = null, jsonrpc?: '2.0'): void {
    if (this.key !== null) return;
    this.id = id;
    this.jsonrpc = jsonrpc;
    this.key = `ws ${JSON.stringify([id, jsonrpc ?? null])}`;
  }

  send(batch: LiveBatch): void {
    if (this.key === null || this.socket.readyState !== this.socket.OPEN) return;
    // A text frame, as tRPC's own messages are.
    this.socket.send(batch.frame(this.key, this.build), { binary: false });
  }
}

/**
 * An SSE stream's sink (server/routes/liveSse.ts writes the stream's opening event before
 * the first batch): every batch goes straight to the response, as whole events, so that
 * nothing else written there (a ping) can fall inside one.
 */
export class SseLiveSink implements LiveSink {
  readonly direct = true;

  constructor(private readonly response: ServerResponse) {}

  get congested(): boolean {
    return this.response.writableNeedDrain;
  }

  async drained(signal: AbortSignal): Promise<void> {
    if (!this.response.writableNeedDrain || this.response.destroyed || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.response.off('drain', done).off('close', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.response.once('drain', done).once('close', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  bind(): void {}

  send(batch: LiveBatch): void {
    if (this.response.writableEnded || this.response.destroyed) return;
    this.response.write(batch.frame('sse', sseEvent));
  }
}
