// The inclusion proof's one statement (server/db/merkleStore.ts selectInclusionPath)
// computes in SQL which subtrees a proof needs and where each is stored. Held here to the
// TypeScript reference for many leaves and tree sizes on a tree past one full level-1 tile
// (65,536 leaves), so tiles of every kind are read: full and partial, levels 0 to 2.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inclusionProofRanges, subtreesOfRanges, verifyInclusion } from '../../shared/merkle.js';
import { queryRows, type Database } from '../../server/db/database.js';
import { selectInclusionPath, selectSlots } from '../../server/db/merkleStore.js';
import { eventInclusionProof, integrateEvents, treeRoot } from '../../server/services/merkleTree.js';
import { slotOf } from '../../server/services/merkleTiles.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const LEAVES = 70_001;
const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');

describe.each(BACKENDS)('inclusion proof paths on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  /** Event ids by leaf index (events are written in seq order, without gaps). */
  let ids: string[];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    db = database.db;
    // Synthetic events with stored leaf hashes: the integrator reads only those.
    await db.execute(sql`
      insert into audit_events (id, time, action, resource_type, resource_target, hash, leaf_hash)
      select gen_random_uuid(), now(), 'create', 'workspace', 'ws-' || g, encode(sha256(convert_to('e' || g, 'UTF8')), 'hex'),
             sha256('\\x00'::bytea || convert_to('leaf-' || g, 'UTF8'))
        from generate_series(1, ${LEAVES}) g`);
    await integrateEvents(db, { batchSize: 20_000 });
    ids = (await queryRows<{ id: string }>(db, sql`select id from audit_events order by seq`)).map((r) => r.id);
  }, 300_000);
  afterAll(async () => {
    await database?.destroy();
  });

  /** The subtrees and hashes the TypeScript reference reads for this proof: slotOf for each. */
  async function reference(leafIndex: number, treeSize: number): Promise<Map<string, string>> {
    const subtrees = subtreesOfRanges(inclusionProofRanges(leafIndex, treeSize));
    const { found } = await selectSlots(db, subtrees.map(slotOf));
    return new Map(subtrees.map((s, i) => [`${s.level}/${s.index}`, hex(found[i]!)]));
  }

  it('reads exactly the subtrees the reference reads, from the same slots, for many leaves and sizes', async () => {
    const edges = [0, 1, 2, 127, 128, 254, 255, 256, 257, 511, 512, 32_767, 32_768, 65_279, 65_280, 65_535, 65_536, 65_537, 69_999, 70_000];
    let seed = 7;
    const random = (below: number) => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0), seed % below);
    const leaves = [...edges, ...Array.from({ length: 25 }, () => random(LEAVES))];
    let checked = 0;
    for (const leafIndex of leaves) {
      const sizes = new Set([leafIndex + 1, leafIndex + 2, LEAVES, leafIndex + 1 + random(LEAVES - leafIndex), (Math.floor(leafIndex / 256) + 1) * 256, 65_536, 65_537]);
      for (const treeSize of sizes) {
        if (treeSize <= leafIndex || treeSize > LEAVES) continue;
        const path = await selectInclusionPath(db, ids[leafIndex]!, treeSize);
        expect(path.leaf?.leafIndex).toBe(leafIndex);
        const read = new Map(path.subtrees.map((s) => [`${s.level}/${s.index}`, hex(s.hash)]));
        expect(read).toEqual(await reference(leafIndex, treeSize));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('serves proofs that verify against the roots of those sizes', async () => {
    for (const [leafIndex, treeSize] of [[0, 1], [0, LEAVES], [65_535, 65_536], [65_536, 65_537], [65_600, LEAVES], [LEAVES - 1, LEAVES], [300, 70_000]] as const) {
      const answer = await eventInclusionProof(db, ids[leafIndex]!, treeSize);
      expect(answer.leafIndex).toBe(leafIndex);
      const proof = answer.proof.map((p) => new Uint8Array(Buffer.from(p, 'base64')));
      expect(verifyInclusion(leafIndex, treeSize, new Uint8Array(Buffer.from(answer.leafHash, 'base64')), proof, await treeRoot(db, treeSize))).toBe(true);
    }
  });

  it('reads no subtrees for a tree that does not hold the leaf or is larger than the stored one', async () => {
    for (const [leafIndex, treeSize] of [[5, 5], [5, 0], [5, LEAVES + 1], [5, Number.MAX_SAFE_INTEGER]] as const) {
      const path = await selectInclusionPath(db, ids[leafIndex]!, treeSize);
      expect(path.leaf?.leafIndex).toBe(leafIndex);
      expect(path.end.size).toBe(LEAVES);
      expect(path.subtrees).toEqual([]);
    }
  });
});
