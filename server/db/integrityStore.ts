// The one module for integrity_checkpoints, and the chain-ordered reads of audit_events
// that verification and retention need.
import { asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { GENESIS_HASH, type CanonicalEventFields } from '../../shared/canonical.js';
import { HASHED_FIELDS } from '../../shared/eventFields.js';
import { queryRows, type Database } from './database.js';
import { auditEvents, integrityCheckpoints, type AuditEventRow, type IntegrityCheckpointRow } from './schema.js';

export type NewCheckpoint = Omit<IntegrityCheckpointRow, 'id'>;

export async function insertCheckpoint(db: Database, checkpoint: NewCheckpoint): Promise<IntegrityCheckpointRow> {
  const [row] = await db.insert(integrityCheckpoints).values(checkpoint).returning();
  return row!;
}

export async function selectCheckpoints(db: Database): Promise<IntegrityCheckpointRow[]> {
  return db.select().from(integrityCheckpoints).orderBy(asc(integrityCheckpoints.seq), asc(integrityCheckpoints.id));
}

export async function selectLatestCheckpoint(db: Database): Promise<IntegrityCheckpointRow | undefined> {
  const [row] = await db.select().from(integrityCheckpoints).orderBy(desc(integrityCheckpoints.id)).limit(1);
  return row;
}

/** The newest event's position in the chain. */
export async function selectHead(db: Database): Promise<{ seq: number; hash: string } | undefined> {
  const [row] = await db
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  return row;
}

/** Events in chain order after `afterSeq`, `limit` at a time. */
export async function selectChainSlice(db: Database, afterSeq: number, limit: number): Promise<AuditEventRow[]> {
  return db.select().from(auditEvents).where(gt(auditEvents.seq, afterSeq)).orderBy(asc(auditEvents.seq)).limit(limit);
}

/** The hashed columns, times written by Postgres in the canonical form (no Date round trip per value). */
const CANONICAL_COLUMNS = sql.raw(
  HASHED_FIELDS.map((f) =>
    f.sqlType === 'timestamptz'
      ? `to_char(${f.column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "${f.key}"`
      : `${f.column} as "${f.key}"`,
  ).join(', '),
);

/**
 * Like selectChainSlice, only the fields canonicalEvent reads (and seq): what the Merkle
 * tree's integrator hashes, read at about half the cost of whole rows.
 */
export async function selectCanonicalSlice(
  db: Database,
  afterSeq: number,
  limit: number,
): Promise<(CanonicalEventFields & { seq: number; id: string })[]> {
  const rows = await queryRows<CanonicalEventFields & { seq: string | number; id: string }>(
    db,
    sql`select seq, ${CANONICAL_COLUMNS} from audit_events where seq > ${afterSeq} order by seq limit ${limit}`,
  );
  for (const row of rows) row.seq = Number(row.seq);
  return rows as (CanonicalEventFields & { seq: number; id: string })[];
}

/** Events with afterSeq < seq <= throughSeq. */
export async function countEventsBetween(db: Database, afterSeq: number, throughSeq: number): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::bigint as n from audit_events where seq > ${afterSeq} and seq <= ${throughSeq}`,
  );
  return Number(row?.n ?? 0);
}

/**
 * The last id the checkpoints' identity column has handed out (0: none). Sequences ignore
 * transactions, so a checkpoint deleted later leaves its id issued here.
 */
export async function selectLastCheckpointIdIssued(db: Database): Promise<number> {
  const [row] = await queryRows<{ last_value: string | number; is_called: boolean }>(
    db,
    sql`select last_value, is_called from integrity_checkpoints_id_seq`,
  );
  return row?.is_called ? Number(row.last_value) : 0;
}

export async function countEventsAfter(db: Database, afterSeq: number): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::bigint as n from audit_events where seq > ${afterSeq}`);
  return Number(row?.n ?? 0);
}

/**
 * The last seq of the oldest prefix of the chain recorded before `cutoff`, and its
 * hash: what retention may remove. Undefined when nothing is that old.
 */
export async function selectRetentionBoundary(
  db: Database,
  cutoff: Date,
  /** No boundary past this seq (the lowest sink cursor: events a sink has not delivered stay). */
  atMostSeq = Number.MAX_SAFE_INTEGER,
): Promise<{ seq: number; hash: string; count: number } | undefined> {
  const [row] = await queryRows<{ seq: string | null; hash: string | null; n: string | number }>(
    db,
    sql`with firstkept as (select min(seq) as seq from audit_events where recorded_at >= ${cutoff.toISOString()}::timestamptz),
         boundary as (
           select seq, hash from audit_events
           where seq < coalesce((select seq from firstkept), 9223372036854775807) and seq <= ${atMostSeq}
           order by seq desc limit 1)
        select b.seq, b.hash, (select count(*) from audit_events where seq <= b.seq) as n from boundary b`,
  );
  if (!row || row.seq === null || row.hash === null) return undefined;
  return { seq: Number(row.seq), hash: row.hash, count: Number(row.n) };
}

/** Deletes up to `limit` of the oldest events through `throughSeq`, through the trigger's retention path. */
export async function deleteOldestEvents(db: Database, throughSeq: number, limit: number): Promise<number> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    await tx.execute(sql`select set_config('vigil.retention_through_seq', ${String(throughSeq)}, true)`);
    const rows = await queryRows<{ seq: string }>(
      tx,
      sql`delete from audit_events where seq in (
            select seq from audit_events where seq <= ${throughSeq} order by seq limit ${limit})
          returning seq`,
    );
    return rows.length;
  });
}


/** The newest checkpoint at or before `seq` (what an export up to `seq` can be held against). */
export async function selectLatestCheckpointThrough(db: Database, seq: number): Promise<IntegrityCheckpointRow | undefined> {
  const [row] = await db
    .select()
    .from(integrityCheckpoints)
    .where(lte(integrityCheckpoints.seq, seq))
    .orderBy(desc(integrityCheckpoints.seq), desc(integrityCheckpoints.id))
    .limit(1);
  return row;
}

/** Where the kept chain starts: the newest retention checkpoint, else the genesis (seq 0). */
export async function selectChainStart(db: Database): Promise<{ seq: number; hash: string }> {
  const [row] = await db
    .select({ seq: integrityCheckpoints.seq, hash: integrityCheckpoints.hash })
    .from(integrityCheckpoints)
    .where(eq(integrityCheckpoints.kind, 'retention'))
    .orderBy(desc(integrityCheckpoints.seq))
    .limit(1);
  return row ?? { seq: 0, hash: GENESIS_HASH };
}
