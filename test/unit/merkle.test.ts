// shared/merkle.ts against RFC 9162's own definitions (test/support/rfc9162.ts, written
// apart from it with another SHA-256): roots, every inclusion and consistency proof of
// every tree up to 70 leaves, random ones on a 100,000-leaf tree, and tampered proofs.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromStore,
  rootOf,
  subtreesOfRange,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type SubtreeReader,
} from '../../shared/merkle.js';
import { SpecTree, specLeafHash, specVerifyConsistency, specVerifyInclusion } from '../support/rfc9162.js';

const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
const hexes = (hs: Uint8Array[]) => hs.map(hex);

/** Deterministic pseudo-random numbers (mulberry32), so a failure is reproducible. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const entry = (i: number) => new TextEncoder().encode(`entry ${i} ✓`);

/** A store of every complete subtree, filled the way the server fills it (appendLeaves, in batches). */
function buildStore(leaves: Hash[], batch: number): { read: SubtreeReader; frontier: Hash[] } {
  const nodes = new Map<string, Hash>();
  let frontier: Hash[] = [];
  for (let start = 0; start < leaves.length; start += batch) {
    const added = appendLeaves(start, frontier, leaves.slice(start, start + batch));
    for (const n of added.completed) {
      expect(nodes.has(`${n.level}/${n.index}`)).toBe(false); // nothing is ever rewritten
      nodes.set(`${n.level}/${n.index}`, n.hash);
    }
    frontier = added.frontier.map((f) => f.hash);
  }
  const read: SubtreeReader = (level, index) => {
    const h = nodes.get(`${level}/${index}`);
    if (!h) throw new Error(`no subtree ${level}/${index}`);
    return h;
  };
  return { read, frontier };
}

function flipped(proof: Hash[], at: number): Hash[] {
  return proof.map((h, i) => (i === at ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
}

describe('RFC 9162 Merkle tree', () => {
  it('hashes the empty tree to SHA-256 of nothing, leaves with 0x00 and nodes with 0x01', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(rootOf([]))).toBe(hex(EMPTY_ROOT));
    const data = entry(1);
    expect(hex(leafHash(data))).toBe(createHash('sha256').update(Buffer.from([0])).update(data).digest('hex'));
    const [a, b] = [leafHash(entry(1)), leafHash(entry(2))];
    expect(hex(nodeHash(a, b))).toBe(createHash('sha256').update(Buffer.from([1])).update(a).update(b).digest('hex'));
  });

  it('decomposes ranges into aligned complete subtrees', () => {
    expect(subtreesOfRange(0, 7)).toEqual([{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
    expect(subtreesOfRange(8, 13)).toEqual([{ level: 2, index: 2 }, { level: 0, index: 12 }]);
    expect(subtreesOfRange(5, 5)).toEqual([]);
  });

  it('matches the spec for every leaf and every (from, to) pair of trees of 1 to 70 leaves', () => {
    const N = 70;
    const leaves = Array.from({ length: N }, (_, i) => specLeafHash(entry(i)));
    expect(hexes(leaves)).toEqual(hexes(Array.from({ length: N }, (_, i) => leafHash(entry(i)))));
    const spec = new SpecTree(leaves);
    // Batches of 3 leave every frontier shape behind at some point.
    const { read } = buildStore(leaves, 3);
    const random = prng(9162);
    let inclusions = 0;
    let consistencies = 0;
    for (let n = 1; n <= N; n++) {
      const root = spec.mth(0, n);
      expect(hex(rootOf(leaves.slice(0, n)))).toBe(hex(root));
      expect(hex(rootFromStore(n, read))).toBe(hex(root));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, read);
        expect(hexes(proof)).toEqual(hexes(spec.path(m, 0, n)));
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        expect(specVerifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        // Any change makes it fail: a flipped proof hash, another leaf or index, an extra hash.
        if (proof.length > 0) expect(verifyInclusion(m, n, leaves[m]!, flipped(proof, Math.floor(random() * proof.length)), root)).toBe(false);
        if (n > 1) expect(verifyInclusion(m, n, leaves[(m + 1) % n]!, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, [...proof, leaves[0]!], root)).toBe(false);
        // The spec's verification refuses them too (it is not a check that cannot fail).
        if (proof.length > 0) expect(specVerifyInclusion(m, n, leaves[m]!, flipped(proof, Math.floor(random() * proof.length)), root)).toBe(false);
        if (n > 1) expect(specVerifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
        expect(specVerifyInclusion(m, n, leaves[m]!, [...proof, leaves[0]!], root)).toBe(false);
        inclusions++;
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, read);
        const old = spec.mth(0, m);
        expect(hexes(proof)).toEqual(hexes(m === n ? [] : spec.proof(m, n)));
        expect(verifyConsistency(m, n, old, root, proof)).toBe(true);
        if (m < n) {
          expect(specVerifyConsistency(m, n, old, root, proof)).toBe(true);
          expect(verifyConsistency(m, n, old, root, flipped(proof, Math.floor(random() * proof.length)))).toBe(false);
          expect(verifyConsistency(m, n, nodeHash(old, old), root, proof)).toBe(false);
          expect(verifyConsistency(m, n, old, nodeHash(root, root), proof)).toBe(false);
          expect(verifyConsistency(m, n, old, root, proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, old, root, [])).toBe(false);
          expect(verifyConsistency(n, m, root, old, proof)).toBe(false);
          expect(specVerifyConsistency(m, n, old, root, flipped(proof, Math.floor(random() * proof.length)))).toBe(false);
          expect(specVerifyConsistency(m, n, nodeHash(old, old), root, proof)).toBe(false);
          expect(specVerifyConsistency(m, n, old, root, proof.slice(1))).toBe(false);
          expect(specVerifyConsistency(m, n, old, root, [...proof, old])).toBe(false);
        }
        consistencies++;
      }
      // The empty tree is a prefix of every tree, with an empty proof.
      expect(verifyConsistency(0, n, EMPTY_ROOT, root, consistencyProof(0, n, read))).toBe(true);
      expect(verifyConsistency(0, n, EMPTY_ROOT, root, [root])).toBe(false);
    }
    expect(inclusions).toBe((N * (N + 1)) / 2);
    expect(consistencies).toBe((N * (N + 1)) / 2);
  });

  it('matches the spec for random proofs on a 100,000-leaf tree', () => {
    const N = 100_000;
    const leaves = Array.from({ length: N }, (_, i) => specLeafHash(entry(i)));
    const spec = new SpecTree(leaves);
    const { read, frontier } = buildStore(leaves, 4096);
    const root = spec.mth(0, N);
    expect(hex(rootFromStore(N, read))).toBe(hex(root));
    expect(frontier).toHaveLength(subtreesOfRange(0, N).length);
    const random = prng(100_000);
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * N);
      const m = Math.floor(random() * n);
      const proof = inclusionProof(m, n, read);
      const r = spec.mth(0, n);
      expect(hexes(proof)).toEqual(hexes(spec.path(m, 0, n)));
      expect(verifyInclusion(m, n, leaves[m]!, proof, r)).toBe(true);
      expect(specVerifyInclusion(m, n, leaves[m]!, proof, r)).toBe(true);
      const from = 1 + Math.floor(random() * n);
      const consistency = consistencyProof(from, n, read);
      expect(hexes(consistency)).toEqual(hexes(from === n ? [] : spec.proof(from, n)));
      expect(verifyConsistency(from, n, spec.mth(0, from), r, consistency)).toBe(true);
      if (from < n) {
        expect(specVerifyConsistency(from, n, spec.mth(0, from), r, consistency)).toBe(true);
        expect(verifyConsistency(from, n, spec.mth(0, from), r, flipped(consistency, 0))).toBe(false);
      }
    }
  });

  it('refuses impossible proofs with a clear error', () => {
    const { read } = buildStore([leafHash(entry(0)), leafHash(entry(1))], 2);
    expect(() => inclusionProof(2, 2, read)).toThrow('leaf index 2 is not in a tree of size 2');
    expect(() => consistencyProof(3, 2, read)).toThrow('no consistency proof from size 3 to size 2');
    expect(verifyInclusion(0, 0, EMPTY_ROOT, [], EMPTY_ROOT)).toBe(false);
    expect(() => appendLeaves(3, [], [])).toThrow('a tree of size 3 has 2 frontier hashes, got 0');
  });
});
