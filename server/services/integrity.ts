// Tamper evidence: signed checkpoints of the chain head, verification of the chain,
// and retention that removes the oldest events without breaking verification.
import { sql } from 'drizzle-orm';
import { GENESIS_HASH } from '../../shared/canonical.js';
import { checkpointDigest, checkpointStatement } from '../../shared/verifyExport.js';
import { WRITE_LOCK_KEY, type EventWriter } from '../db/eventWriter.js';
import type { Database } from '../db/database.js';
import {
  countEventsAfter,
  countEventsBetween,
  deleteOldestEvents,
  insertCheckpoint,
  selectChainSlice,
  selectCheckpoints,
  selectHead,
  selectLastCheckpointIdIssued,
  selectLatestCheckpoint,
  selectRetentionBoundary,
} from '../db/integrityStore.js';
import type { AuditEventRow, IntegrityCheckpointRow } from '../db/schema.js';
import { selectLowestSinkCursor } from '../db/sinksStore.js';
import { logger } from '../logger.js';
import { retentionHeldEvents } from '../metrics.js';
import { chainHash } from '../../shared/chain.js';
import { recordEvents, type Clock } from './events.js';
import { integrateEvents } from './merkleTree.js';
import { selectLeafIndexesAtSeqs } from '../db/merkleStore.js';
import type { Signer } from './signingKey.js';

type CheckpointKind = IntegrityCheckpointRow['kind'];

/** The exact text a checkpoint's signature covers (one definition, shared with offline verification). */
export { checkpointStatement };

export interface PublicCheckpoint {
  id: number;
  kind: CheckpointKind;
  seq: number;
  hash: string;
  createdAt: string;
  keyId: string;
  signature: string;
  prevId: number | null;
  prevDigest: string | null;
  events: number | null;
}

export function toPublicCheckpoint(row: IntegrityCheckpointRow): PublicCheckpoint {
  return { ...row, createdAt: row.createdAt.toISOString() };
}

/** How a checkpoint names the one before it (the newest, by id): its id and digest; 0 and zeros for none. */
function linkTo(previous: IntegrityCheckpointRow | undefined): { prevId: number; prevDigest: string } {
  return previous ? { prevId: previous.id, prevDigest: checkpointDigest(previous) } : { prevId: 0, prevDigest: GENESIS_HASH };
}

/** Signs and stores a checkpoint after `previous`, which the caller read under the writers' lock. */
async function signedCheckpoint(
  tx: Database,
  signer: Signer,
  kind: CheckpointKind,
  at: { seq: number; hash: string },
  createdAt: Date,
  previous: IntegrityCheckpointRow | undefined,
  events: number | null,
): Promise<IntegrityCheckpointRow> {
  const statement = { kind, seq: at.seq, hash: at.hash, createdAt, ...linkTo(previous), events };
  return insertCheckpoint(tx, { ...statement, keyId: signer.keyId, signature: signer.sign(checkpointStatement(statement)) });
}

/**
 * Signs the chain head. With `onlyIfMoved`, does nothing when the newest checkpoint
 * already names the head (the scheduled job).
 */
export async function createCheckpoint(
  db: Database,
  signer: Signer,
  options: { kind: 'scheduled' | 'on_demand'; onlyIfMoved?: boolean; clock?: Clock },
): Promise<PublicCheckpoint | null> {
  const clock = options.clock ?? (() => new Date());
  const unchanged = (latest: IntegrityCheckpointRow | undefined, head: { seq: number; hash: string }) =>
    options.onlyIfMoved === true &&
    latest !== undefined &&
    (latest.seq > head.seq || (latest.seq === head.seq && latest.hash === head.hash));
  // The events since the newest checkpoint are counted before the writers' lock (a count
  // over ten minutes of ingest would stall writers); the checkpoint then signs the head
  // as it was counted: a committed row, which no writer can precede any more.
  const counted = await selectLatestCheckpoint(db);
  const head = await selectHead(db);
  if (!head || unchanged(counted, head)) return null;
  const events = counted && counted.seq > head.seq ? null : await countEventsBetween(db, counted?.seq ?? 0, head.seq);
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    // Under the writers' lock no other checkpoint is made between the read of the newest one and this one.
    await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    const latest = await selectLatestCheckpoint(tx);
    if (unchanged(latest, head)) return null;
    const sameBase = latest?.id === counted?.id;
    return toPublicCheckpoint(await signedCheckpoint(tx, signer, options.kind, head, clock(), latest, sameBase ? events : null));
  });
}

export type Problem =
  | 'changed' // the event's content no longer matches its hash
  | 'removed' // events before this one are missing
  | 'reordered' // the event is not where the chain put it
  | 'inserted' // the event is not part of the chain (forged)
  | 'checkpoint_mismatch' // the chain was rewritten: a signed checkpoint names another hash
  | 'changed_or_removed' // seq skips numbers here and neither the Merkle tree nor a signed count covers it
  | 'checkpoint_missing_event' // the event a signed checkpoint names is gone
  | 'checkpoint_missing' // a signed checkpoint was deleted (the chain of checkpoints is broken)
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
  firstBad?: Finding;
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
 * Says how the event at `i` broke the chain, from its neighbours' hashes and positions.
 * `prev` is the last event that verified and `before` the one before it. Gaps in seq are
 * no evidence: a rolled-back write consumes numbers too.
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
  // With no number between them nothing can have been removed; with a gap, the chain
  // breaks the same way whether `row` was changed or the events before it were removed.
  const changed = (message: string) =>
    row.seq === prev.seq + 1
      ? at(row.seq, 'changed', message)
      : at(row.seq, 'changed_or_removed', `seq ${row.seq} does not chain from seq ${prev.seq}: it was changed after it was recorded, or events between them were removed`);
  // A forger who gave an inserted event a valid hash is caught here, one event later.
  if (before && chainHash(before.hash, row) === row.hash) {
    return at(prev.seq, 'inserted', `seq ${prev.seq} is not part of the chain: it was inserted before seq ${row.seq}`);
  }
  if (next && chainHash(row.hash, next) === next.hash) {
    return changed(`seq ${row.seq} was changed after it was recorded: its content no longer matches its hash`);
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
  return changed(`seq ${row.seq} does not match its hash: it was changed${next ? '' : ' or forged'} after it was recorded`);
}

type Finding = { seq: number; problem: Problem; message: string };

/**
 * Settles `changed_or_removed` from positions: the Merkle tree gave every event a leaf
 * index when it was integrated (dense, whatever gaps seq has). Leaves between the last
 * good event's and this one's: events were removed; none: the gap is numbers a
 * rolled-back write consumed, and this event was changed. Not settled when the tree has
 * not reached the event yet.
 */
async function settleWithTree(db: Database, finding: Finding, prev: ChainPosition): Promise<Finding> {
  if (finding.problem !== 'changed_or_removed') return finding;
  const leaves = await selectLeafIndexesAtSeqs(db, prev.seq === 0 ? [finding.seq] : [prev.seq, finding.seq]);
  const own = leaves.get(finding.seq);
  const before = prev.seq === 0 ? -1 : leaves.get(prev.seq);
  if (own === undefined || before === undefined) return finding;
  const between = own - before - 1;
  if (between === 0) {
    return {
      seq: finding.seq,
      problem: 'changed',
      message: `seq ${finding.seq} was changed after it was recorded: its content no longer matches its hash (no event is missing: it is leaf ${own} of the Merkle tree, right after seq ${prev.seq}; the seq numbers between were consumed by a rolled-back write)`,
    };
  }
  const leavesBetween = between === 1 ? `leaf ${before + 1}` : `leaves ${before + 1} to ${own - 1}`;
  return {
    seq: finding.seq,
    problem: 'removed',
    message: `seq ${finding.seq} does not chain from seq ${prev.seq}: ${between} event${between === 1 ? ' was' : 's were'} removed between them (the Merkle tree holds ${leavesBetween} there)`,
  };
}

/**
 * Settles `changed_or_removed` with a signed count: the first chained checkpoint after the
 * break that counted the events since one before the break. Fewer events there now:
 * some were removed; as many: none was, the event was changed.
 */
async function settleWithCount(
  db: Database,
  finding: Finding,
  prev: ChainPosition,
  fromSeq: number,
  checkpoints: IntegrityCheckpointRow[],
): Promise<Finding> {
  if (finding.problem !== 'changed_or_removed') return finding;
  const byId = new Map(checkpoints.map((c) => [c.id, c]));
  for (const c of checkpoints) {
    if (c.seq < finding.seq || c.events === null || c.prevId === null) continue;
    const after = c.prevId === 0 ? 0 : byId.get(c.prevId)?.seq;
    if (after === undefined || after > prev.seq || after < fromSeq) continue;
    const now = await countEventsBetween(db, after, c.seq);
    if (now < c.events) {
      return {
        seq: finding.seq,
        problem: 'removed',
        message: `seq ${finding.seq} does not chain from seq ${prev.seq}: events between them were removed (signed checkpoint ${c.id} counted ${c.events} events after seq ${after}, ${now} are left)`,
      };
    }
    if (now === c.events) {
      return {
        seq: finding.seq,
        problem: 'changed',
        message: `seq ${finding.seq} was changed after it was recorded: its content no longer matches its hash (no event is missing: signed checkpoint ${c.id} counted all ${c.events} after seq ${after})`,
      };
    }
    return finding;
  }
  return finding;
}

/**
 * A break in the chain of checkpoints: each chained checkpoint must name the one made
 * just before it, and every id the checkpoints' identity column handed out must still be there (the newest
 * checkpoints deleted, perhaps with the newest events). Checkpoints made before they were
 * chained are checked by their signatures only.
 */
function checkpointChainProblem(checkpoints: IntegrityCheckpointRow[], lastIdIssued: number): Finding | null {
  const byId = [...checkpoints].sort((a, b) => a.id - b.id);
  const ids = new Set(byId.map((c) => c.id));
  const missing = (seq: number, message: string): Finding => ({ seq, problem: 'checkpoint_missing', message });
  let previous: IntegrityCheckpointRow | undefined;
  for (const c of byId) {
    if (c.prevDigest !== null) {
      const expected = linkTo(previous);
      if (c.prevId !== null && c.prevId !== 0 && !ids.has(c.prevId)) {
        return missing(c.seq, `checkpoint ${c.prevId}, which checkpoint ${c.id} names as the one before it, was deleted`);
      }
      if (c.prevId !== expected.prevId || c.prevDigest !== expected.prevDigest) {
        return missing(c.seq, `checkpoint ${c.id} does not name checkpoint ${previous?.id ?? 'none'} before it: the chain of checkpoints was altered`);
      }
    } else if (previous && previous.prevDigest !== null) {
      return missing(c.seq, `checkpoint ${c.id} is not chained to checkpoint ${previous.id} before it`);
    }
    previous = c;
  }
  const newest = previous?.id ?? 0;
  if (lastIdIssued > newest) {
    const ids = lastIdIssued === newest + 1 ? `checkpoint ${lastIdIssued} was` : `checkpoints ${newest + 1} to ${lastIdIssued} were`;
    return missing(previous?.seq ?? 0, `${ids} deleted: the newest checkpoints are gone (with the newest events?)`);
  }
  return null;
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

  const broken = checkpointChainProblem(checkpoints, await selectLastCheckpointIdIssued(db));
  if (broken) {
    return finish({ ok: false, checked: 0, fromSeq: 0, toSeq: null, headHash: null, checkpointsVerified: 0, firstBad: broken });
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
        const found = await settleWithTree(db, diagnose(rows, i, prev, before), prev);
        return report({ ok: false, firstBad: await settleWithCount(db, found, prev, fromSeq, checkpoints) });
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
  events: EventWriter,
  signer: Signer,
  options: { retentionDays: number; clock?: Clock; batchSize?: number },
): Promise<RetentionResult> {
  const clock = options.clock ?? (() => new Date());
  const now = clock();
  const cutoff = new Date(now.getTime() - options.retentionDays * 86_400_000);
  const planned = await db.transaction(async (t) => {
    const tx = t as unknown as Database;
    await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    const wanted = await selectRetentionBoundary(tx, cutoff);
    // Events a sink has not delivered yet are kept until it has (or is deleted).
    const lowest = wanted ? await selectLowestSinkCursor(tx) : null;
    const boundary = wanted && lowest && lowest.cursorSeq < wanted.seq ? await selectRetentionBoundary(tx, cutoff, lowest.cursorSeq) : wanted;
    const held = wanted ? wanted.count - (boundary?.count ?? 0) : 0;
    retentionHeldEvents.set(held);
    if (held > 0) {
      logger.warn(
        { sink: lowest!.name, sinkCursorSeq: lowest!.cursorSeq, heldEvents: held },
        'retention keeps events past the retention period until the sink has delivered them',
      );
    }
    if (!boundary) return null;
    // Not counted: the boundary is usually before the newest checkpoint.
    const checkpoint = await signedCheckpoint(tx, signer, 'retention', boundary, now, await selectLatestCheckpoint(tx), null);
    return { boundary, checkpoint };
  });
  if (!planned) return { deleted: 0, throughSeq: null, checkpoint: null };
  // Recorded after the checkpoint's transaction (it takes the same lock) but before any row goes.
  await recordEvents(
    events,
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
  // The Merkle tree keeps the leaves of removed events: every one must be in it first.
  await integrateEvents(db, { wait: true });
  let deleted = 0;
  for (;;) {
    const n = await deleteOldestEvents(db, planned.boundary.seq, options.batchSize ?? 10_000);
    deleted += n;
    if (n === 0) break;
  }
  return { deleted, throughSeq: planned.boundary.seq, checkpoint: toPublicCheckpoint(planned.checkpoint) };
}
