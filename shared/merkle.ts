// The Merkle tree of RFC 9162 section 2.1 (Certificate Transparency 2.0), over Vigil's
// events: hashing, proof verification (2.1.3.2 inclusion, 2.1.4.2 consistency), and proof
// generation over a reader of "the hash of the complete subtree at (level, index)", so a
// store that keeps those hashes serves any proof with O(log n) reads. Pure and synchronous:
// the server and the browser extension run the same code.
//
// Sizes and indexes are JavaScript numbers (exact up to 2^53); bit operations would cut
// them to 32 bits, hence the arithmetic below.
import { sha256 } from './sha256.js';

export type Hash = Uint8Array;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, data);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

export function hashesEqual(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A complete subtree: the 2^level leaves from index·2^level. */
export interface Subtree {
  level: number;
  index: number;
}

export interface SubtreeHash extends Subtree {
  hash: Hash;
}

/** SHA-256(0x01 ‖ left ‖ right) by some implementation (the server's is native). */
export type NodeHasher = (left: Hash, right: Hash) => Hash;

/** Reads the hash of a complete subtree from wherever the tree is kept. */
export type SubtreeReader = (level: number, index: number) => Hash;

/** A range of leaves [start, end) whose hash (MTH of those leaves) a proof carries. */
export type LeafRange = readonly [start: number, end: number];

const isSafeSize = (n: number) => Number.isSafeInteger(n) && n >= 0;

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

/** The largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that make up the leaves [start, end), left to right, each as
 * large as alignment allows. For [0, n) these are the tree's "frontier": one subtree per
 * set bit of n, largest first.
 */
export function subtreesOfRange(start: number, end: number): Subtree[] {
  const out: Subtree[] = [];
  while (start < end) {
    let level = 0;
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 <= end) {
      size *= 2;
      level++;
    }
    out.push({ level, index: start / size });
    start += size;
  }
  return out;
}

/**
 * MTH of the leaves [start, end) from complete subtree hashes. Exact for the ranges the
 * proof algorithms produce (start aligned to a power of two at least end − start), where
 * RFC 9162's split at the largest power of two lines up with the aligned subtrees.
 */
export function rangeHash(start: number, end: number, read: SubtreeReader): Hash {
  if (start === end) return EMPTY_ROOT;
  return foldSubtrees(subtreesOfRange(start, end).map((s) => read(s.level, s.index)));
}

/** The hash of adjacent subtrees, left to right, of decreasing size: folded from the right. */
export function foldSubtrees(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/** MTH(D[n]) over leaf hashes (RFC 9162 2.1.1), built bottom-up. */
export function rootOf(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  let level: Hash[] = [...leaves];
  // Pairing left to right and carrying an odd last node up gives the same tree as the
  // RFC's split at the largest power of two.
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** The ranges whose hashes form PATH(m, D[n]) (RFC 9162 2.1.3.1), in proof order. */
export function inclusionProofRanges(leafIndex: number, treeSize: number): LeafRange[] {
  if (!isSafeSize(leafIndex) || !isSafeSize(treeSize) || leafIndex >= treeSize) {
    throw new RangeError(`leaf index ${leafIndex} is not in a tree of size ${treeSize}`);
  }
  const path = (m: number, lo: number, hi: number): LeafRange[] => {
    if (hi - lo === 1) return [];
    const k = splitPoint(hi - lo);
    return m < k ? [...path(m, lo, lo + k), [lo + k, hi]] : [...path(m - k, lo + k, hi), [lo, lo + k]];
  };
  return path(leafIndex, 0, treeSize);
}

/** The ranges whose hashes form PROOF(m, D[n]) (RFC 9162 2.1.4.1), in proof order. */
export function consistencyProofRanges(size1: number, size2: number): LeafRange[] {
  if (!isSafeSize(size1) || !isSafeSize(size2) || size1 > size2) {
    throw new RangeError(`no consistency proof from size ${size1} to size ${size2}`);
  }
  if (size1 === 0 || size1 === size2) return [];
  const subproof = (m: number, lo: number, hi: number, whole: boolean): LeafRange[] => {
    if (m === hi - lo) return whole ? [] : [[lo, hi]];
    const k = splitPoint(hi - lo);
    return m <= k
      ? [...subproof(m, lo, lo + k, whole), [lo + k, hi]]
      : [...subproof(m - k, lo + k, hi, false), [lo, lo + k]];
  };
  return subproof(size1, 0, size2, true);
}

/** Every complete subtree the hashes of `ranges` need: what a store reads for a proof. */
export function subtreesOfRanges(ranges: readonly LeafRange[]): Subtree[] {
  return ranges.flatMap(([start, end]) => subtreesOfRange(start, end));
}

export function inclusionProof(leafIndex: number, treeSize: number, read: SubtreeReader): Hash[] {
  return inclusionProofRanges(leafIndex, treeSize).map(([s, e]) => rangeHash(s, e, read));
}

export function consistencyProof(size1: number, size2: number, read: SubtreeReader): Hash[] {
  return consistencyProofRanges(size1, size2).map(([s, e]) => rangeHash(s, e, read));
}

/** The root of a tree of `size` leaves from its stored subtree hashes. */
export function rootFromStore(size: number, read: SubtreeReader): Hash {
  return rangeHash(0, size, read);
}

/** Verifies an inclusion proof (RFC 9162 2.1.3.2). */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (!isSafeSize(leafIndex) || !isSafeSize(treeSize) || leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashesEqual(r, root);
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
 * leaves with root `root1` (RFC 9162 2.1.4.2). Equal sizes need equal roots and an empty
 * proof; the empty tree is a prefix of every tree.
 */
export function verifyConsistency(size1: number, size2: number, root1: Hash, root2: Hash, proof: readonly Hash[]): boolean {
  if (!isSafeSize(size1) || !isSafeSize(size2) || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && hashesEqual(root1, root2);
  if (size1 === 0) return proof.length === 0 && hashesEqual(root1, EMPTY_ROOT);
  if (proof.length === 0) return false;
  let path = proof;
  // size1 a power of two: the old root is itself a node of the new tree.
  if (isPowerOfTwo(size1)) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashesEqual(fr, root1) && hashesEqual(sr, root2);
}

/**
 * Appends leaves to a tree of `size` leaves whose frontier (the hashes of
 * subtreesOfRange(0, size), left to right) is given. Answers every complete subtree the
 * new leaves complete (the leaves themselves at level 0 included), in the order they
 * complete, and the new frontier. What an integrator stores: nothing old is rewritten.
 */
export function appendLeaves(
  size: number,
  frontier: readonly Hash[],
  leaves: readonly Hash[],
  hashNode: NodeHasher = nodeHash,
): { completed: SubtreeHash[]; frontier: SubtreeHash[] } {
  const shape = subtreesOfRange(0, size);
  if (shape.length !== frontier.length) {
    throw new RangeError(`a tree of size ${size} has ${shape.length} frontier hashes, got ${frontier.length}`);
  }
  const stack: SubtreeHash[] = shape.map((s, i) => ({ ...s, hash: frontier[i]! }));
  const completed: SubtreeHash[] = [];
  leaves.forEach((hash, i) => {
    let node: SubtreeHash = { level: 0, index: size + i, hash };
    completed.push(node);
    while (stack.length > 0 && stack[stack.length - 1]!.level === node.level) {
      const left = stack.pop()!;
      node = { level: node.level + 1, index: left.index / 2, hash: hashNode(left.hash, node.hash) };
      completed.push(node);
    }
    stack.push(node);
  });
  return { completed, frontier: stack };
}
