// The one module that reads and writes the sinks table: configuration, the durable
// delivery cursor, and the lease that lets one process at a time deliver a sink. Lease
// times come from the database's clock, so replicas with skewed clocks agree.
import { asc, eq, sql } from 'drizzle-orm';
import { queryRows, type Database } from './database.js';
import { sinks, type SinkRow } from './schema.js';

export type NewSinkRow = typeof sinks.$inferInsert;

/** The columns a sinks.update may change. */
export type SinkConfigChange = Partial<Pick<SinkRow, 'name' | 'kind' | 'url' | 'format' | 'q' | 'secretCiphertext' | 'batchSize' | 'caFile'>>;

export async function insertSink(db: Database, row: NewSinkRow): Promise<void> {
  await db.insert(sinks).values(row);
}

export async function selectSinks(db: Database): Promise<SinkRow[]> {
  return db.select().from(sinks).orderBy(asc(sinks.createdAt), asc(sinks.id));
}

/** One sink; `forUpdate` locks its row for the transaction (a change reads the true old values). */
export async function selectSinkById(db: Database, id: string, forUpdate = false): Promise<SinkRow | undefined> {
  const query = db.select().from(sinks).where(eq(sinks.id, id));
  const [row] = await (forUpdate ? query.for('update') : query);
  return row;
}

export async function selectSinkByName(db: Database, name: string): Promise<SinkRow | undefined> {
  const [row] = await db.select().from(sinks).where(sql`lower(${sinks.name}) = lower(${name})`);
  return row;
}

export async function updateSinkConfig(db: Database, id: string, change: SinkConfigChange, updatedAt: Date): Promise<void> {
  await db.update(sinks).set({ ...change, updatedAt }).where(eq(sinks.id, id));
}

export async function deleteSinkRow(db: Database, id: string): Promise<void> {
  await db.delete(sinks).where(eq(sinks.id, id));
}

/** Whether a unique-index violation on the sink's name is what `error` is (or wraps). */
export function isDuplicateSinkName(error: unknown): boolean {
  for (let e = error as { code?: unknown; constraint_name?: unknown; constraint?: unknown; cause?: unknown } | undefined, d = 0; e && d < 5; e = e.cause as typeof e, d++) {
    if (e.code === '23505') return true;
  }
  return false;
}

/**
 * Takes the sink's lease for `owner` when nobody holds it, the holder's lease ran out, or
 * `owner` already holds it. Answers the sink's row when `owner` holds the lease now.
 */
export async function acquireSinkLease(db: Database, id: string, owner: string, leaseMs: number): Promise<SinkRow | undefined> {
  const [row] = await db
    .update(sinks)
    .set({ leaseOwner: owner, leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'` })
    .where(sql`${sinks.id} = ${id} and (${sinks.leaseOwner} is null or ${sinks.leaseOwner} = ${owner} or ${sinks.leaseUntil} < now())`)
    .returning();
  return row;
}

/**
 * Extends the lease; false when it is no longer ours, the sink is gone or, given
 * `configuredAt`, its configuration changed since (the worker must not send in the old form).
 */
export async function renewSinkLease(db: Database, id: string, owner: string, leaseMs: number, configuredAt?: Date): Promise<boolean> {
  const sameConfig = configuredAt ? sql` and ${sinks.updatedAt} = ${configuredAt.toISOString()}::timestamptz` : sql``;
  const rows = await db
    .update(sinks)
    .set({ leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'` })
    .where(sql`${sinks.id} = ${id} and ${sinks.leaseOwner} = ${owner}${sameConfig}`)
    .returning({ id: sinks.id });
  return rows.length === 1;
}

export async function releaseSinkLease(db: Database, id: string, owner: string): Promise<void> {
  await db
    .update(sinks)
    .set({ leaseOwner: null, leaseUntil: null })
    .where(sql`${sinks.id} = ${id} and ${sinks.leaseOwner} = ${owner}`);
}

/**
 * Moves the cursor after a delivered batch, only while `owner` holds the lease (a process
 * that lost it must not move the cursor of the one that took over), and renews the lease.
 * `sameConfig`: the sink's configuration is still the one of `configuredAt` (its worker
 * may send the next batch at once without asking again).
 */
export async function advanceSinkCursor(
  db: Database,
  id: string,
  owner: string,
  update: { cursorSeq: number; delivered: number; leaseMs: number; configuredAt: Date },
): Promise<{ held: boolean; sameConfig: boolean }> {
  const rows = await db
    .update(sinks)
    .set({
      cursorSeq: sql`greatest(${sinks.cursorSeq}, ${update.cursorSeq})`,
      delivered: sql`${sinks.delivered} + ${update.delivered}`,
      ...(update.delivered > 0 ? { lastDeliveredAt: sql`now()` } : {}),
      lastError: null,
      lastErrorAt: null,
      leaseUntil: sql`now() + ${update.leaseMs} * interval '1 millisecond'`,
    })
    .where(sql`${sinks.id} = ${id} and ${sinks.leaseOwner} = ${owner}`)
    .returning({ updatedAt: sinks.updatedAt });
  const [row] = rows;
  return { held: row !== undefined, sameConfig: row !== undefined && row.updatedAt.getTime() === update.configuredAt.getTime() };
}

export async function recordSinkError(db: Database, id: string, owner: string, message: string): Promise<void> {
  await db
    .update(sinks)
    .set({ lastError: message.slice(0, 1000), lastErrorAt: sql`now()` })
    .where(sql`${sinks.id} = ${id} and ${sinks.leaseOwner} = ${owner}`);
}

/** The lowest cursor of all sinks (null: no sinks): retention keeps every event after it. */
export async function selectLowestSinkCursor(db: Database): Promise<{ cursorSeq: number; name: string } | null> {
  const [row] = await db.select({ cursorSeq: sinks.cursorSeq, name: sinks.name }).from(sinks).orderBy(asc(sinks.cursorSeq)).limit(1);
  return row ?? null;
}

export interface SinkLagRow {
  id: string;
  name: string;
  /** Events recorded after the cursor (the head's seq minus the cursor). */
  events: number;
  /** When the oldest of them was recorded (null when there is none). */
  oldestWaitingAt: Date | null;
}

/** Each sink's lag, from the primary key alone (the head and the first event after each cursor). */
export async function selectSinkLags(db: Database): Promise<SinkLagRow[]> {
  const rows = await queryRows<{ id: string; name: string; events: string | number | null; oldest: string | Date | null }>(
    db,
    sql`select s.id, s.name,
          greatest(coalesce((select max(seq) from audit_events), 0) - s.cursor_seq, 0) as events,
          (select e.recorded_at from audit_events e where e.seq > s.cursor_seq order by e.seq limit 1) as oldest
        from sinks s`,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    events: Number(r.events ?? 0),
    oldestWaitingAt: r.oldest === null ? null : new Date(r.oldest),
  }));
}
