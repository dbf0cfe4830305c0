// Holds the stored Merkle tree against the events it was built from: every leaf
// recomputed from its event (in seq order), every stored node from its leaves, and the
// latest signed head's signature and root from the recomputed tree. What `vigil verify`
// runs after the hash chain; it names each difference by leaf index and event id.
import { toBase64 } from '../../shared/base64.js';
import { appendLeaves, foldSubtrees, hashesEqual, type Hash, type SubtreeHash } from '../../shared/merkle.js';
import { formatVerifierKey, NoteError, parseCheckpoint, parseNote, verifyCheckpoint } from '../../shared/signedNote.js';
import type { Database } from '../db/database.js';
import { selectChainSlice, selectChainStart } from '../db/integrityStore.js';
import { selectLatestTreeHead, selectSlots, selectTilesFrom, selectTreeEnd, type StoredTile, type TreeLeaf } from '../db/merkleStore.js';
import type { AuditEventRow } from '../db/schema.js';
import { eventLeafHash, rawPublicKeyOf } from './merkleTree.js';
import { slotOf, TILE_WIDTH, tileKeyOf, type TileSlot } from './merkleTiles.js';
import type { Signer } from './signingKey.js';

export type TreeProblem =
  | 'leaf_changed' // the event no longer hashes to its leaf (the event or the leaf was changed)
  | 'leaf_event' // the leaf names another event than the one at its seq
  | 'event_removed' // a leaf's event is gone, and not by retention
  | 'event_not_in_tree' // an event the tree has passed has no leaf (inserted later)
  | 'leaf_missing' // the tiles skip leaves: a tile, or leaves of one, were deleted
  | 'node_changed' // a stored node is not the hash of its two children
  | 'head_signature' // the latest signed head does not verify with the server's key
  | 'head_root' // the latest signed head's root is not the root of the stored leaves
  | 'head_size'; // the latest signed head covers more leaves than the tree holds

export interface TreeFinding {
  problem: TreeProblem;
  message: string;
  leafIndex?: number;
  seq?: number;
  eventId?: string;
}

export interface TreeReport {
  ok: boolean;
  /** Leaves in the stored tree. */
  leaves: number;
  /** Leaves whose event was recomputed and matched. */
  leavesChecked: number;
  /** Leaves of events removed by retention (their hashes kept, nothing to recompute them from). */
  leavesRetained: number;
  /** Events recorded after the tree's last leaf (integrated within a second by the running server). */
  eventsNotYetIntegrated: number;
  /** Stored nodes recomputed from their children and matched. */
  nodesChecked: number;
  /** The latest signed head: its size and origin, when one is signed. */
  head: { treeSize: number; origin: string; rootHash: string } | null;
  /** The first differences found, in tree order (at most MAX_FINDINGS). */
  findings: TreeFinding[];
  /** How many differences there are in all. */
  problems: number;
}

const MAX_FINDINGS = 20;

export interface TreeVerifyOptions {
  /** The server's signing key: the heads must verify with it. */
  signer: Pick<Signer, 'publicKeyPem'>;
  batchSize?: number;
}

/**
 * Verifies the Merkle tree against the rows. Walks the leaf tiles in index order beside
 * the events in seq order (a leaf tile names its events' seqs and ids), so memory stays
 * one batch.
 */
export async function verifyTree(db: Database, options: TreeVerifyOptions): Promise<TreeReport> {
  const batchSize = options.batchSize ?? 5000;
  const end = await selectTreeEnd(db);
  const retainedThroughSeq = (await selectChainStart(db)).seq;
  const latest = await selectLatestTreeHead(db);
  const report: TreeReport = {
    ok: false,
    leaves: end.size,
    leavesChecked: 0,
    leavesRetained: 0,
    eventsNotYetIntegrated: 0,
    nodesChecked: 0,
    head: null,
    findings: [],
    problems: 0,
  };
  const reportedLeaves = new Set<number>();
  const find = (finding: TreeFinding) => {
    report.problems++;
    if (finding.leafIndex !== undefined) reportedLeaves.add(finding.leafIndex);
    if (report.findings.length < MAX_FINDINGS) report.findings.push(finding);
  };

  // The recomputed tree: its frontier, grown leaf by leaf from the stored leaf hashes.
  let frontier: SubtreeHash[] = [];
  let size = 0;
  let rootAtHead: Hash | null = latest?.treeSize === 0 ? foldSubtrees([]) : null;

  // Events in seq order, read ahead in batches.
  let rows: AuditEventRow[] = [];
  let rowAt = 0;
  let rowsAfterSeq = 0;
  let rowsDone = false;
  const peekRow = async (): Promise<AuditEventRow | undefined> => {
    if (rowAt < rows.length) return rows[rowAt];
    if (rowsDone) return undefined;
    rows = await selectChainSlice(db, rowsAfterSeq, batchSize);
    rowAt = 0;
    if (rows.length < batchSize) rowsDone = true;
    if (rows.length) rowsAfterSeq = rows.at(-1)!.seq;
    return rows[0];
  };

  const checkLeaf = async (leaf: TreeLeaf) => {
    // Events before this leaf's seq that have no leaf: recorded into the tree's past.
    for (let row = await peekRow(); row && row.seq < leaf.seq; row = await peekRow()) {
      find({
        problem: 'event_not_in_tree',
        seq: row.seq,
        eventId: row.id,
        message: `event ${row.id} (seq ${row.seq}) has no leaf though the tree has passed it (before leaf ${leaf.leafIndex}): it was inserted after the tree was built`,
      });
      rowAt++;
    }
    const row = await peekRow();
    const at = { leafIndex: leaf.leafIndex, seq: leaf.seq, eventId: leaf.eventId };
    if (!row || row.seq !== leaf.seq) {
      if (leaf.seq <= retainedThroughSeq) report.leavesRetained++;
      else find({ problem: 'event_removed', ...at, message: `leaf ${leaf.leafIndex}: event ${leaf.eventId} (seq ${leaf.seq}) was removed (not by retention)` });
      return;
    }
    rowAt++;
    if (row.id !== leaf.eventId) {
      find({ problem: 'leaf_event', ...at, message: `leaf ${leaf.leafIndex} is event ${leaf.eventId}, but seq ${leaf.seq} now holds event ${row.id}: it was replaced` });
    } else if (!hashesEqual(eventLeafHash(row), leaf.hash)) {
      find({ problem: 'leaf_changed', ...at, message: `leaf ${leaf.leafIndex}: event ${leaf.eventId} (seq ${leaf.seq}) no longer matches its leaf hash: the event (or the leaf) was changed after it was integrated` });
    } else {
      report.leavesChecked++;
    }
  };

  // After a hole in the leaves the tree cannot be recomputed; what the leaves say of their events still can.
  let holed = false;
  const tilesPerBatch = Math.max(1, Math.ceil(batchSize / TILE_WIDTH));
  for (let nextTile = 0; ; ) {
    const tiles = await selectTilesFrom(db, 0, nextTile, tilesPerBatch);
    if (tiles.length === 0) break;
    nextTile = tiles.at(-1)!.index + 1;
    const hashes: Hash[] = [];
    for (const tile of tiles) {
      const first = tile.index * TILE_WIDTH;
      if (!holed && first !== size + hashes.length) {
        const expected = size + hashes.length;
        find({ problem: 'leaf_missing', leafIndex: expected, message: `leaves ${expected} to ${first - 1} are missing from the tree: they were deleted` });
        holed = true;
      }
      for (const [p, hash] of tile.hashes.entries()) {
        await checkLeaf({ leafIndex: first + p, seq: tile.seqs[p]!, eventId: tile.eventIds[p]!, hash });
        if (holed) continue;
        hashes.push(hash);
        if (latest && size + hashes.length === latest.treeSize) {
          rootAtHead = foldSubtrees(appendLeaves(size, frontier.map((s) => s.hash), hashes).frontier.map((s) => s.hash));
        }
      }
    }
    if (hashes.length === 0) continue;
    const grown = appendLeaves(size, frontier.map((s) => s.hash), hashes);
    const nodes = grown.completed.filter((n) => n.level > 0);
    const stored = await storedHashesOf(db, tiles, nodes.map(slotOf));
    nodes.forEach((node, i) => {
      const first = node.index * 2 ** node.level;
      const last = first + 2 ** node.level - 1;
      const hash = stored[i];
      if (hash && hashesEqual(hash, node.hash)) {
        report.nodesChecked++;
        return;
      }
      // A node over a leaf already reported differs because of it: one finding is enough.
      if ([...reportedLeaves].some((l) => l >= first && l <= last)) return;
      find({
        problem: 'node_changed',
        leafIndex: first,
        message: hash
          ? `the stored node at level ${node.level}, index ${node.index} (leaves ${first} to ${last}) is not the hash of its leaves: it was changed`
          : `the stored node at level ${node.level}, index ${node.index} (leaves ${first} to ${last}) is missing: it was deleted`,
      });
    });
    frontier = grown.frontier;
    size += hashes.length;
  }
  for (let row = await peekRow(); row; row = await peekRow()) {
    if (row.seq > end.lastSeq) report.eventsNotYetIntegrated++;
    else find({ problem: 'event_not_in_tree', seq: row.seq, eventId: row.id, message: `event ${row.id} (seq ${row.seq}) has no leaf: it was inserted after the tree was built` });
    rowAt++;
  }

  if (latest) {
    const origin = headOrigin(latest.note);
    report.head = { treeSize: latest.treeSize, origin: origin ?? '', rootHash: toBase64(latest.rootHash) };
    const signatureProblem = await headSignatureProblem(latest.note, origin, options.signer, latest);
    if (signatureProblem) find({ problem: 'head_signature', message: `the latest signed head (size ${latest.treeSize}): ${signatureProblem}` });
    if (latest.treeSize > end.size) {
      find({ problem: 'head_size', message: `the latest signed head covers ${latest.treeSize} leaves, the tree holds ${end.size}: leaves were deleted` });
    } else if (rootAtHead && !hashesEqual(rootAtHead, latest.rootHash)) {
      find({ problem: 'head_root', message: `the latest signed head (size ${latest.treeSize}) names root ${toBase64(latest.rootHash)}, the stored leaves make ${toBase64(rootAtHead)}` });
    }
  }
  report.ok = report.problems === 0;
  return report;
}

/** The hashes stored at these slots: from the leaf tiles at hand, the rest read in one round trip. */
async function storedHashesOf(db: Database, leafTiles: StoredTile[], slots: TileSlot[]): Promise<(Hash | undefined)[]> {
  const byKey = new Map(leafTiles.map((t) => [tileKeyOf(t), t]));
  const upper = slots.filter((s) => s.level > 0);
  const { found } = await selectSlots(db, upper);
  let u = 0;
  return slots.map((s) => {
    if (s.level > 0) return found[u++];
    const tile = byKey.get(tileKeyOf(s));
    return (s.inner ? tile?.inner : tile?.hashes)?.[s.position];
  });
}

function headOrigin(note: string): string | null {
  try {
    return parseCheckpoint(parseNote(note).text).origin;
  } catch {
    return null;
  }
}

/** Why the head's note does not verify with the server's key (null: it does, and says what its row says). */
async function headSignatureProblem(
  note: string,
  origin: string | null,
  signer: Pick<Signer, 'publicKeyPem'>,
  stored: { treeSize: number; rootHash: Uint8Array },
): Promise<string | null> {
  if (origin === null) return 'its note cannot be read';
  try {
    // Under its own origin: the CLI may run on another host than the server that named the log.
    const checkpoint = await verifyCheckpoint(note, formatVerifierKey(origin, rawPublicKeyOf(signer)), origin);
    if (checkpoint.treeSize !== stored.treeSize || !hashesEqual(checkpoint.rootHash, stored.rootHash)) {
      return `its note signs size ${checkpoint.treeSize} and root ${toBase64(checkpoint.rootHash)}, its row says otherwise`;
    }
    return null;
  } catch (error) {
    if (error instanceof NoteError) return error.message;
    throw error;
  }
}

/** The report as the CLI prints it: one summary line, then one line per finding. */
export function describeTreeReport(report: TreeReport): string[] {
  const head = report.head ? `; the latest signed head (size ${report.head.treeSize}, ${report.head.origin}) ${report.ok ? 'verified' : 'checked'}` : '; no signed head yet';
  const summary =
    `${report.leaves} leaves: ${report.leavesChecked} recomputed from their events, ${report.leavesRetained} of events removed by retention, ` +
    `${report.nodesChecked} nodes recomputed, ${report.eventsNotYetIntegrated} events not yet integrated${head}`;
  if (report.ok) return [`tree ok: ${summary}`];
  const more = report.problems > report.findings.length ? [`  ... and ${report.problems - report.findings.length} more`] : [];
  return [`tree FAILED (${report.problems} problems): ${summary}`, ...report.findings.map((f) => `  ${f.problem}: ${f.message}`), ...more];
}
