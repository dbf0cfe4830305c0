// RFC 9162 section 2.1 written out as the spec defines it (recursive MTH, PATH, PROOF),
// with node:crypto's SHA-256, and proofs verified by undoing those definitions: an
// implementation independent of shared/merkle.ts that tests hold it and the server against.
import { createHash } from 'node:crypto';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export const specLeafHash = (data: Uint8Array) => sha(new Uint8Array([0]), data);
const specNode = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([1]), l, r);

/** The largest power of two smaller than n. */
const largestPowerBelow = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);

/** A tree over leaf inputs D[0..n), with MTH memoised per range (the definitions recurse a lot). */
export class SpecTree {
  private readonly memo = new Map<string, Uint8Array>();
  /** `leaves` are leaf hashes (SHA-256(0x00 ‖ d)) of the entries. */
  constructor(private readonly leaves: Uint8Array[]) {}

  /** MTH(D[lo:hi]). */
  mth(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (n === 0) return sha();
    if (n === 1) return this.leaves[lo]!;
    const key = `${lo}:${hi}`;
    let h = this.memo.get(key);
    if (!h) {
      const k = largestPowerBelow(n);
      h = specNode(this.mth(lo, lo + k), this.mth(lo + k, hi));
      this.memo.set(key, h);
    }
    return h;
  }

  /** PATH(m, D[lo:hi]). */
  path(m: number, lo: number, hi: number): Uint8Array[] {
    const n = hi - lo;
    if (n === 1) return [];
    const k = largestPowerBelow(n);
    if (m < k) return [...this.path(m, lo, lo + k), this.mth(lo + k, hi)];
    return [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }

  /** PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
  proof(m: number, n: number): Uint8Array[] {
    return this.subproof(m, 0, n, true);
  }

  private subproof(m: number, lo: number, hi: number, b: boolean): Uint8Array[] {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = largestPowerBelow(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

// Verification by the definitions themselves rather than RFC 9162's iterative algorithms
// (which shared/merkle.ts implements): a proof is PATH or PROOF read backwards, its last
// hash the sibling at the top split, so the roots are rebuilt by the same recursion that
// defines the proof. A bug shared with the iterative code cannot hide here.

/** MTH(D[n]) from PATH(m, D[n]) and leaf m, or null when the path has the wrong length. */
function rootFromPath(m: number, n: number, leaf: Uint8Array, path: Uint8Array[]): Uint8Array | null {
  if (n === 1) return path.length === 0 ? leaf : null;
  if (path.length === 0) return null;
  const k = largestPowerBelow(n);
  const sibling = path[path.length - 1]!;
  const rest = path.slice(0, -1);
  if (m < k) {
    const left = rootFromPath(m, k, leaf, rest);
    return left && specNode(left, sibling);
  }
  const right = rootFromPath(m - k, n - k, leaf, rest);
  return right && specNode(sibling, right);
}

/** Leaf `index` with hash `leaf` is in the tree of `size` leaves whose root is `root`. */
export function specVerifyInclusion(index: number, size: number, leaf: Uint8Array, path: Uint8Array[], root: Uint8Array): boolean {
  if (!(index >= 0 && index < size)) return false;
  const rebuilt = rootFromPath(index, size, leaf, path);
  return rebuilt !== null && eq(rebuilt, root);
}

/**
 * From SUBPROOF(m, D[n], b): the hashes of the first m leaves of this subtree (`first`) and
 * of the whole subtree (`whole`), or null when the proof has the wrong length. `oldRoot`
 * is the hash SUBPROOF leaves out while b holds (the old tree is then this very subtree).
 */
function rootsFromSubproof(m: number, n: number, b: boolean, proof: Uint8Array[], oldRoot: Uint8Array): { first: Uint8Array; whole: Uint8Array } | null {
  if (m === n) {
    if (b) return proof.length === 0 ? { first: oldRoot, whole: oldRoot } : null;
    return proof.length === 1 ? { first: proof[0]!, whole: proof[0]! } : null;
  }
  if (proof.length === 0) return null;
  const k = largestPowerBelow(n);
  const last = proof[proof.length - 1]!;
  const rest = proof.slice(0, -1);
  if (m <= k) {
    const left = rootsFromSubproof(m, k, b, rest, oldRoot);
    return left && { first: left.first, whole: specNode(left.whole, last) };
  }
  // m > k: the first m leaves are the whole left half (k, the largest power below m too) and m − k of the right.
  const right = rootsFromSubproof(m - k, n - k, false, rest, oldRoot);
  return right && { first: specNode(last, right.first), whole: specNode(last, right.whole) };
}

/** The tree of `second` leaves (root `secondHash`) extends the tree of `first` leaves (root `firstHash`); 0 < first < second. */
export function specVerifyConsistency(first: number, second: number, firstHash: Uint8Array, secondHash: Uint8Array, proof: Uint8Array[]): boolean {
  if (!(first > 0 && first < second)) return false;
  const roots = rootsFromSubproof(first, second, true, proof, firstHash);
  return roots !== null && eq(roots.first, firstHash) && eq(roots.whole, secondHash);
}
