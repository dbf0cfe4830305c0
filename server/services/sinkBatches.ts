// How a sink reads a batch: for the `vigil` and `ocsf` formats on a transport that frames
// them (webhook NDJSON, TCP/TLS syslog), as the wire text itself, each event's listed JSON
// built by Postgres (OCSF written here from it: server/services/ocsfText.ts), so the server
// decodes no row; otherwise as events, formatted by the transport. Both give the same bytes
// (test/integration/sinkBatchText.test.ts).
//
// Sinks of the same filter share their reads, whatever their format: the texts of the
// events read last stay in a window (per filter) that the next read of any of those sinks
// is served from, so sinks near the same cursor (the usual case once caught up: a syslog, a
// webhook and an OCSF webhook) cost Postgres one read, not three. Events are never changed
// once stored, and a sink only reads above its own cursor, which retention keeps: what the
// window holds is what a read would answer.
import type { AuditEvent } from '../../shared/event.js';
import type { Database } from '../db/database.js';
import { selectEventsAfterSeq, selectEventsBySeq, selectSinkEventTexts, type EventQuery, type SinkEventText } from '../db/auditEventsStore.js';
import { toAuditEvent } from './events.js';
import { ocsfTextOf } from './ocsfText.js';

/** How a sink writes each event (its JSON text: the listed event, or OCSF) and frames it in a batch. */
export type SinkBatchFraming = { event: { format: 'vigil' } | { format: 'ocsf' } } & (
  | { kind: 'ndjson' }
  /** RFC 5424 messages `<PRI>1 TIME HOSTNAME vigil PROCID MSGID - MSG`, each preceded by its length in bytes (RFC 6587). */
  | { kind: 'syslog'; hostname: string; procId: string; priByAction: Readonly<Record<string, number>> }
);

export interface SinkBatch {
  /** How many events were asked for: a batch this size is full (more may wait). */
  limit: number;
  count: number;
  /** The last event's seq (0 when empty). */
  lastSeq: number;
  /** When the oldest event was recorded (epoch ms; null when empty). */
  oldestRecordedAtMs: number | null;
  /** The batch as the transport's framing writes it, or its events. */
  payload: { text: string } | { events: AuditEvent[] };
}

export interface SinkReadRange {
  afterSeq: number;
  throughSeq: number;
  limit: number;
}

/** An event's listed JSON text, where Postgres left it to JavaScript written here (the same bytes). */
type WrittenText = SinkEventText & { json: string };

/** Events whose JSON Postgres did not write, written here (in place). */
async function writeTheRestInJs(db: Database, texts: SinkEventText[]): Promise<WrittenText[]> {
  const missing = texts.filter((t) => t.json === null).map((t) => t.seq);
  if (missing.length > 0) {
    const rows = await selectEventsBySeq(db, missing);
    if (rows.length !== missing.length) throw new Error(`a sink batch could not be assembled (${rows.length} of ${missing.length} events written in JavaScript found)`);
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const text of texts) {
      if (text.json !== null) continue;
      const json = JSON.stringify(toAuditEvent(bySeq.get(text.seq)!));
      text.json = json;
      text.bytes = Buffer.byteLength(json, 'utf8');
    }
  }
  return texts as WrittenText[];
}

/** The texts of an OCSF sink: each event's OCSF JSON, written from its listed JSON (jsonPayload's bytes). */
function asOcsf(texts: readonly WrittenText[], from: number, to: number): WrittenText[] {
  const out: WrittenText[] = [];
  for (let i = from; i < to; i++) {
    const t = texts[i]!;
    const json = ocsfTextOf(t.json);
    out.push({ seq: t.seq, recordedAtMs: t.recordedAtMs, action: t.action, time: t.time, json, bytes: Buffer.byteLength(json, 'utf8') });
  }
  return out;
}

/** Writes events' texts as one framing frames them on the wire. */
type Framer = (texts: readonly WrittenText[], from: number, to: number) => string;

function framerOf(framing: SinkBatchFraming): Framer {
  if (framing.kind === 'ndjson') {
    return (texts, from, to) => {
      let body = '';
      for (let i = from; i < to; i++) body += `${texts[i]!.json}\n`;
      return body;
    };
  }
  // RFC 5424 `<PRI>1 TIME HOSTNAME vigil PROCID MSGID - MSG`, preceded by its length in
  // bytes (RFC 6587): the header's parts around the time by action, their lengths once.
  const heads = new Map<string, { before: string; after: string; bytes: number }>();
  for (const [action, pri] of Object.entries(framing.priByAction)) {
    const before = `<${pri}>1 `;
    const after = ` ${framing.hostname} vigil ${framing.procId} ${action} - `;
    heads.set(action, { before, after, bytes: Buffer.byteLength(before + after, 'utf8') });
  }
  return (texts, from, to) => {
    let body = '';
    for (let i = from; i < to; i++) {
      const t = texts[i]!;
      const head = heads.get(t.action);
      if (!head) throw new Error(`no syslog priority for action ${JSON.stringify(t.action)}`);
      // The time is ASCII: its length is its length in bytes.
      body += `${head.bytes + t.time.length + t.bytes} ${head.before}${t.time}${head.after}${t.json}`;
    }
    return body;
  };
}

/** The texts of one filter read last: every matching event in (start, end], in seq order. */
interface TextWindow {
  start: number;
  end: number;
  texts: WrittenText[];
  /** Reads of this window one at a time: a second sink waits for the first's read and is served from it. */
  queue: Promise<unknown>;
}

export interface SinkBatchReaderOptions {
  /** The most event texts a window keeps (per filter); the oldest go first. */
  windowEvents?: number;
  /** A read past the window without an upper bound (a sink that is behind) asks for at least this many events. */
  readAheadEvents?: number;
}

export const SINK_BATCH_READER_DEFAULTS = { windowEvents: 30_000, readAheadEvents: 2000 } as const;

/** First index in `texts` (seq order) whose seq is above `seq`. */
function indexAfter(texts: readonly WrittenText[], seq: number): number {
  let lo = 0;
  let hi = texts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (texts[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Reads sinks' batches, sharing reads between sinks of the same filter. One per
 * SinkDelivery (the windows live as long as it does).
 */
export class SinkBatchReader {
  private readonly windows = new Map<string, TextWindow>();
  private readonly framers = new WeakMap<SinkBatchFraming, Framer>();
  private readonly settings: Required<SinkBatchReaderOptions>;

  constructor(
    private readonly db: Database,
    options: SinkBatchReaderOptions = {},
  ) {
    this.settings = { ...SINK_BATCH_READER_DEFAULTS, ...options };
  }

  /** What sinks share a window by: their filter (relative times resolved). */
  static keyOf(query: EventQuery, framing: SinkBatchFraming | undefined): string | null {
    return framing ? JSON.stringify(query) : null;
  }

  /** Drops the windows no sink reads any more. */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const key of this.windows.keys()) if (!keys.has(key)) this.windows.delete(key);
  }

  /** The matching events above `afterSeq` (at most `throughSeq`), up to `limit`, in seq order. */
  async read(query: EventQuery, range: SinkReadRange, framing: SinkBatchFraming | undefined): Promise<SinkBatch> {
    const { afterSeq, throughSeq, limit } = range;
    if (!framing) {
      const rows = await selectEventsAfterSeq(this.db, query, afterSeq, throughSeq, limit);
      return {
        limit,
        count: rows.length,
        lastSeq: rows.at(-1)?.seq ?? 0,
        oldestRecordedAtMs: rows.length ? rows[0]!.recordedAt.getTime() : null,
        payload: { events: rows.map(toAuditEvent) },
      };
    }
    const key = SinkBatchReader.keyOf(query, framing)!;
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = { start: 0, end: -1, texts: [], queue: Promise.resolve() }));
    const w = window;
    const result = w.queue.then(() => this.readThrough(w, query, range));
    w.queue = result.catch(() => {});
    const read = await result;
    const { texts, from, to } = framing.event.format === 'ocsf' ? { texts: asOcsf(read.texts, read.from, read.to), from: 0, to: read.to - read.from } : read;
    let framer = this.framers.get(framing);
    if (!framer) this.framers.set(framing, (framer = framerOf(framing)));
    return {
      limit,
      count: to - from,
      lastSeq: to > from ? texts[to - 1]!.seq : 0,
      oldestRecordedAtMs: to > from ? texts[from]!.recordedAtMs : null,
      payload: { text: framer(texts, from, to) },
    };
  }

  /** The texts answering `range` (texts[from..to)), from the window where it holds them, reading what it does not. */
  private async readThrough(w: TextWindow, query: EventQuery, range: SinkReadRange): Promise<{ texts: WrittenText[]; from: number; to: number }> {
    const { afterSeq, throughSeq, limit } = range;
    if (afterSeq < w.start) {
      // Behind the window (a sink catching up, or one the window moved past): read alone.
      const texts = await writeTheRestInJs(this.db, await selectSinkEventTexts(this.db, query, afterSeq, throughSeq, limit));
      return { texts, from: 0, to: texts.length };
    }
    if (afterSeq > w.end) {
      // Past it: the window starts again here.
      w.start = w.end = afterSeq;
      w.texts = [];
    }
    const serve = () => {
      const from = indexAfter(w.texts, afterSeq);
      let to = from;
      while (to < w.texts.length && to - from < limit && w.texts[to]!.seq <= throughSeq) to++;
      return { texts: w.texts, from, to };
    };
    const held = serve();
    // Full, or every event through throughSeq known: answered.
    if (held.to - held.from === limit || w.end >= throughSeq) return held;
    // Otherwise one read after the window's end answers it: full (then the window holds
    // `limit` events after afterSeq), or every event there is now.
    await this.extend(w, query, afterSeq, throughSeq, limit - (held.to - held.from));
    return serve();
  }

  /** Reads the events after the window's end into it: up to `wanted` (more for a sink that is behind: no upper bound). */
  private async extend(w: TextWindow, query: EventQuery, afterSeq: number, throughSeq: number, wanted: number): Promise<void> {
    const unbounded = throughSeq === Number.MAX_SAFE_INTEGER;
    const asked = unbounded ? Math.max(wanted, this.settings.readAheadEvents) : wanted;
    const texts = await writeTheRestInJs(this.db, await selectSinkEventTexts(this.db, query, w.end, throughSeq, asked));
    for (const t of texts) w.texts.push(t);
    // Everything matching through throughSeq is read unless the read was full; without an
    // upper bound, through the last event read (seq order is commit order: nothing below
    // it can still appear).
    const through = texts.length === asked || unbounded ? (texts.at(-1)?.seq ?? w.end) : throughSeq;
    w.end = Math.max(w.end, through);
    // The oldest go first, never those this read answers with.
    const excess = Math.min(w.texts.length - this.settings.windowEvents, indexAfter(w.texts, afterSeq));
    if (excess > 0) {
      w.start = w.texts[excess - 1]!.seq;
      w.texts = w.texts.slice(excess);
    }
  }
}
