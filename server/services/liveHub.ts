// Live events: one hub per server process. A NOTIFY (sent once per committed batch, by
// whichever process recorded it) wakes the hub, which reads the new events ONCE and
// hands each subscriber those matching its query: subscribers with equal queries share
// one evaluation and the same messages, each event encoded to JSON once for all of them
// (liveBatch.ts). The read takes only the fields the subscribers' queries filter on; the
// events that match (typically a few in a hundred) are then read whole by seq, so the
// hub does not build every column of every new event only to drop most of them. A new or lagging subscriber first replays from the database after its
// last event id, then joins the live set at the hub's exact position: no gap, no repeat
// (seq order is commit order). With nobody subscribed the hub reads nothing; the next
// subscriber starts it again at the head. Queues are bounded: a subscriber whose
// consumer does not keep up (a client that stops reading) is dropped back to replaying
// from the database.
import { isDatabaseUnavailable, type Database, type ListenFn } from '../db/database.js';
import {
  selectEventsAfterSeq,
  selectEventsBySeqs,
  selectFieldsAfterSeq,
  selectMaxSeq,
  type EventQuery,
} from '../db/auditEventsStore.js';
import { EVENTS_CHANNEL } from '../db/eventWriter.js';
import type { AuditEventRow } from '../db/schema.js';
import { logger } from '../logger.js';
import { keysOf, matcherOf, type MatchedRow } from './eventMatcher.js';
import { liveBatchesOf, type EncodeCounter, type LiveBatch } from './liveBatch.js';

const READ_BATCH = 1000;
/** A subscriber further behind than this goes back to replaying from the database. */
const MAX_QUEUE = 5000;
/** Safety net if a notification is ever missed (e.g. while the LISTEN connection reconnects). */
const POLL_MS = 2000;
/** A subscriber's wait before asking an unreachable database again (doubling up to the max). */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2000;

interface Subscriber {
  query: EventQuery;
  /** Subscribers with equal queries share one evaluation per event (typically everyone's default rules). */
  queryKey: string;
  matches: (row: MatchedRow) => boolean;
  /** Batches handed over but not yet taken by the consumer... */
  queue: LiveBatch[];
  /** ...and the events they hold. */
  queued: number;
  /** Set when the subscriber fell too far behind and must replay. */
  lagging: boolean;
  wake: (() => void) | null;
}

export class LiveHub {
  private position = 0;
  private readonly subscribers = new Set<Subscriber>();
  private started: Promise<void> | null = null;
  /** Nobody was subscribed at the last wake-up: `position` is stale until resumed. */
  private idle = true;
  private resuming: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private poll: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly listen: ListenFn | undefined,
    /** The safety-net poll; without LISTEN it is the only wake-up (default 250 ms). */
    private readonly pollMs: number = listen ? POLL_MS : 250,
    /** Told of every batch encoded (the app counts them in a metric). */
    private readonly encoded: EncodeCounter = () => {},
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Subscribers taking their events from the hub's reads (the others are replaying). */
  get joinedCount(): number {
    let joined = 0;
    for (const sub of this.subscribers) if (!sub.lagging) joined++;
    return joined;
  }

  /** Whether the hub reads new events (false: nobody has listened since it last looked). */
  get active(): boolean {
    return !this.idle;
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      if (this.listen) this.unlisten = await this.listen(EVENTS_CHANNEL, () => this.catchUp());
      this.poll = setInterval(() => this.catchUp(), this.pollMs);
      this.poll.unref();
    })().catch((error: unknown) => {
      // The database was down: the next subscriber starts the hub afresh (a failed start
      // kept would refuse every live subscription until the process restarted).
      this.started = null;
      throw error;
    });
    return this.started;
  }

  /**
   * After a time without subscribers, moves the hub to the head of the log (the events
   * in between were never read, and nobody was there to get them). Only while every
   * subscriber is still replaying, so none of them sees the position jump.
   */
  private resume(): Promise<void> {
    if (!this.idle) return Promise.resolve();
    this.resuming ??= (async () => {
      await this.reading;
      this.position = await selectMaxSeq(this.db);
      this.idle = false;
    })().finally(() => {
      this.resuming = null;
    });
    return this.resuming.then(() => this.catchUp());
  }

  /** Reads what is new since the hub's position and hands it out; coalesces wake-ups. */
  private catchUp(): void {
    if (this.closed || this.idle) return;
    if (this.subscribers.size === 0) {
      // Nobody listens: stop reading until someone subscribes again.
      if (!this.reading) this.idle = true;
      return;
    }
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        for (;;) {
          if (this.subscribers.size === 0) break;
          // Every subscriber's query, the replaying ones' too: they may join before this read is handed out.
          const queries = new Map<string, Subscriber['matches']>();
          const keys = new Set<keyof AuditEventRow>();
          for (const sub of this.subscribers) {
            if (queries.has(sub.queryKey)) continue;
            queries.set(sub.queryKey, sub.matches);
            for (const key of keysOf(sub.query)) keys.add(key);
          }
          const fields = await selectFieldsAfterSeq(this.db, this.position, READ_BATCH, [...keys]);
          if (fields.length === 0) break;
          const matched = new Map<string, number[]>();
          const wanted = new Set<number>();
          for (const [queryKey, matches] of queries) {
            const seqs: number[] = [];
            for (const row of fields) {
              if (!matches(row)) continue;
              seqs.push(row.seq);
              wanted.add(row.seq);
            }
            matched.set(queryKey, seqs);
          }
          const rows = await selectEventsBySeqs(this.db, [...wanted].sort((a, b) => a - b));
          this.distribute(matched, rows, fields.at(-1)!.seq);
          if (fields.length < READ_BATCH) break;
        }
      } while (this.again && !this.closed);
    })()
      .catch((err: unknown) => logger.warn({ err }, 'live hub: reading new events failed; will retry'))
      .finally(() => {
        this.reading = null;
      });
  }

  /**
   * Hands out one read: per query, the seqs it matched; the matched events; the read's last seq.
   * Synchronous: a subscriber joining between two reads sees the position move atomically.
   */
  private distribute(matched: Map<string, number[]>, rows: AuditEventRow[], lastSeq: number): void {
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    // Per query, what every subscriber of that query gets from this read.
    const batchesByQuery = new Map<string, { batches: LiveBatch[]; events: number }>();
    for (const sub of this.subscribers) {
      if (sub.lagging) continue;
      let found = batchesByQuery.get(sub.queryKey);
      if (!found) {
        const seqs = matched.get(sub.queryKey);
        if (!seqs) {
          // Subscribed and joined while this read was under way, with a query it did not
          // look at: the subscriber replays this stretch from the database instead.
          sub.lagging = true;
          sub.queue = [];
          sub.queued = 0;
          sub.wake?.();
          continue;
        }
        // An event removed (retention) between the two reads is simply gone.
        const events = seqs.flatMap((seq) => bySeq.get(seq) ?? []);
        found = { batches: events.length ? liveBatchesOf(events, this.encoded) : [], events: events.length };
        batchesByQuery.set(sub.queryKey, found);
      }
      if (found.events === 0) continue;
      sub.queue.push(...found.batches);
      sub.queued += found.events;
      if (sub.queued > MAX_QUEUE) {
        sub.lagging = true;
        sub.queue = [];
        sub.queued = 0;
      }
      sub.wake?.();
    }
    this.position = lastSeq;
  }

  /**
   * Where a stream "from now" starts: the hub's position, read from the database when the
   * hub was idle. A stream is told it has started only once this is known, so an outage
   * right after the start is replayed from here instead of silently skipped; while the
   * database is unavailable this throws (the client retries).
   */
  async currentPosition(): Promise<number> {
    await this.start();
    await this.resume();
    return this.position;
  }

  /**
   * Matching events after `afterSeq` (a stream "from now" starts at currentPosition()), in seq order, until
   * `signal` aborts, in batches: a hub read's (shared with the query's other
   * subscribers) or a replay read's.
   */
  async *subscribe(query: EventQuery, afterSeq: number, signal: AbortSignal): AsyncGenerator<LiveBatch> {
    // Registered first, replaying (skipped by distribute): a hub with a subscriber never goes idle.
    const sub: Subscriber = {
      query,
      queryKey: JSON.stringify(query),
      matches: matcherOf(query),
      queue: [],
      queued: 0,
      lagging: true,
      wake: null,
    };
    this.subscribers.add(sub);
    // One abort listener for the whole subscription (not one per wait, which would leak).
    let onAbort: (() => void) | null = null;
    const abort = () => onAbort?.();
    signal.addEventListener('abort', abort, { once: true });
    // An open stream outlives a database outage: its reads are retried (it keeps its place)
    // rather than ending it, since a client cannot tell that end from a refusal.
    const retrying = async <T>(read: () => Promise<T>): Promise<T | null> => {
      for (let waitMs = RETRY_FIRST_MS; ; waitMs = Math.min(waitMs * 2, RETRY_MAX_MS)) {
        try {
          return await read();
        } catch (error) {
          if (!isDatabaseUnavailable(error)) throw error;
          logger.warn({ err: error }, 'live hub: a subscriber cannot read the database; will retry');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, waitMs);
            onAbort = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          onAbort = null;
          if (signal.aborted || this.closed) return null;
        }
      }
    };
    try {
      if ((await retrying(() => this.start().then(() => this.resume()))) === null) return;
      let after = afterSeq;
      while (!signal.aborted && !this.closed) {
        if (sub.lagging) {
          // Replay from the database up to the hub's position, then join at that position.
          const through = this.position;
          const rows = await retrying(() => selectEventsAfterSeq(this.db, query, after, through, READ_BATCH));
          if (!rows) return;
          for (const batch of liveBatchesOf(rows, this.encoded)) {
            if (signal.aborted) return;
            after = batch.lastSeq;
            yield batch;
          }
          if (rows.length < READ_BATCH && this.position === through) {
            after = through;
            sub.queue = [];
            sub.queued = 0;
            sub.lagging = false;
          }
          continue;
        }
        const next = sub.queue.shift();
        if (next) {
          sub.queued -= next.size;
          after = next.lastSeq;
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          sub.wake = resolve;
          onAbort = resolve;
        });
        sub.wake = null;
      }
    } finally {
      signal.removeEventListener('abort', abort);
      this.subscribers.delete(sub);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    for (const sub of this.subscribers) sub.wake?.();
    await this.unlisten?.().catch(() => {});
    await this.reading;
  }
}
