// Delivery of the audit trail to sinks: at least once, in seq order, from each sink's
// durable cursor (the events table is the buffer; nothing waits only in memory).
//
// Every process runs one SinkDelivery. Each poll it takes the lease of every sink nobody
// holds (or whose holder stopped renewing it: a process that died) and runs one worker per
// sink it holds. A worker reads the events after the cursor (a batch: batchSize events,
// or fewer once the oldest has waited flushMs), sends them, and only then moves the cursor,
// fenced by the lease: a process that lost its lease cannot move the cursor of the one
// that took over. After a crash the batch in flight is sent again (event ids let receivers
// drop the duplicate). Failures are retried with exponential backoff and jitter. Workers
// are independent async loops that only read the events table: a slow or dead sink slows
// neither ingest nor another sink.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Database } from '../db/database.js';
import { selectHeadAfter, type EventQuery } from '../db/auditEventsStore.js';
import type { SinkRow } from '../db/schema.js';
import { acquireSinkLease, advanceSinkCursor, recordSinkError, releaseSinkLease, renewSinkLease, selectSinks } from '../db/sinksStore.js';
import { logger } from '../logger.js';
import { sinkDelivered, sinkErrors } from '../metrics.js';
import type { SinkFormat, SinkKind } from '../../shared/sinkCatalog.js';
import { parseQueryFor, resolveFilter } from './events.js';
import { SinkBatchReader, type SinkBatch, type SinkBatchReaderOptions } from './sinkBatches.js';
import { revealSinkSecret } from './sinkSecrets.js';
import { createTransport, SinkSendError, type Transport } from './sinkTransports.js';
import type { SecretsKey } from './secretsKey.js';

export interface SinkDeliveryOptions {
  secretsKey: SecretsKey;
  /** How often to look for sinks to deliver and, when caught up, for new events (ms). */
  pollMs?: number;
  /** How long a lease lasts without renewal: a dead holder's sinks are taken over after it (ms). */
  leaseMs?: number;
  /** A partial batch is sent once its oldest event has waited this long (ms). */
  flushMs?: number;
  /** One request (or syslog connection and write) may take this long (ms). */
  timeoutMs?: number;
  /** Backoff after failures: initialMs, doubling to maxMs, each wait jittered to 50-100 %. */
  backoff?: { initialMs: number; maxMs: number };
  /** A sink that is behind sends up to this many events at once to a stream (syslog over TCP/TLS), whatever its batchSize. */
  streamBatchSize?: number;
  /** How sinks of the same format and filter share their reads. */
  sharedReads?: SinkBatchReaderOptions;
  /** Where deliveries and failures are counted (default: this process's /metrics; a delivery thread sends them to it). */
  counters?: SinkCounters;
}

export interface SinkCounters {
  delivered(sink: string, events: number): void;
  failed(sink: string): void;
}

/** This process's /metrics. */
export const METRICS_SINK_COUNTERS: SinkCounters = {
  delivered: (sink, events) => sinkDelivered.inc({ sink }, events),
  failed: (sink) => sinkErrors.inc({ sink }),
};

export const SINK_DELIVERY_DEFAULTS = {
  pollMs: 1000,
  leaseMs: 15_000,
  flushMs: 1000,
  timeoutMs: 10_000,
  backoff: { initialMs: 500, maxMs: 60_000 },
  streamBatchSize: 5000,
  sharedReads: {},
  counters: METRICS_SINK_COUNTERS,
} as const;

/** Exponential backoff with jitter: the wait before attempt `failures + 1`. */
export function backoffMs(failures: number, backoff: { initialMs: number; maxMs: number }, random = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

type Settings = Required<Omit<SinkDeliveryOptions, 'secretsKey'>> & { secretsKey: SecretsKey };

export class SinkDelivery {
  /** Names this process on the leases it holds. */
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly settings: Settings;
  private readonly workers = new Map<string, SinkWorker>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private pollFailing = false;
  /** Every worker's reads, shared between sinks of the same format and filter. */
  private readonly reader: SinkBatchReader;

  constructor(
    private readonly db: Database,
    options: SinkDeliveryOptions,
  ) {
    this.settings = { ...SINK_DELIVERY_DEFAULTS, ...options };
    this.reader = new SinkBatchReader(db, this.settings.sharedReads);
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Stops every worker (the batch in flight is abandoned, its cursor not moved) and hands the leases back. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(workers.map((w) => releaseSinkLease(this.db, w.sinkId, this.owner).catch(() => {})));
  }

  /** The sinks this process delivers now (ids). */
  delivering(): string[] {
    return [...this.workers.keys()];
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.reconcile();
        if (this.pollFailing) logger.info('sink delivery: the sinks table is readable again');
        this.pollFailing = false;
      } catch (err) {
        if (!this.pollFailing) logger.warn({ err }, 'sink delivery: cannot read the sinks table; retrying');
        this.pollFailing = true;
      }
      await pause(this.settings.pollMs, this.stopping.signal);
    }
  }

  /** Starts workers for sinks this process can lease, stops those of deleted, changed or lost sinks. */
  private async reconcile(): Promise<void> {
    const rows = await selectSinks(this.db);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, worker] of this.workers) {
      const row = byId.get(id);
      if (worker.done || !row || row.updatedAt.getTime() !== worker.configVersion) {
        this.workers.delete(id);
        await worker.stop();
      }
    }
    const now = Date.now();
    for (const row of rows) {
      if (this.stopping.signal.aborted) return;
      if (this.workers.has(row.id)) continue;
      const free = row.leaseOwner === null || row.leaseOwner === this.owner || (row.leaseUntil !== null && row.leaseUntil.getTime() < now);
      // The database's clock decides (acquireSinkLease); this only skips needless writes.
      if (!free && row.leaseUntil !== null && row.leaseUntil.getTime() > now + 1000) continue;
      const leased = await acquireSinkLease(this.db, row.id, this.owner, this.settings.leaseMs);
      if (!leased) continue;
      const worker = new SinkWorker(this.db, this.reader, leased, this.owner, this.settings);
      this.workers.set(row.id, worker);
      worker.start();
    }
    const reading = new Set<string>();
    for (const worker of this.workers.values()) if (worker.readKey !== null) reading.add(worker.readKey);
    this.reader.retainOnly(reading);
  }
}

/** Delivers one sink while this process holds its lease. */
class SinkWorker {
  readonly sinkId: string;
  readonly configVersion: number;
  /** Set when the worker ended by itself (lease lost, sink gone, configuration unusable). */
  done = false;
  /** The reads it shares (SinkBatchReader.keyOf), once its configuration is read. */
  readKey: string | null = null;
  private readonly name: string;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private cursor: number;
  private leaseRenewedAt = Date.now();
  private failures = 0;
  /** The last batch was full: more events wait. */
  private behind = false;
  /** The batch after the cursor, read while the last one was sent. */
  private prefetch: { afterSeq: number; batch: Promise<SinkBatch | null> } | null = null;
  /** The cursor was just moved and the configuration found unchanged: the next send needs no other check. */
  private checkedJustNow = false;

  constructor(
    private readonly db: Database,
    private readonly reader: SinkBatchReader,
    private readonly row: SinkRow,
    private readonly owner: string,
    private readonly settings: Settings,
  ) {
    this.sinkId = row.id;
    this.name = row.name;
    this.configVersion = row.updatedAt.getTime();
    this.cursor = row.cursorSeq;
  }

  start(): void {
    this.loop = this.run().finally(() => {
      this.done = true;
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private get log() {
    return logger.child({ sink: this.name, sinkId: this.sinkId });
  }

  private async run(): Promise<void> {
    let transport: Transport;
    let query: EventQuery;
    try {
      transport = createTransport(
        {
          name: this.row.name,
          kind: this.row.kind as SinkKind,
          url: this.row.url,
          format: this.row.format as SinkFormat,
          secret: revealSinkSecret(this.settings.secretsKey, this.row),
          caFile: this.row.caFile,
        },
        { timeoutMs: this.settings.timeoutMs },
      );
      query = resolveFilter(parseQueryFor(this.row.q, undefined), new Date());
      this.readKey = SinkBatchReader.keyOf(query, transport.framing);
    } catch (err) {
      // A secret encrypted with another key, a filter an upgrade no longer accepts: shown
      // on the sink, tried again at the next poll (the lease is still ours).
      this.log.error({ err }, 'sink cannot be delivered: its configuration is unusable');
      await recordSinkError(this.db, this.sinkId, this.owner, `configuration: ${(err as Error).message}`).catch(() => {});
      await pause(this.settings.pollMs * 5, this.stopping.signal);
      return;
    }
    this.log.info({ cursor: this.cursor, owner: this.owner }, 'sink delivery started');
    try {
      while (!this.stopping.signal.aborted) {
        const wait = await this.step(transport, query).catch((err: unknown) => this.failed(err));
        if (wait === 'lost') return;
        if (wait > 0) await this.pauseHoldingLease(wait);
      }
    } finally {
      transport.close();
    }
  }

  /** How many events to read: batchSize, or while behind on a stream (syslog over TCP/TLS) up to streamBatchSize. */
  private limitFor(transport: Transport, behind: boolean): number {
    const batchSize = this.row.batchSize;
    return behind && transport.streams ? Math.max(batchSize, this.settings.streamBatchSize) : batchSize;
  }

  private read(transport: Transport, query: EventQuery, afterSeq: number, throughSeq: number, limit: number): Promise<SinkBatch> {
    return this.reader.read(query, { afterSeq, throughSeq, limit }, transport.framing);
  }

  /**
   * One round: reads a batch, sends it, moves the cursor. Answers how long to wait before the next.
   *
   * While behind (the last batch was full) the next batch is read while this one is sent,
   * and the head is not asked for: a full batch moves the cursor to its last event. The
   * head is read (before the events, so nothing recorded in between is skipped) to move a
   * filtered sink's cursor past the events it does not take, and with it when the first
   * event after the cursor was recorded: a partial batch that has not waited flushMs is
   * not read at all.
   */
  private async step(transport: Transport, query: EventQuery): Promise<number | 'lost'> {
    const batchSize = this.row.batchSize;
    const ahead = this.behind ? await this.readAhead(transport, query) : null;
    let batch: SinkBatch;
    let full = ahead !== null && ahead.count === ahead.limit;
    let next = this.cursor;
    if (ahead && full) {
      batch = ahead;
      next = ahead.lastSeq;
    } else {
      const { head, firstRecordedAtMs } = await selectHeadAfter(this.db, this.cursor);
      if (head <= this.cursor) {
        this.behind = false;
        return (await this.renewIfDue()) ? this.settings.pollMs : 'lost';
      }
      // Batches: batchSize events, or what there is once the oldest has waited flushMs.
      if (head - this.cursor < batchSize && firstRecordedAtMs !== null && Date.now() - firstRecordedAtMs < this.settings.flushMs) {
        this.behind = false;
        return this.settings.flushMs - (Date.now() - firstRecordedAtMs);
      }
      batch = await this.read(transport, query, this.cursor, head, batchSize);
      full = batch.count === batch.limit;
      next = full ? batch.lastSeq : head;
      if (!full && batch.oldestRecordedAtMs !== null) {
        const waited = Date.now() - batch.oldestRecordedAtMs;
        if (waited < this.settings.flushMs) {
          this.behind = false;
          return this.settings.flushMs - waited;
        }
      }
    }
    if (batch.count > 0) {
      // Deleted or changed since this worker started: not one more batch in the old form.
      // Right after a cursor move that found the configuration unchanged, that was the check.
      if (!this.checkedJustNow && !(await renewSinkLease(this.db, this.sinkId, this.owner, this.settings.leaseMs, this.row.updatedAt))) return 'lost';
      this.checkedJustNow = false;
      this.prefetch = full
        ? { afterSeq: next, batch: this.read(transport, query, next, Number.MAX_SAFE_INTEGER, this.limitFor(transport, true)).catch(() => null) }
        : null;
      const batchId = randomUUID();
      const { payload } = batch;
      await ('text' in payload ? transport.sendText!(payload.text, batchId, this.stopping.signal) : transport.send(payload.events, batchId, this.stopping.signal));
      if (this.stopping.signal.aborted) return 'lost';
      // The next batch in hand before the cursor moves: the move's check of the
      // configuration is then the last step before that batch is sent.
      if (this.prefetch) await this.prefetch.batch;
    }
    const { held, sameConfig } = await advanceSinkCursor(this.db, this.sinkId, this.owner, {
      cursorSeq: next,
      delivered: batch.count,
      leaseMs: this.settings.leaseMs,
      configuredAt: this.row.updatedAt,
    });
    if (!held) {
      this.log.warn({ owner: this.owner }, 'sink lease lost (another process delivers it now, or it was deleted)');
      return 'lost';
    }
    this.leaseRenewedAt = Date.now();
    this.cursor = next;
    if (batch.count > 0) this.settings.counters.delivered(this.name, batch.count);
    if (this.failures > 0) this.log.info({ failures: this.failures }, 'sink delivery recovered');
    this.failures = 0;
    if (!sameConfig) return 'lost';
    this.behind = full;
    this.checkedJustNow = full;
    return full ? 0 : this.settings.pollMs;
  }

  /** The batch after the cursor: the one read while the last was sent, or read now. */
  private async readAhead(transport: Transport, query: EventQuery): Promise<SinkBatch> {
    const prefetch = this.prefetch;
    this.prefetch = null;
    const batch = prefetch && prefetch.afterSeq === this.cursor ? await prefetch.batch : null;
    return batch ?? this.read(transport, query, this.cursor, Number.MAX_SAFE_INTEGER, this.limitFor(transport, true));
  }

  private async failed(err: unknown): Promise<number> {
    this.behind = false;
    this.checkedJustNow = false;
    this.prefetch = null;
    if (this.stopping.signal.aborted) return 0;
    this.failures++;
    this.settings.counters.failed(this.name);
    const message = err instanceof SinkSendError ? err.message : `database: ${(err as Error).message}`;
    // The first failure of a run is a warning; later ones only while they change, so a
    // dead receiver does not flood the log.
    if (this.failures === 1) this.log.warn({ err: message }, 'sink delivery failed; retrying with backoff');
    else this.log.debug({ err: message, failures: this.failures }, 'sink delivery failed again');
    await recordSinkError(this.db, this.sinkId, this.owner, message).catch(() => {});
    const wait = backoffMs(this.failures, this.settings.backoff);
    const asked = err instanceof SinkSendError ? err.retryAfterMs : undefined;
    return asked === undefined ? wait : Math.min(Math.max(wait, asked), this.settings.backoff.maxMs);
  }

  /** Renews the lease when a third of it is spent; false when it was lost. */
  private async renewIfDue(): Promise<boolean> {
    if (Date.now() - this.leaseRenewedAt < this.settings.leaseMs / 3) return true;
    const held = await renewSinkLease(this.db, this.sinkId, this.owner, this.settings.leaseMs).catch(() => true);
    if (held) this.leaseRenewedAt = Date.now();
    else this.log.warn({ owner: this.owner }, 'sink lease lost (another process delivers it now, or it was deleted)');
    return held;
  }

  /** Waits (a backoff can outlast the lease), renewing the lease meanwhile. */
  private async pauseHoldingLease(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping.signal.aborted && Date.now() < until) {
      await pause(Math.min(until - Date.now(), this.settings.leaseMs / 3), this.stopping.signal);
      if (!(await this.renewIfDue())) {
        this.stopping.abort();
        return;
      }
    }
  }
}
