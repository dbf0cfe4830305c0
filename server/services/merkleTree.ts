// The verifiable log: events integrated into an RFC 9162 Merkle tree in seq order (leaf
// index = position, gaps in seq do not matter), signed tree heads as C2SP checkpoint
// notes, and the inclusion and consistency proofs auditors' extensions and external
// witnesses check (shared/merkle.ts, shared/signedNote.ts).
import { createPublicKey, hash as oneShotHash } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { toBase64 } from '../../shared/base64.js';
import { REFUSAL_REASONS } from '../../shared/refusalReasons.js';
import { canonicalEvent } from '../../shared/canonical.js';
import { leafStep } from '../../shared/chain.js';
import {
  appendLeaves,
  consistencyProof,
  consistencyProofRanges,
  foldSubtrees,
  hashesEqual,
  inclusionProof,
  subtreesOfRange,
  subtreesOfRanges,
  type Hash,
  type Subtree,
  type SubtreeReader,
} from '../../shared/merkle.js';
import { formatCheckpoint, formatVerifierKey, isValidKeyName, NoteError, signNote, verifyCheckpoint } from '../../shared/signedNote.js';
import type { ExportTreeStart } from '../../shared/verifyExport.js';
import { databaseKindOf, type Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import { selectCanonicalSlice } from '../db/integrityStore.js';
import {
  appendTiles,
  insertTreeHead,
  lockTree,
  selectLatestTreeHead,
  selectInclusionPath,
  selectLeafCountThroughSeq,
  selectLeafHashSlice,
  selectSlots,
  selectTreeEnd,
  selectTreeHead,
  tryLockTree,
  type StoredTreeHead,
  type TreeEnd,
} from '../db/merkleStore.js';
import { slotOf, tileAppendsOf } from './merkleTiles.js';
import { actorOf, requestFields, type Caller, type RequestInfo } from './caller.js';
import { recordEvents, type Clock } from './events.js';
import { reasonedRefusal } from './refusal.js';
import type { Signer } from './signingKey.js';

/** Who signs the tree heads: the origin (also the key name) and the server's Ed25519 key. */
export interface TreeLog {
  origin: string;
  /** `<origin>+<key id>+<base64(0x01 ‖ public key)>`: what a witness pins. */
  verifierKey: string;
  sign(text: string): Promise<string>;
}

/** The signer's raw 32-byte Ed25519 public key, as signed notes name it. */
export function rawPublicKeyOf(signer: Pick<Signer, 'publicKeyPem'>): Uint8Array {
  const jwk = createPublicKey(signer.publicKeyPem).export({ format: 'jwk' }) as { x: string };
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

export function treeLogOf(signer: Signer, origin: string): TreeLog {
  if (!isValidKeyName(origin)) throw new Error(`VIGIL_LOG_ORIGIN must be non-empty, without spaces or "+", got ${JSON.stringify(origin)}`);
  const publicKey = rawPublicKeyOf(signer);
  return {
    origin,
    verifierKey: formatVerifierKey(origin, publicKey),
    sign: (text) =>
      signNote(text, { name: origin, publicKey }, (message) =>
        new Uint8Array(Buffer.from(signer.sign(new TextDecoder().decode(message)), 'base64')),
      ),
  };
}

/**
 * A reader of these subtrees' hashes (`hashAt(i)`: the i-th one's, undefined if the store
 * has none); asked for any other subtree, or one without a hash, it throws. Kept by level
 * then index: numeric keys, no strings built per subtree.
 */
function readerOf(subtrees: readonly Subtree[], hashAt: (i: number) => Hash | undefined): SubtreeReader {
  const byLevel: Map<number, Hash>[] = [];
  for (let i = 0; i < subtrees.length; i++) {
    const hash = hashAt(i);
    if (hash) (byLevel[subtrees[i]!.level] ??= new Map()).set(subtrees[i]!.index, hash);
  }
  return (level, index) => {
    const hash = byLevel[level]?.get(index);
    if (!hash) throw new Error(`the Merkle tree has no hash for the subtree at level ${level}, index ${index}`);
    return hash;
  };
}

/** These subtrees' hashes (read from their tiles) and where the tree ends, in one round trip. */
async function readSubtrees(db: Database, subtrees: Subtree[]): Promise<{ read: SubtreeReader; end: TreeEnd }> {
  const { found, end } = await selectSlots(db, subtrees.map(slotOf));
  return { read: readerOf(subtrees, (i) => found[i]), end };
}

/** The root of the tree's first `size` leaves, from its frontier (at most one hash per level). */
export async function treeRoot(db: Database, size: number): Promise<Hash> {
  const frontier = subtreesOfRange(0, size);
  const { read } = await readSubtrees(db, frontier);
  return foldSubtrees(frontier.map((s) => read(s.level, s.index)));
}

/**
 * The tree's leaves of the events through `throughSeq` (those retention removed), as the
 * hashes of the complete subtrees covering them, left to right (base64): with them, the
 * events kept after retention recompute a signed head's root. Null when there are none.
 */
export async function treePrefix(db: Database, throughSeq: number): Promise<ExportTreeStart | null> {
  const leafIndex = await selectLeafCountThroughSeq(db, throughSeq);
  if (leafIndex === 0) return null;
  const shape = subtreesOfRange(0, leafIndex);
  const { read } = await readSubtrees(db, shape);
  return { leafIndex, subtrees: shape.map((s) => toBase64(read(s.level, s.index))) };
}

// The server hashes with node:crypto (native, several times @noble/hashes' speed on leaf
// bytes); the hashes are the same SHA-256 shared/merkle.ts computes, which tests hold it to.
const asHash = (digest: Buffer): Hash => new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
const nodeBytes = Buffer.alloc(65, 0x01);
/** One-shot hash of 0x01 ‖ left ‖ right in a reused buffer: the integrator's one hash per leaf. */
function nativeNodeHash(left: Hash, right: Hash): Hash {
  nodeBytes.set(left, 1);
  nodeBytes.set(right, 33);
  return asHash(oneShotHash('sha256', nodeBytes, 'buffer') as Buffer);
}

/** A leaf: SHA-256(0x00 ‖ UTF-8 of the event's canonical form), the form its chain hash covers. */
export function eventLeafHash(event: Parameters<typeof canonicalEvent>[0]): Hash {
  return asHash(leafStep(canonicalEvent(event)));
}

/**
 * The leaf hashes of the next events, in seq order: as their writer stored them, and for
 * events written without one (before the writer stored them), from their canonical form.
 */
async function nextLeaves(tx: Database, afterSeq: number, limit: number): Promise<{ seqs: number[]; hashes: Hash[] }> {
  const { seqs, hashes } = await selectLeafHashSlice(tx, afterSeq, limit);
  const firstMissing = hashes.indexOf(null);
  if (firstMissing === -1) return { seqs, hashes: hashes as Hash[] };
  const from = firstMissing === 0 ? afterSeq : seqs[firstMissing - 1]!;
  const rows = new Map((await selectCanonicalSlice(tx, from, seqs.length - firstMissing)).map((r) => [r.seq, r]));
  return {
    seqs,
    hashes: hashes.map((hash, i) => {
      if (hash) return hash;
      const row = rows.get(seqs[i]!);
      if (!row) throw new Error(`event at seq ${seqs[i]} was not found again while integrating it`);
      return eventLeafHash(row);
    }),
  };
}

/**
 * The tree's frontier as an integrator last left it: kept between its rounds, so a round
 * reads no subtree hashes. Trusted only while the stored tree still ends where it did
 * (same size and last leaf), else read again.
 */
export interface FrontierCache {
  current: { end: TreeEnd; hashes: Hash[] } | null;
}

const sameEnd = (a: TreeEnd, b: TreeEnd) =>
  a.size === b.size && a.lastSeq === b.lastSeq && (a.lastHash === null ? b.lastHash === null : b.lastHash !== null && hashesEqual(a.lastHash, b.lastHash));

const DEFAULT_BATCH = 5000;

export interface IntegrateOptions {
  batchSize?: number;
  /** The frontier kept from the previous batch (an integrator keeps one across its rounds). */
  frontier?: FrontierCache;
  /** Wait for the tree's lock instead of leaving the work to the process that holds it. */
  wait?: boolean;
}

/** Leaves read ahead, on another connection, while the previous batch was hashed and written. */
interface LeavesAhead {
  afterSeq: number;
  leaves: Promise<{ seqs: number[]; hashes: Hash[] }>;
}

/**
 * Appends the next events (after the tree's last one, in seq order, at most `batchSize`)
 * in one transaction under the tree's lock. Answers how many, or null when another
 * process holds the lock (it is integrating them), and the next batch's leaves when it
 * started reading them ahead.
 */
async function integrateBatch(
  db: Database,
  options: IntegrateOptions,
  ahead: LeavesAhead | null,
): Promise<{ count: number; ahead: LeavesAhead | null } | null> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const cache = options.frontier ?? { current: null };
  // On Postgres the next batch's leaves are read on another connection while this one is
  // hashed and written: writers commit in seq order, so what that read sees is the same
  // prefix this transaction would read. PGlite has one connection: nothing to overlap.
  const readAhead = databaseKindOf(db).kind === 'postgres';
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    if (options.wait) await lockTree(tx);
    else if (!(await tryLockTree(tx))) return null;
    const end = await selectTreeEnd(tx);
    const { seqs, hashes } = ahead && ahead.afterSeq === end.lastSeq ? await ahead.leaves : await nextLeaves(tx, end.lastSeq, batchSize);
    if (seqs.length === 0) return { count: 0, ahead: null };
    const next =
      readAhead && seqs.length === batchSize
        ? { afterSeq: seqs.at(-1)!, leaves: nextLeaves(db, seqs.at(-1)!, batchSize) }
        : null;
    // A read ahead that fails is read again by the next batch; its rejection is not this batch's.
    next?.leaves.catch(() => {});
    let frontier = cache.current && sameEnd(cache.current.end, end) ? cache.current.hashes : null;
    if (!frontier) {
      const shape = subtreesOfRange(0, end.size);
      const { read } = await readSubtrees(tx, shape);
      frontier = shape.map((s) => read(s.level, s.index));
    }
    const appended = appendLeaves(end.size, frontier, hashes, nativeNodeHash);
    await appendTiles(tx, tileAppendsOf(end.size, appended.completed, (leafIndex) => seqs[leafIndex - end.size]!));
    cache.current = {
      end: { size: end.size + seqs.length, lastSeq: seqs.at(-1)!, lastHash: hashes.at(-1)! },
      hashes: appended.frontier.map((s) => s.hash),
    };
    return { count: seqs.length, ahead: next };
  });
}

/** Integrates every committed event; null when another process is integrating (unless `wait`). */
export async function integrateEvents(db: Database, options: IntegrateOptions = {}): Promise<{ integrated: number } | null> {
  let integrated = 0;
  let ahead: LeavesAhead | null = null;
  const batchOptions = { ...options, frontier: options.frontier ?? { current: null } };
  for (;;) {
    let batch: Awaited<ReturnType<typeof integrateBatch>>;
    try {
      batch = await integrateBatch(db, batchOptions, ahead);
    } catch (error) {
      // The read ahead belongs to this round: settle it before the caller retries.
      await ahead?.leaves.catch(() => {});
      throw error;
    }
    if (batch === null) return integrated > 0 ? { integrated } : null;
    integrated += batch.count;
    ahead = batch.ahead;
    // A short batch took all there was; what commits later wakes the integrator again.
    if (batch.count < (options.batchSize ?? DEFAULT_BATCH)) return { integrated };
  }
}

export type SignOutcome =
  | { signed: StoredTreeHead }
  /** The tree has not grown since the latest head. */
  | { unchanged: true }
  /** The latest head is younger than the interval: try again after `dueInMs`. */
  | { dueInMs: number }
  /** Another process holds the tree's lock. */
  | { busy: true };

/**
 * Signs a head for the tree as integrated, unless it has not grown since the latest head
 * or that head is younger than `minIntervalMs`. The empty tree gets a head too, so a
 * fresh log has something to witness.
 */
export async function signTreeHead(
  db: Database,
  log: TreeLog,
  options: { minIntervalMs?: number; clock?: Clock } = {},
): Promise<SignOutcome> {
  const clock = options.clock ?? (() => new Date());
  return db.transaction(async (t): Promise<SignOutcome> => {
    const tx = t as unknown as Database;
    if (!(await tryLockTree(tx))) return { busy: true };
    const [end, latest] = await Promise.all([selectTreeEnd(tx), selectLatestTreeHead(tx)]);
    if (latest && latest.treeSize >= end.size) return { unchanged: true };
    const now = clock();
    const age = latest ? now.getTime() - latest.createdAt.getTime() : Infinity;
    if (age < (options.minIntervalMs ?? 0)) return { dueInMs: (options.minIntervalMs ?? 0) - age };
    const rootHash = await treeRoot(tx, end.size);
    const note = await log.sign(formatCheckpoint({ origin: log.origin, treeSize: end.size, rootHash, extensions: [] }));
    const head = { treeSize: end.size, rootHash, note, createdAt: now };
    await insertTreeHead(tx, head);
    return { signed: head };
  });
}

export interface TreeHeadAnswer {
  treeSize: number;
  /** base64 */
  rootHash: string;
  /** The C2SP checkpoint note, as GET /checkpoint serves it. */
  note: string;
  verifierKey: string;
}

export async function latestTreeHead(db: Database, log: TreeLog): Promise<TreeHeadAnswer> {
  const head = await selectLatestTreeHead(db);
  if (!head) throw new TRPCError({ code: 'NOT_FOUND', message: 'no tree head is signed yet: the tree integrator signs the first within a second of start-up' });
  return { treeSize: head.treeSize, rootHash: toBase64(head.rootHash), note: head.note, verifierKey: log.verifierKey };
}

const badRequest = (message: string) => new TRPCError({ code: 'BAD_REQUEST', message });
/** Base64 through Buffer: several times shared/base64.ts's speed, and a proof has dozens of hashes. */
const base64Of = (hash: Hash) => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('base64');

/** RFC 9162 2.1.4: the tree of `to` leaves extends the tree of `from` leaves. */
export async function treeConsistencyProof(db: Database, from: number, to: number): Promise<{ proof: string[] }> {
  if (from > to) throw badRequest(`from: ${from} is greater than to (${to})`);
  const { read, end } = await readSubtrees(db, subtreesOfRanges(consistencyProofRanges(from, to)));
  if (to > end.size) throw badRequest(`to: the tree has ${end.size} leaves, not ${to}`);
  return { proof: consistencyProof(from, to, read).map(base64Of) };
}

/** RFC 9162 2.1.3: the event `id` is leaf `leafIndex` of the tree of `treeSize` leaves. */
export async function eventInclusionProof(
  db: Database,
  id: string,
  treeSize: number,
): Promise<{ leafIndex: number; leafHash: string; proof: string[] }> {
  const { leaf, eventStored, end, subtrees } = await selectInclusionPath(db, id, treeSize);
  if (!leaf) {
    throw new TRPCError({
      code: 'NOT_FOUND',
      message: eventStored ? `id: event ${id} is not in the tree yet (it is integrated within a second); retry` : `id: no event ${id}`,
    });
  }
  if (!eventStored) {
    throw reasonedRefusal(
      'NOT_FOUND',
      `id: event ${id} (leaf ${leaf.leafIndex}) was removed by retention; its leaf hash stays in the tree, so the heads still verify`,
      REFUSAL_REASONS.removedByRetention,
    );
  }
  if (treeSize > end.size) throw badRequest(`treeSize: the tree has ${end.size} leaves, not ${treeSize}`);
  if (treeSize <= leaf.leafIndex) throw badRequest(`treeSize: event ${id} is leaf ${leaf.leafIndex}, not in a tree of ${treeSize} leaves`);
  return { leafIndex: leaf.leafIndex, leafHash: base64Of(leaf.hash), proof: inclusionProof(leaf.leafIndex, treeSize, readerOf(subtrees, (i) => subtrees[i]!.hash)).map(base64Of) };
}

/**
 * An auditor reports a tree head it verified: its signature must be this log's and it
 * must be a head this log stored. Recorded as a `read` of `audit_log` by that auditor,
 * so the log carries its witnesses' views.
 */
export async function recordWitness(
  db: Database,
  events: EventWriter,
  log: TreeLog,
  input: { note: string; caller: Caller; request: RequestInfo; clock?: Clock },
): Promise<{ treeSize: number; eventId: string }> {
  let checkpoint;
  try {
    checkpoint = await verifyCheckpoint(input.note, log.verifierKey, log.origin);
  } catch (error) {
    if (error instanceof NoteError) throw badRequest(`note: ${error.message}`);
    throw error;
  }
  const stored = await selectTreeHead(db, checkpoint.treeSize);
  if (!stored || !hashesEqual(stored.rootHash, checkpoint.rootHash)) {
    throw badRequest(`note: this log holds no signed tree head of size ${checkpoint.treeSize} with that root hash`);
  }
  const [event] = await recordEvents(
    events,
    [
      {
        action: 'read',
        resourceType: 'audit_log',
        resourceTarget: 'tree_head',
        resourceId: String(checkpoint.treeSize),
        actor: actorOf(input.caller),
        ...requestFields(input.request),
        metadata: { witness: true, origin: checkpoint.origin, treeSize: checkpoint.treeSize, rootHash: toBase64(checkpoint.rootHash) },
      },
    ],
    input.clock,
  );
  return { treeSize: checkpoint.treeSize, eventId: event!.id };
}
