// Where the Merkle tree's hashes are stored: C2SP tlog-tiles (https://c2sp.org/tlog-tiles).
// A tile at tile level L and index N holds the hashes of the 256 complete subtrees of tree
// level 8L from index 256N on (fewer at the right edge: a partial tile, which only grows).
// Beside those 256 hashes a row keeps the 254 complete nodes between them and the tile's
// own root (tree levels 8L+1 to 8L+7), in the order appending completes them, which is
// append-only too: a proof then reads each hash it needs instead of rehashing up to 127
// hashes of a tile per tree level. Pure geometry; server/db/merkleStore.ts reads and writes.
import type { Subtree, SubtreeHash } from '../../shared/merkle.js';

/** Tree levels per tile level. */
export const TILE_HEIGHT = 8;
/** Hashes per full tile. */
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

/** A tile: its tile level and index. */
export interface TileKey {
  level: number;
  index: number;
}

/** Where one subtree hash is stored: a tile, its tlog hashes or its inner nodes, and the position there. */
export interface TileSlot extends TileKey {
  inner: boolean;
  position: number;
}

export const tileKeyOf = (t: TileKey) => `${t.level}/${t.index}`;

/** Trailing zero bits of a positive integer up to 2^53. */
function trailingZeros(n: number): number {
  let k = 0;
  while (n % 2 === 0) {
    n /= 2;
    k++;
  }
  return k;
}

/** Set bits of a non-negative integer below 2^31. */
function popcount(n: number): number {
  let count = 0;
  for (; n !== 0; n &= n - 1) count++;
  return count;
}

/**
 * Inner nodes (tile-relative levels 1..7) complete once a tile holds `width` hashes: the
 * sum of floor(width / 2^s) for s = 1..7, which is width - popcount(width) (Legendre's
 * formula) less the tile's own root (s = 8) once the tile is full.
 */
export function innerCountOf(width: number): number {
  return width - popcount(width) - (width >= TILE_WIDTH ? 1 : 0);
}

/** Where the hash of the complete subtree at tree level `level`, index `index` is stored. */
export function slotOf({ level, index }: Subtree): TileSlot {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const s = level % TILE_HEIGHT;
  const first = index * 2 ** s;
  const tile = Math.floor(first / TILE_WIDTH);
  if (s === 0) return { level: tileLevel, index: tile, inner: false, position: first - tile * TILE_WIDTH };
  // Completed when the tile reaches `width` hashes, after the inner nodes below it that
  // the same hash completes and before those above it.
  const width = (index + 1) * 2 ** s - tile * TILE_WIDTH;
  const highest = Math.min(trailingZeros(width), TILE_HEIGHT - 1);
  return { level: tileLevel, index: tile, inner: true, position: innerCountOf(width) - (highest - s) - 1 };
}

/** The number of hashes the tile `key` holds in a tree of `size` leaves (0 to 256). */
export function tileWidthAt(key: TileKey, size: number): number {
  const entries = Math.floor(size / 2 ** (key.level * TILE_HEIGHT));
  return Math.max(0, Math.min(TILE_WIDTH, entries - key.index * TILE_WIDTH));
}

/** What one tile gains from appended leaves: hashes, inner nodes, and (level 0) its new leaves' event seqs. */
export interface TileAppend extends TileKey {
  hashes: Uint8Array[];
  inner: Uint8Array[];
  seqs: number[];
}

/**
 * Groups the subtrees appending leaves completed (shared/merkle.ts appendLeaves, in
 * completion order) by tile. `seqAt(i)` is the seq of leaf i's event. Each
 * tile's new hashes follow the ones it holds: `size` (the tree before) says where, and a
 * completed subtree out of that order is a bug, refused here rather than stored.
 */
export function tileAppendsOf(size: number, completed: readonly SubtreeHash[], seqAt: (leafIndex: number) => number): TileAppend[] {
  // Keyed by level and index as one number (tile indexes stay far below 2^44).
  const byTile = new Map<number, TileAppend & { hashesFrom: number; innerFrom: number }>();
  for (const node of completed) {
    const slot = slotOf(node);
    const key = slot.level * 2 ** 44 + slot.index;
    let append = byTile.get(key);
    if (!append) {
      const width = tileWidthAt(slot, size);
      append = { level: slot.level, index: slot.index, hashes: [], inner: [], seqs: [], hashesFrom: width, innerFrom: innerCountOf(width) };
      byTile.set(key, append);
    }
    const expected = slot.inner ? append.innerFrom + append.inner.length : append.hashesFrom + append.hashes.length;
    if (slot.position !== expected) {
      throw new Error(`tile ${tileKeyOf(slot)}: the subtree at level ${node.level}, index ${node.index} belongs at ${slot.position}, not after ${expected} stored hashes`);
    }
    if (slot.inner) append.inner.push(node.hash);
    else {
      append.hashes.push(node.hash);
      if (slot.level === 0) append.seqs.push(seqAt(node.index));
    }
  }
  return [...byTile.values()].map(({ level, index, hashes, inner, seqs }) => ({ level, index, hashes, inner, seqs }));
}
