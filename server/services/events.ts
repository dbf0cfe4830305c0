// The logic of recording and finding audit events. Routers validate input and call
// these; audit_events is written only through the EventWriter (server/db/eventWriter.ts)
// and read only through auditEventsStore.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { isoTime } from '../../shared/canonical.js';
import { decodeCursor, encodeCursor } from '../../shared/cursor.js';
import type { AuditEvent, DiffEntry, ParsedEventInput } from '../../shared/event.js';
import { formatQueryError, parseAuditQuery, type AuditFilter } from '../../shared/query.js';
import { listedEventOf, WRITTEN_FIELDS, listedValueOf } from '../../shared/eventFields.js';
import type { Database } from '../db/database.js';
import {
  countEventsCapped,
  selectEventsAfterSeq,
  selectMaxSeq,
  selectEventById,
  selectListedEventsPage,
  selectEventStats,
  type EventQuery,
} from '../db/auditEventsStore.js';
import type { EventWriter, InsertedEvent, NewAuditEventRow, TransactionAppender } from '../db/eventWriter.js';
import type { AuditEventRow } from '../db/schema.js';
import { observeRecorded } from './eventLog.js';

/** Counts stop here: "10,000+" is all a person needs, and it stays fast at any size. */
export const COUNT_CAP = 10_000;

export type Clock = () => Date;
const systemClock: Clock = () => new Date();

/** Secrets are never stored: a diff entry flagged secret keeps only the flag. */
function maskDiff(diff: Record<string, DiffEntry> | undefined): Record<string, DiffEntry> {
  const masked: Record<string, DiffEntry> = {};
  for (const [field, entry] of Object.entries(diff ?? {})) {
    masked[field] = entry.secret ? { secret: true } : entry;
  }
  return masked;
}

/** A stored row from a validated event: its fields where the listed event has them, then what the server decides. */
function toRow(input: ParsedEventInput, recordedIso: string): NewAuditEventRow {
  const row: Record<string, unknown> = {};
  for (const f of WRITTEN_FIELDS) if (f.key !== 'hash') row[f.key] = listedValueOf(f, input);
  row.id = input.id ?? randomUUID();
  row.time = input.time ? isoTime(input.time) : recordedIso;
  row.recordedAt = recordedIso;
  row.diff = maskDiff(input.diff);
  row.metadata = input.metadata ?? {};
  return row as NewAuditEventRow;
}

/**
 * A transaction that records events with the change they describe (auditedTransaction).
 * Its events' log lines and metrics wait for the commit.
 */
export class AuditedTransaction {
  /** Log lines and metrics of its recorded events, written once it commits. */
  readonly afterCommit: (() => void)[] = [];
  readonly events: TransactionAppender;

  constructor(
    /** The transaction: the other stores write their part of the change through it. */
    readonly db: Database,
    writer: EventWriter,
  ) {
    this.events = writer.inTransaction(db);
  }
}

/**
 * Runs `work` in a transaction. The log lines and metrics of the events it records are
 * written once it commits, and not at all if it rolls back: a line must never announce an
 * event that was not stored.
 */
export async function auditedTransaction<T>(writer: EventWriter, work: (tx: AuditedTransaction) => Promise<T>): Promise<T> {
  let audited: AuditedTransaction | undefined;
  const result = await writer.db.transaction(async (t) => {
    audited = new AuditedTransaction(t as unknown as Database, writer);
    return work(audited);
  });
  for (const observe of audited!.afterCommit) observe();
  return result;
}

/**
 * Records validated events, all or nothing; replayed ids are stored once. Through the
 * process's writer, or inside an audited transaction with the change they describe.
 */
export async function recordEvents(
  target: EventWriter | AuditedTransaction,
  inputs: ParsedEventInput[],
  clock: Clock = systemClock,
): Promise<InsertedEvent[]> {
  const recordedIso = clock().toISOString();
  const rows = inputs.map((input) => toRow(input, recordedIso));
  const writer = target instanceof AuditedTransaction ? target.events : target;
  const prepared = await writer.prepare(rows);
  const stored = await writer.write(prepared);
  // One JSON log line per stored event (fields.audit_log.action) and the metrics; inside
  // an audited transaction, once it commits.
  if (target instanceof AuditedTransaction) target.afterCommit.push(() => observeRecorded(prepared, stored));
  else observeRecorded(prepared, stored);
  return stored;
}

/** A listed event from a stored row (shared/eventFields.ts: times as ISO strings). */
export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return listedEventOf(row, (_f, value) => (value instanceof Date ? value.toISOString() : value)) as unknown as AuditEvent;
}

/** Parses `q` for a caller (`me`: the username `username:me` stands for), or throws BAD_REQUEST naming the bad term. */
export function parseQueryFor(q: string | undefined, me: string | undefined): AuditFilter {
  const parsed = parseAuditQuery(q ?? '', me === undefined ? {} : { me });
  if (!parsed.ok) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `q: ${formatQueryError(parsed.error)}`, cause: parsed.error });
  }
  const usernames = parsed.filter.fields.username;
  if (me === undefined && [...(usernames?.include ?? []), ...(usernames?.exclude ?? [])].includes('me')) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'q: username:me needs a caller signed in as a user' });
  }
  return parsed.filter;
}

/** Resolves `since:` against the server's clock; the later of since and date_from wins. */
export function resolveFilter(filter: AuditFilter, now: Date): EventQuery {
  const lowerBounds = [
    filter.from === undefined ? undefined : Date.parse(filter.from),
    filter.sinceMs === undefined ? undefined : now.getTime() - filter.sinceMs,
  ].filter((v): v is number => v !== undefined);
  return {
    fields: filter.fields,
    ...(lowerBounds.length ? { from: new Date(Math.max(...lowerBounds)) } : {}),
    ...(filter.to === undefined ? {} : { to: new Date(filter.to) }),
  };
}

export interface ListEventsInput {
  q?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
  /** false: no count (null), so the page never waits for it; ask events.count separately. */
  count?: boolean | undefined;
}

/** How many events match, stopping at COUNT_CAP ("10,000+"). */
export interface EventCount {
  value: number;
  capped: boolean;
}

/** A page of events; `count` is null when the caller asked for none. */
export interface EventPage<Count extends EventCount | null = EventCount> {
  items: AuditEvent[];
  nextCursor: string | null;
  count: Count;
}

async function cappedCount(db: Database, query: EventQuery): Promise<EventCount> {
  const counted = await countEventsCapped(db, query, COUNT_CAP + 1);
  return { value: Math.min(counted, COUNT_CAP), capped: counted > COUNT_CAP };
}

export function listEvents(
  db: Database,
  input: ListEventsInput & { count?: true | undefined },
  me: string | undefined,
  clock?: Clock,
): Promise<EventPage>;
export function listEvents(db: Database, input: ListEventsInput, me: string | undefined, clock?: Clock): Promise<EventPage<EventCount | null>>;
export async function listEvents(
  db: Database,
  input: ListEventsInput,
  me: string | undefined,
  clock: Clock = systemClock,
): Promise<EventPage<EventCount | null>> {
  const query = resolveFilter(parseQueryFor(input.q, me), clock());
  const wantsCount = input.count !== false;
  let after;
  let knownCount: EventCount | undefined;
  if (input.cursor !== undefined) {
    const position = decodeCursor(input.cursor);
    if (!position) throw new TRPCError({ code: 'BAD_REQUEST', message: 'cursor: malformed; pass back a nextCursor unchanged' });
    after = { time: new Date(position.time), seq: position.seq };
    knownCount = position.count;
  }
  const limit = input.limit ?? 50;
  // The count is taken with the first page and carried by the cursor: a listing's
  // deeper pages cost only their own index walk.
  const [rows, counted] = await Promise.all([
    selectListedEventsPage(db, query, after, limit + 1),
    knownCount || !wantsCount ? Promise.resolve(null) : cappedCount(db, query),
  ]);
  const count = wantsCount ? (knownCount ?? counted) : null;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last ? encodeCursor({ time: last.time, seq: last.seq, ...(count ? { count } : {}) }) : null,
    count,
  };
}

/** The capped count events.list gives with a first page, on its own (for pages listed with `count: false`). */
export async function countEvents(
  db: Database,
  input: { q?: string | undefined },
  me: string | undefined,
  clock: Clock = systemClock,
): Promise<EventCount> {
  return cappedCount(db, resolveFilter(parseQueryFor(input.q, me), clock()));
}

export async function getEvent(db: Database, id: string): Promise<AuditEvent> {
  const row = await selectEventById(db, id);
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: `id: no event ${id}` });
  return toAuditEvent(row);
}

/** Bucket sizes the timeline may use; the smallest that fits the requested count wins. */
const BUCKET_LADDER_MS = [60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000];
const DEFAULT_STATS_RANGE_MS = 86_400_000;
const WEEK_MS = BUCKET_LADDER_MS.at(-1)!;

/** Past the ladder (ranges of years): whole weeks, as many as it takes to stay within `wanted` buckets. */
function wholeWeeksFor(spanMs: number, wanted: number): number {
  return Math.ceil(spanMs / wanted / WEEK_MS) * WEEK_MS;
}

export interface EventStats {
  from: string;
  to: string;
  bucketMs: number;
  buckets: { start: string; total: number; counts: Record<string, number> }[];
}

/**
 * Counts per action per time bucket for a query (the timeline and sparklines).
 * The range is the query's own (date_from/since .. date_to), else the last 24 hours.
 */
export async function eventStats(
  db: Database,
  input: { q?: string | undefined; buckets?: number | undefined },
  me: string | undefined,
  clock: Clock = systemClock,
): Promise<EventStats> {
  const now = clock();
  const query = resolveFilter(parseQueryFor(input.q, me), now);
  const to = query.to ?? now;
  const from = query.from ?? new Date(to.getTime() - DEFAULT_STATS_RANGE_MS);
  const wanted = input.buckets ?? 60;
  const span = Math.max(1, to.getTime() - from.getTime());
  const bucketMs = BUCKET_LADDER_MS.find((size) => span / size <= wanted) ?? wholeWeeksFor(span, wanted);
  const rows = await selectEventStats(db, { ...query, from, to }, bucketMs);

  const first = Math.floor(from.getTime() / bucketMs);
  const last = Math.floor(to.getTime() / bucketMs);
  const buckets: EventStats['buckets'] = [];
  for (let b = first; b <= last; b++) buckets.push({ start: new Date(b * bucketMs).toISOString(), total: 0, counts: {} });
  for (const row of rows) {
    const bucket = buckets[row.bucket - first];
    if (!bucket) continue;
    bucket.total += row.n;
    bucket.counts[row.action] = (bucket.counts[row.action] ?? 0) + row.n;
  }
  return { from: from.toISOString(), to: to.toISOString(), bucketMs, buckets };
}

export interface EventsSince {
  /** Matching events after `afterSeq`, oldest first. */
  items: AuditEvent[];
  /** Where the next call should continue from: the last item's seq, or the chain head when none matched. */
  nextSeq: number;
  /** Whether more matching events may follow right away (the page was full). */
  more: boolean;
  /** The newest seq in the log. Below a client's cursor, the log was recreated: start again there. */
  headSeq: number;
}

/**
 * Catching up from a cursor: matching events recorded after `afterSeq`, in recording
 * (seq) order, the same order live subscriptions use. Without `afterSeq`, nothing but the
 * position to start from (the newest seq), so a new client does not replay history.
 */
export async function eventsSince(
  db: Database,
  input: { q?: string | undefined; afterSeq?: number | undefined; limit?: number | undefined },
  me: string | undefined,
  clock: Clock = systemClock,
): Promise<EventsSince> {
  const query = resolveFilter(parseQueryFor(input.q, me), clock());
  const head = await selectMaxSeq(db);
  if (input.afterSeq === undefined) return { items: [], nextSeq: head, more: false, headSeq: head };
  const limit = input.limit ?? 100;
  const rows = await selectEventsAfterSeq(db, query, input.afterSeq, head, limit);
  const more = rows.length === limit;
  return {
    items: rows.map(toAuditEvent),
    // When the page was full, continue after its last row; else everything up to the
    // head was seen (matching or not), so continue from the head.
    nextSeq: more ? rows.at(-1)!.seq : Math.max(head, input.afterSeq),
    more,
    headSeq: head,
  };
}
