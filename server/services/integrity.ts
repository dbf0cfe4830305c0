// Tamper evidence: signed checkpoints of the chain head, verification of the chain,
// and retention that removes the oldest events without breaking verification.
import { sql } from 'drizzle-orm';
import { GENESIS_HASH } from '../../shared/canonical.js';
import { WRITE_LOCK_KEY } from '../db/auditEventsStore.js';
import type { Database } from '../db/database.js';
import {
  countEventsAfter,
  deleteOldestEvents,
  insertCheckpoint,
  selectChainSlice,
  selectCheckpoints,
  selectHead,
  selectLatestCheckpoint,
  selectRetentionBoundary,
} from '../db/integrityStore.js';
import type { AuditEventRow, IntegrityCheckpointRow } from '../db/schema.js';
import { chainHash } from './chain.js';
import { recordEvents, type Clock } from './events.js';
import type { Signer } from './signingKey.js';

type CheckpointKind = IntegrityCheckpointRow['kind'];

/** The exact text a checkpoint's signature covers. */
export function checkpointStatement(c: Pick<IntegrityCheckpointRow, 'kind' | 'seq' | 'hash' | 'createdAt'>): string {
  return JSON.stringify(['vigil.checkpoint.v1', c.kind, c.seq, c.hash, c.createdAt.toISOString()]);
}

export interface PublicCheckpoint {
  id: number;
  kind: CheckpointKind;
  seq: number;
  hash: string;
  createdAt: string;
  keyId: string;
  signature: string;
}

export function toPublicCheckpoint(row: IntegrityCheckpointRow): PublicCheckpoint {
  return { ...row, createdAt: row.createdAt.toISOString() };
}

async function signedCheckpoint(
  tx: Database,
  signer: Signer,
  kind: CheckpointKind,
  at: { seq: number; hash: string },
  createdAt: Date,
): Promise<IntegrityCheckpointRow> {
  const statement = { kind, seq: at.seq, hash: at.hash, createdAt };
  return insertCheckpoint(tx, { ...statement, keyId: signer.keyId, signature: signer.sign(checkpointStatement(statement)) });
}

/**
 * Signs the current chain head. With `onlyIfMoved`, does nothing when the newest
 * checkpoint already names the head (the scheduled job).
 */
export async function createCheckpoint(
  db: Database,
  signer: Signer,
  options: { kind: 'scheduled' | 'on_demand'; onlyIfMoved?: boolean; clock?: Clock },
): Promise<PublicCheckpoint | null> {
  const clock = options.clock ?? (() => new Date());
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    // Under the writers' lock the head cannot move while it is read and signed.
    await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    const head = await selectHead(tx);
    if (!head) return null;
    if (options.onlyIfMoved) {
      const latest = await selectLatestCheckpoint(tx);
      if (latest && latest.seq === head.seq && latest.hash === head.hash) return null;
    }
    return toPublicCheckpoint(await signedCheckpoint(tx, signer, options.kind, head, clock()));
  });
}

export type Problem =
  | 'changed' // the event's content no longer matches its hash
  | 'removed' // events before this one are missing
  | 'reordered' // the event is not where the chain put it
  | 'inserted' // the event is not part of the chain (forged)
  | 'checkpoint_mismatch' // the chain was rewritten: a signed checkpoint names another hash
  | 'checkpoint_missing_event' // the event a signed checkpoint names is gone
  | 'checkpoint_signature'; // a checkpoint's signature does not verify

export interface VerifyReport {
  ok: boolean;
  /** Events whose hash was recomputed. */
  checked: number;
  /** The chain was verified from after this seq (0: from the first event ever). */
  fromSeq: number;
  /** The last event verified. */
  toSeq: number | null;
  headHash: string | null;
  checkpointsVerified: number;
  /** The first problem found, if any. */
  firstBad?: { seq: number; problem: Problem; message: string };
  durationMs: number;
  eventsPerSecond: number;
}

export interface VerifyOptions {
  /** Keys whose checkpoints are trusted, by keyId. */
  trusted: Signer[];
  batchSize?: number;
  onProgress?: (checked: number, total: number) => void;
}

type ChainPosition = { seq: number; hash: string };

/**
 * Says how the event at `i` broke the chain, from its neighbours. `prev` is the last
 * event that verified and `before` the one before it.
 */
function diagnose(
  rows: AuditEventRow[],
  i: number,
  prev: ChainPosition,
  before: ChainPosition | null,
): { seq: number; problem: Problem; message: string } {
  const row = rows[i]!;
  const next = rows[i + 1];
  const at = (seq: number, problem: Problem, message: string) => ({ seq, problem, message });
  if (row.seq !== prev.seq + 1) {
    return at(row.seq, 'removed', `seq ${row.seq} does not chain from seq ${prev.seq}: the events between them were removed`);
  }
  // A forger who gave an inserted event a valid hash is caught here, one event later.
  if (before && chainHash(before.hash, row) === row.hash) {
    return at(prev.seq, 'inserted', `seq ${prev.seq} is not part of the chain: it was inserted before seq ${row.seq}`);
  }
  if (next && chainHash(row.hash, next) === next.hash) {
    return at(row.seq, 'changed', `seq ${row.seq} was changed after it was recorded: its content no longer matches its hash`);
  }
  const window = rows.slice(Math.max(0, i - 50), i + 50);
  if (window.some((other) => other !== row && chainHash(other.hash, row) === row.hash)) {
    return at(row.seq, 'reordered', `seq ${row.seq} is out of its place in the chain (it follows another event)`);
  }
  if (next && chainHash(prev.hash, next) === next.hash) {
    return at(row.seq, 'inserted', `seq ${row.seq} is not part of the chain: it was inserted`);
  }
  const belongsHere = window.find((other) => other.seq > row.seq && chainHash(prev.hash, other) === other.hash);
  if (belongsHere) {
    return at(row.seq, 'reordered', `seq ${row.seq} is out of its place; the event that belongs here is at seq ${belongsHere.seq}`);
  }
  return at(row.seq, 'changed', `seq ${row.seq} does not match its hash: it was changed${next ? '' : ' or forged'} after it was recorded`);
}

/**
 * Walks the chain from the newest retention checkpoint (or the first event), recomputing
 * every hash and holding it against every signed checkpoint. Stops at the first problem.
 */
export async function verifyChain(db: Database, options: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 5000;
  const trusted = new Map(options.trusted.map((s) => [s.keyId, s]));
  const checkpoints = await selectCheckpoints(db);

  const finish = (report: Omit<VerifyReport, 'durationMs' | 'eventsPerSecond'>): VerifyReport => {
    const durationMs = performance.now() - started;
    return { ...report, durationMs: Math.round(durationMs), eventsPerSecond: Math.round(report.checked / Math.max(durationMs / 1000, 1e-6)) };
  };

  for (const c of checkpoints) {
    const signer = trusted.get(c.keyId);
    if (!signer || !signer.verify(checkpointStatement(c), c.signature)) {
      return finish({
        ok: false,
        checked: 0,
        fromSeq: 0,
        toSeq: null,
        headHash: null,
        checkpointsVerified: 0,
        firstBad: {
          seq: c.seq,
          problem: 'checkpoint_signature',
          message: signer
            ? `checkpoint ${c.id} at seq ${c.seq} has an invalid signature`
            : `checkpoint ${c.id} at seq ${c.seq} is signed by an unknown key ${c.keyId.slice(0, 16)}`,
        },
      });
    }
  }

  const start = checkpoints.filter((c) => c.kind === 'retention').at(-1);
  let prev: ChainPosition = { seq: start?.seq ?? 0, hash: start?.hash ?? GENESIS_HASH };
  let before: ChainPosition | null = null;
  const fromSeq = prev.seq;
  // Every checkpoint after the start must name a hash the walk meets.
  const pending = checkpoints.filter((c) => c.seq > fromSeq);
  let verifiedCheckpoints = checkpoints.length - pending.length;
  let checked = 0;
  const total = await countEventsAfter(db, fromSeq);
  const report = (extra: Partial<VerifyReport>) =>
    finish({ ok: true, checked, fromSeq, toSeq: checked ? prev.seq : null, headHash: checked ? prev.hash : null, checkpointsVerified: verifiedCheckpoints, ...extra });

  for (;;) {
    const rows = await selectChainSlice(db, prev.seq, batchSize + 1);
    if (rows.length === 0) break;
    const last = rows.length > batchSize ? batchSize : rows.length;
    for (let i = 0; i < last; i++) {
      const row = rows[i]!;
      while (pending.length && pending[0]!.seq < row.seq) {
        const c = pending.shift()!;
        return report({
          ok: false,
          firstBad: { seq: c.seq, problem: 'checkpoint_missing_event', message: `seq ${c.seq}, named by signed checkpoint ${c.id}, was removed` },
        });
      }
      if (chainHash(prev.hash, row) !== row.hash) {
        return report({ ok: false, firstBad: diagnose(rows, i, prev, before) });
      }
      while (pending.length && pending[0]!.seq === row.seq) {
        const c = pending.shift()!;
        if (c.hash !== row.hash) {
          return report({
            ok: false,
            firstBad: {
              seq: row.seq,
              problem: 'checkpoint_mismatch',
              message: `seq ${row.seq} chains, but signed checkpoint ${c.id} names another hash: the chain was rewritten`,
            },
          });
        }
        verifiedCheckpoints++;
      }
      before = prev;
      prev = { seq: row.seq, hash: row.hash };
      checked++;
    }
    options.onProgress?.(checked, total);
    if (rows.length <= batchSize) break;
  }
  if (pending.length) {
    const c = pending[0]!;
    return report({
      ok: false,
      firstBad: {
        seq: c.seq,
        problem: 'checkpoint_missing_event',
        message: `seq ${c.seq}, named by signed checkpoint ${c.id}, was removed (the newest events were deleted)`,
      },
    });
  }
  return report({});
}

export interface RetentionResult {
  deleted: number;
  throughSeq: number | null;
  checkpoint: PublicCheckpoint | null;
}

/**
 * Removes the events recorded more than `retentionDays` ago. First, in one transaction:
 * a signed checkpoint at the new start of the chain and a `delete` event on `audit_log`
 * (no record, no removal). Then the deletion, in batches, through the trigger's
 * retention path. Interrupted, it is simply run again.
 */
export async function runRetention(
  db: Database,
  signer: Signer,
  options: { retentionDays: number; clock?: Clock; batchSize?: number },
): Promise<RetentionResult> {
  const clock = options.clock ?? (() => new Date());
  const now = clock();
  const cutoff = new Date(now.getTime() - options.retentionDays * 86_400_000);
  const planned = await db.transaction(async (t) => {
    const tx = t as unknown as Database;
    await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    const boundary = await selectRetentionBoundary(tx, cutoff);
    if (!boundary) return null;
    const checkpoint = await signedCheckpoint(tx, signer, 'retention', boundary, now);
    return { boundary, checkpoint };
  });
  if (!planned) return { deleted: 0, throughSeq: null, checkpoint: null };
  // Recorded after the checkpoint's transaction (it takes the same lock) but before any row goes.
  await recordEvents(
    db,
    [
      {
        action: 'delete',
        resourceType: 'audit_log',
        resourceTarget: 'audit_events',
        metadata: {
          reason: 'retention',
          retentionDays: options.retentionDays,
          cutoff: cutoff.toISOString(),
          throughSeq: planned.boundary.seq,
          events: planned.boundary.count,
          checkpointId: planned.checkpoint.id,
        },
      },
    ],
    clock,
  );
  let deleted = 0;
  for (;;) {
    const n = await deleteOldestEvents(db, planned.boundary.seq, options.batchSize ?? 10_000);
    deleted += n;
    if (n === 0) break;
  }
  return { deleted, throughSeq: planned.boundary.seq, checkpoint: toPublicCheckpoint(planned.checkpoint) };
}
