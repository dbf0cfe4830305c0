// The tile geometry (server/services/merkleTiles.ts): every subtree an append completes is
// stored once, where slotOf later looks for it, across tile edges and tile levels.
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { appendLeaves, type Hash } from '../../shared/merkle.js';
import { innerCountOf, slotOf, tileAppendsOf, TILE_WIDTH, tileWidthAt } from '../../server/services/merkleTiles.js';

const hash = (...parts: Uint8Array[]): Hash => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leaf = (i: number) => hash(Buffer.from(`leaf ${i}`));

it('stores each completed subtree once, in tile order, where slotOf finds it (batches across tile edges, two tile levels)', () => {
  const tiles = new Map<string, { hashes: Hash[]; inner: Hash[]; seqs: number[] }>();
  let frontier: Hash[] = [];
  let size = 0;
  for (const batch of [1, 2, 253, 1, 300, 1000, 63_979, 256, 3]) {
    const leaves = Array.from({ length: batch }, (_, k) => leaf(size + k));
    const grown = appendLeaves(size, frontier, leaves, (l, r) => hash(Uint8Array.of(1), l, r));
    for (const a of tileAppendsOf(size, grown.completed, (i) => 10 + i)) {
      const tile = tiles.get(`${a.level}/${a.index}`) ?? { hashes: [], inner: [], seqs: [] };
      tile.hashes.push(...a.hashes);
      tile.inner.push(...a.inner);
      tile.seqs.push(...a.seqs);
      tiles.set(`${a.level}/${a.index}`, tile);
    }
    size += batch;
    for (const node of grown.completed) {
      const slot = slotOf(node);
      const tile = tiles.get(`${slot.level}/${slot.index}`)!;
      expect(Buffer.compare(Buffer.from((slot.inner ? tile.inner : tile.hashes)[slot.position]!), Buffer.from(node.hash))).toBe(0);
    }
    frontier = grown.frontier.map((f) => f.hash);
    for (const [key, tile] of tiles) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      const width = tileWidthAt({ level, index }, size);
      expect([tile.hashes.length, tile.inner.length]).toEqual([width, innerCountOf(width)]);
      if (level === 0) expect(tile.seqs).toEqual(Array.from({ length: width }, (_, p) => 10 + index * TILE_WIDTH + p));
    }
  }
  expect(size).toBe(65_795);
  expect([tiles.get('1/0')!.hashes.length, tiles.get('2/0')!.hashes.length, innerCountOf(256)]).toEqual([256, 1, 254]);
});

it('refuses an append that does not continue a tile where it ends', () => {
  const grown = appendLeaves(0, [], [leaf(0), leaf(1)]);
  expect(() => tileAppendsOf(1, grown.completed, () => 1)).toThrow(/belongs at 0, not after 1/);
});

it('counts a tile\'s inner nodes as the nodes of levels 1 to 7 its hashes complete, for every width', () => {
  for (let width = 0; width <= TILE_WIDTH; width++) {
    let nodes = 0;
    for (let s = 1; s < 8; s++) nodes += Math.floor(width / 2 ** s);
    expect(innerCountOf(width)).toBe(nodes);
  }
});
