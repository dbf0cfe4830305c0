// What one read found for one query (the hub's read of new events, or one subscriber's
// replay read), as it goes out to live subscribers: each event JSON-encoded once, and the
// same text written to every subscriber of that query. A read's events go out as one
// message, or as a few when they are many (a message stays under a bound, so that what
// a socket queues past its send buffer stays small). A message is tracked by its last
// event's seq; the typed client hands out its events one by one.
import type { AuditEventRow } from '../db/schema.js';
import { toAuditEvent } from './events.js';

/** A message's JSON text stops growing past this many characters (one event may pass it alone). */
export const LIVE_MESSAGE_CHARS = 64 * 1024;

/** Told how many events were encoded, each time some are (the encode metric). */
export type EncodeCounter = (events: number) => void;

export class LiveBatch {
  private quotedText: string | null = null;
  /** The batch as wire frames (liveWire.ts), built once and written to every connection that takes that form. */
  private frames: Map<string, Buffer> | null = null;

  constructor(
    /** The events (AuditEvent[]) as JSON text. */
    readonly json: string,
    readonly size: number,
    /** The seq of the last event: the id a resumed subscription continues after. */
    readonly lastSeq: number,
  ) {}

  /** tRPC writes a subscription's value with JSON.stringify (SSE): the batch goes as its text. */
  toJSON(): string {
    return this.json;
  }

  /** The text as a JSON string literal, as it sits inside a WebSocket message: quoted once. */
  quoted(): string {
    return (this.quotedText ??= JSON.stringify(this.json));
  }

  /** The frame called `key`, built by `build` the first time it is asked for. */
  frame(key: string, build: (batch: LiveBatch) => Buffer): Buffer {
    this.frames ??= new Map();
    let bytes = this.frames.get(key);
    if (!bytes) this.frames.set(key, (bytes = build(this)));
    return bytes;
  }
}

/** `rows` (in seq order) as the messages that carry them, each event encoded once. */
export function liveBatchesOf(rows: readonly AuditEventRow[], counted: EncodeCounter): LiveBatch[] {
  const batches: LiveBatch[] = [];
  let parts: string[] = [];
  let chars = 0;
  let lastSeq = 0;
  const seal = () => {
    batches.push(new LiveBatch(`[${parts.join(',')}]`, parts.length, lastSeq));
    parts = [];
    chars = 0;
  };
  for (const row of rows) {
    const part = JSON.stringify(toAuditEvent(row));
    if (parts.length && chars + part.length > LIVE_MESSAGE_CHARS) seal();
    parts.push(part);
    chars += part.length + 1;
    lastSeq = row.seq;
  }
  if (parts.length) seal();
  counted(rows.length);
  return batches;
}
