// The one module that reads and writes the audit_events table.
import { and, asc, desc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { PgTransaction, type PgColumn } from 'drizzle-orm/pg-core';
import type { AuditEvent, DiffEntry } from '../../shared/event.js';
import type { FieldFilter, FilterField } from '../../shared/query.js';
import { canonicalEvent, GENESIS_HASH } from '../../shared/canonical.js';
import { chainStep } from '../services/chain.js';
import { databaseKindOf, isDatabaseUnavailable, queryRows, type Database } from './database.js';
import { GroupCommit } from './groupCommit.js';
import { auditEvents, type AuditEventRow } from './schema.js';

/** A row ready to insert: everything resolved (id, times) by the service. */
export interface NewAuditEventRow {
  id: string;
  time: string;
  recordedAt: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceTarget: string;
  actorId: string | null;
  actorUsername: string | null;
  actorEmail: string | null;
  ip: string | null;
  userAgent: string | null;
  statusCode: number | null;
  requestId: string | null;
  diff: Record<string, DiffEntry>;
  metadata: Record<string, unknown>;
}

export interface InsertedEvent {
  id: string;
  seq: number;
  /** True when an event with this id was already stored (idempotent replay). */
  duplicate: boolean;
}

/** A filter with relative times already resolved against the server's clock. */
export interface EventQuery {
  fields: Partial<Record<FilterField, FieldFilter>>;
  from?: Date;
  to?: Date;
}

export interface Position {
  time: Date;
  seq: number;
}

// Writers take this lock for the length of their transaction, so `seq` order is commit
// order (a reader resuming "after seq N" never misses a row committed later with a
// smaller seq) and each batch extends the hash chain from the true head.
export const WRITE_LOCK_KEY = 7_162_021_002;
/** The NOTIFY channel that announces committed events (payload: the batch's highest seq). */
export const EVENTS_CHANNEL = 'vigil_events';

const PLAIN_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** IP addresses as Postgres will give them back (its inet text form), so hashes recompute. */
async function normaliseIps(db: Database, rows: NewAuditEventRow[]): Promise<void> {
  // A dotted quad without leading zeros is already Postgres's form; only the rest (IPv6,
  // mapped, zero-padded) is normalised by Postgres itself.
  const withIp = rows.filter((r) => r.ip !== null && !PLAIN_IPV4.test(r.ip));
  if (withIp.length === 0) return;
  const normal = await queryRows<{ ip: string }>(
    db,
    sql`select value::inet as ip from jsonb_array_elements_text(${JSON.stringify(withIp.map((r) => r.ip))}::jsonb) with ordinality order by ordinality`,
  );
  withIp.forEach((row, i) => {
    row.ip = normal[i]!.ip;
  });
}

interface PreparedRow {
  row: NewAuditEventRow;
  /** canonicalEvent(row), or '' when not chaining. */
  canonical: string;
  /** The row as a JSON object in the database's column names, without its hash. */
  json: string;
}

/** A row's fields by their column names (the database's, and the audit log line's). */
export function columnsOf(row: NewAuditEventRow) {
  return {
    id: row.id,
    time: row.time,
    recorded_at: row.recordedAt,
    action: row.action,
    resource_type: row.resourceType,
    resource_id: row.resourceId,
    resource_target: row.resourceTarget,
    actor_id: row.actorId,
    actor_username: row.actorUsername,
    actor_email: row.actorEmail,
    ip: row.ip,
    user_agent: row.userAgent,
    status_code: row.statusCode,
    request_id: row.requestId,
    diff: row.diff,
    metadata: row.metadata,
  };
}

const columnsJsonCache = new WeakMap<NewAuditEventRow, string>();

/** columnsOf(row) as JSON, made once per row: the insert and the audit log line both use it. */
export function columnsJsonOf(row: NewAuditEventRow): string {
  let json = columnsJsonCache.get(row);
  if (json === undefined) {
    json = JSON.stringify(columnsOf(row));
    columnsJsonCache.set(row, json);
  }
  return json;
}

function prepareRow(row: NewAuditEventRow, chain: boolean): PreparedRow {
  return { row, canonical: chain ? canonicalEvent(row) : '', json: columnsJsonOf(row) };
}

/** What vigil_append_events answered (migration 0006). */
type AppendAnswer =
  | { inserted: number; first_seq: number | string; last_seq: number | string }
  | { duplicates: { id: string; seq: number | string }[]; head: string }
  | { head: string };

/**
 * Where a process expects the chain to continue: the last hash it sent (a guess the
 * database checks). It moves on when a write is sent, not when it is confirmed, so a
 * pipelined write can follow it; a write that is refused puts it back to the true head.
 */
interface ChainTip {
  head: string | null;
  /** Until then (ms since the epoch), one write at a time: another process moved the head lately. */
  contendedUntil: number;
}

/** A write that keeps finding its expected head taken (other writers) takes the lock first after this many tries. */
const OPTIMISTIC_ATTEMPTS = 3;

/**
 * Writes prepared rows in one transaction: all new ids inserted, or none. Events whose
 * id is already stored, or repeated earlier in `prepared`, are not inserted again.
 *
 * The common case is ONE round trip: hashes are chained here from the head this process
 * expects, and vigil_append_events (migration 0006) checks the expectation and the ids
 * under the writers' lock, then inserts. When the head moved (another process wrote) or
 * some ids exist, it inserts nothing and says so; we recompute and try again.
 */
async function writeEvents(db: Database, prepared: PreparedRow[], chain: boolean, tip: ChainTip): Promise<InsertedEvent[]> {
  const seen = new Set<string>();
  const unique = prepared.filter((p) => (seen.has(p.row.id) ? false : (seen.add(p.row.id), true)));
  const outcome: AppendOutcome = { seqById: new Map(), inserted: new Set() };
  const appended =
    (await appendWithRetries(db, unique, chain, tip, outcome, OPTIMISTIC_ATTEMPTS)) ||
    // Losing again and again to other writers: hold the lock across the tries, so the
    // head cannot move between them (they learn the head, then the stored ids, then insert).
    (await db.transaction(async (t) => {
      const tx = t as unknown as Database;
      await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      return appendWithRetries(tx, unique, chain, tip, outcome, 3);
    }));
  if (!appended) throw new Error('vigil_append_events: the chain head moved under the writers\' lock');
  const reported = new Set<string>();
  return prepared.map((p) => {
    const id = p.row.id;
    const duplicate = !outcome.inserted.has(id) || reported.has(id);
    reported.add(id);
    return { id, seq: outcome.seqById.get(id)!, duplicate };
  });
}

interface AppendOutcome {
  seqById: Map<string, number>;
  /** Ids this write inserted (the rest were stored before). */
  inserted: Set<string>;
}

/** Tries up to `attempts` appends of the rows not yet known to be stored; true once none is left. */
async function appendWithRetries(
  db: Database,
  rows: PreparedRow[],
  chain: boolean,
  tip: ChainTip,
  outcome: AppendOutcome,
  attempts: number,
): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const pending = rows.filter((p) => !outcome.seqById.has(p.row.id));
    if (pending.length === 0) return true;
    const expected = tip.head;
    const hashes = chainHashes(pending, chain, expected ?? GENESIS_HASH);
    // A write sent while this one is under way (the pipeline) continues from its last hash.
    tip.head = hashes.at(-1)!;
    const answer = await appendOnce(db, pending, hashes, expected);
    if ('inserted' in answer) {
      const first = Number(answer.first_seq);
      pending.forEach((p, i) => {
        outcome.seqById.set(p.row.id, first + i);
        outcome.inserted.add(p.row.id);
      });
      return true;
    }
    if ('duplicates' in answer) for (const d of answer.duplicates) outcome.seqById.set(d.id, Number(d.seq));
    // A head other than the expected one: another writer (process or transaction) wrote in
    // between, and its writes would keep refusing the second one of a pipeline.
    else tip.contendedUntil = Date.now() + CONTENDED_MS;
    tip.head = answer.head;
  }
  return rows.every((p) => outcome.seqById.has(p.row.id));
}

/** The chain hashes of `rows` in order, continuing from `head` (a constant when not chaining). */
function chainHashes(rows: PreparedRow[], chain: boolean, head: string): string[] {
  let prev = head;
  return rows.map((p) => (chain ? (prev = chainStep(prev, p.canonical)) : GENESIS_HASH));
}

async function appendOnce(db: Database, rows: PreparedRow[], hashes: string[], expectedHead: string | null): Promise<AppendAnswer> {
  // One JSON parameter, assembled from each row's JSON made before the write began:
  // far faster than a VALUES list of 17 x 1000 parameters, and the same on both drivers.
  const events = `[${rows.map((p, i) => `${p.json.slice(0, -1)},"ord":${i},"hash":"${hashes[i]}"}`).join(',')}]`;
  const ids = `{${rows.map((p) => p.row.id).join(',')}}`;
  const [result] = await queryRows<{ answer: AppendAnswer | string }>(
    db,
    sql`select vigil_append_events(${events}::json, ${ids}::uuid[], ${expectedHead}::text, ${GENESIS_HASH}::text, ${EVENTS_CHANNEL}::text) as answer`,
  );
  const answer = result!.answer;
  return typeof answer === 'string' ? (JSON.parse(answer) as AppendAnswer) : answer;
}

interface ChainWriter {
  queue: GroupCommit<PreparedRow, InsertedEvent>;
  tip: ChainTip;
}

// One group-commit queue per database (and per chain setting, which only the benchmark varies).
const chainWriters = { chained: new WeakMap<Database, ChainWriter>(), plain: new WeakMap<Database, ChainWriter>() };
/** Requests merged into one transaction hold at most this many events. */
const GROUP_COMMIT_MAX_EVENTS = 5000;
/**
 * Writes a Postgres server keeps under way at once. With one, the writer was never idle,
 * yet Postgres held the lock for only ~70% of its time: the rest went on sending the
 * next write and on each answer waiting for the busy event loop. With two, the next write
 * is already waiting for the lock when the previous one commits. (PGlite runs one query
 * at a time, in this process: one.)
 */
const PIPELINED_WRITES = 2;
/**
 * After a refusal for a moved head, one write at a time for this long: with several
 * processes writing, a pipeline's second write is refused over and over (it was chained
 * from the first, and another process's write comes in between).
 */
const CONTENDED_MS = 2_000;

function chainWriterFor(db: Database, chain: boolean): ChainWriter {
  const map = chain ? chainWriters.chained : chainWriters.plain;
  let writer = map.get(db);
  if (!writer) {
    const tip: ChainTip = { head: null, contendedUntil: 0 };
    const pipelined = databaseKindOf(db).kind === 'postgres' ? PIPELINED_WRITES : 1;
    const inFlight = () => (Date.now() < tip.contendedUntil ? 1 : pipelined);
    writer = { tip, queue: new GroupCommit((items) => writeEvents(db, items, chain, tip), GROUP_COMMIT_MAX_EVENTS, inFlight, isDatabaseUnavailable) };
    map.set(db, writer);
  }
  return writer;
}

/**
 * Inserts events, all or nothing, extending the hash chain. Events whose id is already
 * stored (or repeated within the batch) are not inserted again; their stored seq is
 * returned.
 */
export async function insertEvents(
  db: Database,
  rows: NewAuditEventRow[],
  /** `chain: false` writes a constant hash: only for the benchmark that measures what chaining costs. */
  options: { chain?: boolean } = {},
): Promise<InsertedEvent[]> {
  const chain = options.chain ?? true;
  // Everything that does not depend on the previous hash happens first, outside any
  // transaction, so concurrent writers overlap in it.
  if (chain) await normaliseIps(db, rows);
  const prepared = rows.map((row) => prepareRow(row, chain));
  // A caller already in a transaction (a change recorded with its audit event) writes
  // there; it does not know the head, so its first try learns it. Everyone else goes
  // through the process's group commit: waiting writers hold no connection (the pool
  // stays free for reads) and are written together.
  const inTransaction = (db as unknown) instanceof PgTransaction;
  return inTransaction ? writeEvents(db, prepared, chain, { head: null, contendedUntil: 0 }) : chainWriterFor(db, chain).queue.submit(prepared);
}

/** Text columns matched case-insensitively, through their lower() indexes. */
const FIELD_COLUMNS: Record<FilterField, { column: PgColumn; caseInsensitive: boolean }> = {
  action: { column: auditEvents.action, caseInsensitive: false },
  resource_type: { column: auditEvents.resourceType, caseInsensitive: false },
  resource_id: { column: auditEvents.resourceId, caseInsensitive: true },
  resource_target: { column: auditEvents.resourceTarget, caseInsensitive: true },
  username: { column: auditEvents.actorUsername, caseInsensitive: true },
  email: { column: auditEvents.actorEmail, caseInsensitive: true },
  request_id: { column: auditEvents.requestId, caseInsensitive: true },
};

function valueList(values: string[]): SQL {
  return sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );
}

/** The WHERE conditions of a query; values arrive lowercased from the parser. */
function conditionsOf(query: EventQuery): SQL[] {
  const conditions: SQL[] = [];
  for (const [field, filter] of Object.entries(query.fields) as [FilterField, FieldFilter][]) {
    const { column, caseInsensitive } = FIELD_COLUMNS[field];
    const target = caseInsensitive ? sql`lower(${column})` : sql`${column}`;
    if (filter.include?.length) conditions.push(sql`${target} in (${valueList(filter.include)})`);
    // Negation drops only events whose field equals a value; events without it stay.
    if (filter.exclude?.length) {
      conditions.push(sql`(${column} is null or ${target} not in (${valueList(filter.exclude)}))`);
    }
  }
  if (query.from) conditions.push(sql`${auditEvents.time} >= ${query.from.toISOString()}::timestamptz`);
  if (query.to) conditions.push(sql`${auditEvents.time} <= ${query.to.toISOString()}::timestamptz`);
  return conditions;
}

/** ISO 8601 UTC with milliseconds, as Date#toISOString writes it. */
const isoTimeOf = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * An event as events.list answers it (what the events service's toAuditEvent makes of a
 * row), built by Postgres as JSON: decoding 18 columns of 51 rows into objects, Dates
 * included, and turning them back into JSON was a third of a list call's server CPU.
 */
const LISTED_EVENT_JSON = sql`json_build_object(
  'id', p.id, 'seq', p.seq, 'time', ${isoTimeOf(sql`p.time`)}, 'recordedAt', ${isoTimeOf(sql`p.recorded_at`)},
  'action', p.action, 'resourceType', p.resource_type, 'resourceId', p.resource_id, 'resourceTarget', p.resource_target,
  'actor', case when p.actor_username is null then null
    else json_build_object('id', p.actor_id, 'username', p.actor_username, 'email', p.actor_email) end,
  'ip', p.ip, 'userAgent', p.user_agent, 'statusCode', p.status_code, 'requestId', p.request_id,
  'diff', p.diff, 'metadata', p.metadata, 'hash', p.hash)`;

/** Newest first, strictly after `after` in that order (keyset: same cost at any depth), as listed events. */
export async function selectListedEventsPage(
  db: Database,
  query: EventQuery,
  after: Position | undefined,
  limit: number,
): Promise<AuditEvent[]> {
  const [row] = await queryRows<{ page: string }>(
    db,
    sql`select coalesce(json_agg(${LISTED_EVENT_JSON} order by p.time desc, p.seq desc), '[]')::text as page
        from (${eventsPageQuery(db, query, after, limit)}) p`,
  );
  return JSON.parse(row!.page) as AuditEvent[];
}

/** The page query itself, unexecuted (tests EXPLAIN it to prove every filter is indexed). */
export function eventsPageQuery(db: Database, query: EventQuery, after: Position | undefined, limit: number) {
  // A cursor at or before the query's upper time bound implies it ((time, seq) < cursor
  // means time <= cursor time), so the bound is left out: with both, Postgres 18 (PGlite)
  // starts the backward index scan at the bound and walks every row down to the cursor,
  // a cost that grows with depth (949 buffers at depth 246k of 1M vs 6; PG 15 picks the
  // cursor either way).
  const impliedTo = after !== undefined && query.to !== undefined && after.time.getTime() <= query.to.getTime();
  const conditions = conditionsOf(impliedTo ? { ...query, to: undefined } : query);
  if (after) {
    conditions.push(
      sql`(${auditEvents.time}, ${auditEvents.seq}) < (${after.time.toISOString()}::timestamptz, ${after.seq}::bigint)`,
    );
  }
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.time), desc(auditEvents.seq))
    .limit(limit);
}

/** Matching events with seq above `afterSeq` (and at most `throughSeq`), in seq order: live replay. */
export async function selectEventsAfterSeq(
  db: Database,
  query: EventQuery,
  afterSeq: number,
  throughSeq: number,
  limit: number,
): Promise<AuditEventRow[]> {
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditionsOf(query), sql`${auditEvents.seq} > ${afterSeq}`, sql`${auditEvents.seq} <= ${throughSeq}`))
    .orderBy(asc(auditEvents.seq))
    .limit(limit);
}

/** Every event with seq above `afterSeq`, in seq order (the live hub's read). */
export async function selectAllAfterSeq(db: Database, afterSeq: number, limit: number): Promise<AuditEventRow[]> {
  return db.select().from(auditEvents).where(sql`${auditEvents.seq} > ${afterSeq}`).orderBy(asc(auditEvents.seq)).limit(limit);
}

export async function selectMaxSeq(db: Database): Promise<number> {
  const [row] = await db.select({ seq: auditEvents.seq }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  return row?.seq ?? 0;
}

/** How many events match, counting no further than `cap` (never a full count). */
export async function countEventsCapped(db: Database, query: EventQuery, cap: number): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(db, cappedCountQuery(query, cap));
  return Number(row?.n ?? 0);
}

/** The capped count itself (tests EXPLAIN it: text filters must count from the index alone). */
export function cappedCountQuery(query: EventQuery, cap: number): SQL {
  const conditions = conditionsOf(query);
  const where = conditions.length ? sql`where ${and(...conditions)}` : sql``;
  return sql`select count(*)::int as n from (select 1 from audit_events ${where} limit ${cap}) capped`;
}

export async function selectEventById(db: Database, id: string): Promise<AuditEventRow | undefined> {
  const [row] = await db.select().from(auditEvents).where(eq(auditEvents.id, id)).limit(1);
  return row;
}

export interface StatsRow {
  bucket: number;
  action: string;
  n: number;
}

/** Counts per action per bucket of `bucketMs`, buckets numbered from the epoch. */
export async function selectEventStats(db: Database, query: EventQuery, bucketMs: number): Promise<StatsRow[]> {
  const conditions = conditionsOf(query);
  const where = conditions.length ? sql`where ${and(...conditions)}` : sql``;
  const rows = await queryRows<{ bucket: string | number; action: string; n: string | number }>(
    db,
    sql`select floor(extract(epoch from time) * 1000 / ${bucketMs}::bigint)::bigint as bucket, action, count(*)::int as n
        from audit_events ${where}
        group by 1, 2 order by 1, 2`,
  );
  return rows.map((r) => ({ bucket: Number(r.bucket), action: r.action, n: Number(r.n) }));
}

/** An exported row: the event and the hash of the event before it in the chain. */
export type ExportRow = AuditEventRow & {
  /** The hash of the previous event in chain (seq) order; null for the oldest event kept. */
  prevHash: string | null;
};

/**
 * One chunk of an export: the events matching `query` (the same conditions as the list,
 * in the same order, newest first) strictly after `after`, recorded at most at
 * `throughSeq` (the chain head when the export began, so the export is one snapshot),
 * each with its chain predecessor's hash (one primary-key probe per row).
 */
export async function selectExportChunk(
  db: Database,
  query: EventQuery,
  after: Position | undefined,
  throughSeq: number,
  limit: number,
): Promise<ExportRow[]> {
  const conditions = conditionsOf(query);
  conditions.push(sql`${auditEvents.seq} <= ${throughSeq}::bigint`);
  if (after) {
    conditions.push(
      sql`(${auditEvents.time}, ${auditEvents.seq}) < (${after.time.toISOString()}::timestamptz, ${after.seq}::bigint)`,
    );
  }
  return db
    .select({
      ...getTableColumns(auditEvents),
      // Inside the subquery the table is `p`, so audit_events names the outer row (spelled
      // out: drizzle writes a selected column unqualified, which would mean p's own).
      prevHash: sql<string | null>`(select p.hash from audit_events p where p.seq < audit_events.seq order by p.seq desc limit 1)`,
    })
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.time), desc(auditEvents.seq))
    .limit(limit);
}
