// The queries of the audit_events table. Writing (the chain, the group commit) is
// server/db/eventWriter.ts.
import { and, asc, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { AuditEvent } from '../../shared/event.js';
import { EVENT_FIELDS, QUERY_FIELDS, type EventField } from '../../shared/eventFields.js';
import type { FieldFilter, FilterField } from '../../shared/query.js';
import { queryRows, queryRowsPrepared, type Database } from './database.js';
import { auditEvents, type AuditEventRow } from './schema.js';

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

/** The column each query key filters on (shared/eventFields.ts). */
const columnOf = (key: FilterField): PgColumn => auditEvents[QUERY_FIELDS[key].key];

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
    const column = columnOf(field);
    const target = QUERY_FIELDS[field].query.caseInsensitive ? sql`lower(${column})` : sql`${column}`;
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

/** A field's listed form in SQL, from the page's row `p`. */
function listedSqlOf(f: EventField): SQL {
  const column = sql.raw(`p.${f.column}`);
  return f.sqlType === 'timestamptz' ? isoTimeOf(column) : column;
}

/**
 * An event as events.list answers it (toAuditEvent's JSON), built by Postgres from the
 * field table: decoding 18 columns of 51 rows into objects, Dates included, and turning
 * them back into JSON was a third of a list call's server CPU.
 */
const LISTED_EVENT_JSON: SQL = (() => {
  const entries: SQL[] = [];
  const done = new Set<string>();
  for (const f of EVENT_FIELDS as readonly EventField[]) {
    const { key, part } = f.listed;
    if (done.has(key)) continue;
    done.add(key);
    if (part === undefined) {
      entries.push(sql`${sql.raw(`'${key}'`)}, ${listedSqlOf(f)}`);
      continue;
    }
    const parts = (EVENT_FIELDS as readonly EventField[]).filter((g) => g.listed.key === key);
    const presence = parts.find((g) => g.listed.presence)!;
    const object = sql.join(
      parts.map((g) => sql`${sql.raw(`'${g.listed.part}'`)}, ${listedSqlOf(g)}`),
      sql`, `,
    );
    entries.push(sql`${sql.raw(`'${key}'`)}, case when ${listedSqlOf(presence)} is null then null else json_build_object(${object}) end`);
  }
  return sql`json_build_object(${sql.join(entries, sql`, `)})`;
})();

/** A string in JSON text (a regular expression). */
const JSON_STRING_RE = String.raw`"(?:[^"\\]|\\.)*"`;

/**
 * A jsonb value as JSON.stringify writes what JSON.parse makes of it: Postgres writes jsonb
 * with a space after each `:` and `,`; outside strings those are dropped. Plain replace()
 * first (~3 µs a value; the regular expression 6-14 µs): right unless a string holds `: ` or
 * `, `, which the text then no longer reads back as the same value, and the expression
 * that skips strings does it.
 */
const compactJsonOf = (column: SQL) => {
  const replaced = sql`replace(replace(${column}::text, ': ', ':'), ', ', ',')`;
  return sql`case when ${column} = '{}'::jsonb then '{}' when ${replaced}::jsonb = ${column} then ${replaced}
    else regexp_replace(${column}::text, ${sql.raw(`'(${JSON_STRING_RE})|([:,]) '`)}, '\\1\\2', 'g') end`;
};

/**
 * Whether a jsonb value's compact text may differ from JSON.stringify(JSON.parse(text)):
 * JavaScript puts integer keys first (jsonb sorts keys by length), and writes numbers its
 * own way (1.50 as 1.5, long integers rounded). Outside strings: a digit-only key, a
 * decimal point or 16 digits in a row. Such an event is written in JavaScript instead.
 * One plain match first, true wherever the exact check (strings removed) may be.
 */
const jsonNeedsJsOf = (column: SQL) =>
  sql`(${column} <> '{}'::jsonb and ${column}::text ~ '[0-9]": |[.]|[0-9]{16}' and (${column}::text ~ '"[0-9]+": ' or regexp_replace(${column}::text, ${sql.raw(`'${JSON_STRING_RE}'`)}, '', 'g') ~ '[.]|[0-9]{16}'))`;

/**
 * What isoTimeOf writes, for about half of to_char's cost (~1 µs a call against ~2, three
 * calls per event of a vigil sink's JSON and syslog header): the seconds from the
 * timestamp's JSON text (ISO 8601 whatever DateStyle says), the milliseconds (truncated,
 * as to_char and Date do) from its microseconds.
 */
const fastIsoTimeOf = (column: SQL) =>
  sql`concat(substr(to_json(${column} at time zone 'UTC')::text, 2, 19), '.', right(((date_part('microseconds', ${column} at time zone 'UTC')::int / 1000) % 1000 + 1000)::text, 3), 'Z')`;

/** A field's value as JSON.stringify writes its listed form, from the row `b`. */
function jsonTextOf(f: EventField): SQL {
  const column = sql.raw(`b.${f.column}`);
  const text = (() => {
    switch (f.sqlType) {
      case 'bigint':
      case 'integer':
        return sql`${column}::text`;
      case 'uuid':
        return sql`'"' || ${column}::text || '"'`;
      case 'timestamptz':
        // Written once per row, below (ISO_TIMES_OF_ROW): the syslog header takes it too.
        return sql`'"' || ${sql.raw(`b.iso_${f.column}`)} || '"'`;
      case 'jsonb':
        return compactJsonOf(column);
      case 'text':
      case 'inet':
        return sql`to_json(${column})::text`;
    }
  })();
  return f.nullable ? sql`coalesce(${text}, 'null')` : text;
}

/**
 * An event as JSON.stringify(toAuditEvent(row)) writes it, byte for byte, built by
 * Postgres (a sink then neither decodes the row nor encodes the event): keys in the listed
 * order, the actor null when it has no username. Only valid where EVENT_NEEDS_JS is false;
 * reads the row `b` with its times written once (ISO_TIMES_OF_ROW).
 */
const EVENT_JSON_TEXT: SQL = (() => {
  const pieces: SQL[] = [];
  const done = new Set<string>();
  for (const f of EVENT_FIELDS as readonly EventField[]) {
    const { key, part } = f.listed;
    if (done.has(key)) continue;
    done.add(key);
    pieces.push(sql.raw(`'${done.size === 1 ? '{' : ','}"${key}":'`));
    if (part === undefined) {
      pieces.push(jsonTextOf(f));
      continue;
    }
    const parts = (EVENT_FIELDS as readonly EventField[]).filter((g) => g.listed.key === key);
    const presence = parts.find((g) => g.listed.presence)!;
    const object = sql.join(
      parts.map((g, i) => sql`${sql.raw(`'${i === 0 ? '{' : ','}"${g.listed.part}":'`)}, ${jsonTextOf(g)}`),
      sql`, `,
    );
    pieces.push(sql`case when ${sql.raw(`b.${presence.column}`)} is null then 'null' else concat(${object}, '}') end`);
  }
  pieces.push(sql.raw(`'}'`));
  return sql`concat(${sql.join(pieces, sql`, `)})`;
})();

/** The row's times as isoTimeOf writes them (`iso_<column>`), which EVENT_JSON_TEXT reads. */
const ISO_TIMES_OF_ROW: SQL = sql.join(
  (EVENT_FIELDS as readonly EventField[]).filter((f) => f.sqlType === 'timestamptz').map((f) => sql`${fastIsoTimeOf(sql.raw(`b.${f.column}`))} as ${sql.raw(`iso_${f.column}`)}`),
  sql`, `,
);

/** True for the events whose JSON text EVENT_JSON_TEXT may not write as JavaScript does. */
const EVENT_NEEDS_JS: SQL = (() => {
  const checks = (EVENT_FIELDS as readonly EventField[]).filter((f) => f.sqlType === 'jsonb').map((f) => jsonNeedsJsOf(sql.raw(`b.${f.column}`)));
  return sql`(${sql.join(checks, sql` or `)})`;
})();

/** An event as a sink sends it: its JSON text (the listed event) and what a syslog header needs. */
export interface SinkEventText {
  seq: number;
  /** When it was recorded (epoch ms). */
  recordedAtMs: number;
  action: string;
  /** Its time as Date#toISOString writes it. */
  time: string;
  /** Its JSON text; null where Postgres may not write it as JavaScript does (the caller writes it). */
  json: string | null;
  /** The JSON text's length in UTF-8 bytes (0 where `json` is null). */
  bytes: number;
}

/**
 * The matching events above `afterSeq` (at most `throughSeq`), up to `limit`, in seq order,
 * each with its listed JSON text built by Postgres as JavaScript writes it (no row decoded,
 * no event encoded in the server). The framing (NDJSON lines, syslog headers and octet
 * counts) and other formats are the caller's: one read serves every sink of the same
 * filter. Events Postgres may not write exactly (EVENT_NEEDS_JS) come with `json` null.
 */
export async function selectSinkEventTexts(db: Database, query: EventQuery, afterSeq: number, throughSeq: number, limit: number): Promise<SinkEventText[]> {
  const conditions = [...conditionsOf(query), sql`${auditEvents.seq} > ${afterSeq}`, sql`${auditEvents.seq} <= ${throughSeq}`];
  // A row per event, not one aggregated value: a multi-megabyte string_agg (and its sort)
  // cost Postgres twice the CPU of the rows themselves.
  // Columns named and typed as SinkEventText wants them (seq as float8: a number, exact
  // below 2^53): the driver's rows are the result, no object made again per event.
  const texts = await queryRowsPrepared<SinkEventText & Record<string, unknown>>(
    db,
    // offset 0: each level computed once per row (not inlined where `js` and `m` are used twice).
    sql`select seq::float8 as "seq", at as "recordedAtMs", a as "action", t as "time", m as "json", coalesce(octet_length(m), 0) as "bytes"
        from (select b.seq, date_part('epoch', b.recorded_at) * 1000 as at, b.action as a, b.iso_time as t,
                     case when b.js then null else ${EVENT_JSON_TEXT} end as m
              from (select b.*, ${EVENT_NEEDS_JS} as js, ${ISO_TIMES_OF_ROW}
                    from (select * from audit_events where ${and(...conditions)} order by seq limit ${limit}) b offset 0) b offset 0) batch`,
  );
  // The rows come as the innermost query orders them (nothing above it reorders); an outer
  // ORDER BY would sort every text again. Checked here all the same.
  if (texts.some((row, i) => i > 0 && row.seq <= texts[i - 1]!.seq)) texts.sort((a, b) => a.seq - b.seq);
  return texts;
}

/** The events of these seqs, in seq order. */
export async function selectEventsBySeq(db: Database, seqs: number[]): Promise<AuditEventRow[]> {
  if (seqs.length === 0) return [];
  return db
    .select()
    .from(auditEvents)
    .where(sql`${auditEvents.seq} in (${sql.join(seqs.map((s) => sql`${s}`), sql`, `)})`)
    .orderBy(asc(auditEvents.seq));
}

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

/**
 * The events after `afterSeq`, in seq order, with only their seq and the fields `keys`:
 * the live hub matches its subscribers' queries on these, then reads whole only the few
 * events that match (selectEventsBySeqs), instead of every column of every new event.
 */
export async function selectFieldsAfterSeq<K extends keyof AuditEventRow>(
  db: Database,
  afterSeq: number,
  limit: number,
  keys: readonly K[],
): Promise<Pick<AuditEventRow, K | 'seq'>[]> {
  const columns: Record<string, PgColumn> = { seq: auditEvents.seq };
  for (const key of keys) columns[key] = auditEvents[key];
  const rows = await db.select(columns).from(auditEvents).where(sql`${auditEvents.seq} > ${afterSeq}`).orderBy(asc(auditEvents.seq)).limit(limit);
  return rows as unknown as Pick<AuditEventRow, K | 'seq'>[];
}

/** The events with these seqs (those that still exist), in seq order. */
export async function selectEventsBySeqs(db: Database, seqs: readonly number[]): Promise<AuditEventRow[]> {
  if (seqs.length === 0) return [];
  return db.select().from(auditEvents).where(inArray(auditEvents.seq, [...seqs])).orderBy(asc(auditEvents.seq));
}

export async function selectMaxSeq(db: Database): Promise<number> {
  const [row] = await db.select({ seq: auditEvents.seq }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  return row?.seq ?? 0;
}

/** The head (highest seq) and when the first event after `afterSeq` was recorded (epoch ms; null: none), from the primary key. */
export async function selectHeadAfter(db: Database, afterSeq: number): Promise<{ head: number; firstRecordedAtMs: number | null }> {
  const [row] = await queryRows<{ head: number | string | null; first: number | string | null }>(
    db,
    sql`select (select max(seq) from audit_events) as head,
          (select (extract(epoch from recorded_at) * 1000)::float8 from audit_events where seq > ${afterSeq} order by seq limit 1) as first`,
  );
  return { head: Number(row?.head ?? 0), firstRecordedAtMs: row?.first === null || row?.first === undefined ? null : Number(row.first) };
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
