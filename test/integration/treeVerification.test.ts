// `vigil verify` holds the Merkle tree against the rows on every test database: an honest
// log (gaps in seq, retention, events not yet integrated) passes; a changed event, a
// changed stored leaf or node, a removed event, a forged head are each named by leaf
// index and event id. And the chain's diagnosis reads positions from the tree: after a
// gap in seq (a rolled-back write), a changed event is "changed", a removed one "removed".
import { sql, type SQL } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventInput } from '../../shared/event.js';
import { runCli } from '../../server/cli.js';
import { createContextInner } from '../../server/context.js';
import type { Database } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { createCaller } from '../../server/routers/_app.js';
import type { Caller } from '../../server/services/caller.js';
import { recordEvents } from '../../server/services/events.js';
import { runRetention, verifyChain } from '../../server/services/integrity.js';
import { integrateEvents, signTreeHead, treeLogOf } from '../../server/services/merkleTree.js';
import { slotOf } from '../../server/services/merkleTiles.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { verifyTree } from '../../server/services/treeVerification.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rolledBackWrite } from '../support/seqGaps.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };
const ORIGIN = 'vigil.test/verify';

describe.each(BACKENDS)('verify holds the tree against the rows on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  const signer = generateSigner();
  const log = treeLogOf(signer, ORIGIN);
  const api = () => createCaller(createContextInner({ db, caller: ADMIN, signer, treeLog: log }));

  const events = (n: number, tag: string): EventInput[] =>
    Array.from({ length: n }, (_, i) => ({
      action: (['create', 'write', 'delete'] as const)[i % 3]!,
      resourceType: 'workspace',
      resourceTarget: `${tag}-${i}`,
      actor: { username: `user${i % 4}` },
      metadata: { i },
    }));

  async function record(n: number, tag = 'e'): Promise<{ id: string; seq: number }[]> {
    return (await api().events.recordBatch({ events: events(n, tag) })).events;
  }

  /** Integrates what is recorded and signs a head of it, as the integrator does within a second. */
  async function head(): Promise<void> {
    await integrateEvents(db, { wait: true });
    await signTreeHead(db, log);
  }


  /** As a superuser: the append-only triggers do not fire. */
  async function asSuperuser(statements: SQL[]): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      for (const s of statements) await tx.execute(s);
    });
  }

  const verifyCli = () => runCli(['verify'], db, { signer }).then((lines) => lines.join('\n'), (e: Error) => `THROWN ${e.message}`);

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    db = database.db;
  });
  afterEach(async () => {
    await database?.destroy();
  });

  it('an honest log passes: gaps in seq, retention, events not yet integrated', async () => {
    let now = new Date('2026-01-01T00:00:00.000Z');
    const clock = () => now;
    await recordEvents(new EventWriter(db), events(5, 'old'), clock);
    await rolledBackWrite(db, 3);
    await head();
    now = new Date('2026-03-01T00:00:00.000Z');
    await recordEvents(new EventWriter(db), events(4, 'new'), clock);
    await runRetention(db, new EventWriter(db), signer, { retentionDays: 30, clock });
    await rolledBackWrite(db, 2);
    await record(3, 'after');
    await head();
    await record(2, 'pending');

    const report = await verifyTree(db, { signer });
    expect(report).toMatchObject({ ok: true, leaves: 13, leavesChecked: 8, leavesRetained: 5, eventsNotYetIntegrated: 2, problems: 0, head: { treeSize: 13, origin: ORIGIN } });
    expect(report.nodesChecked).toBeGreaterThan(0);
    const out = await verifyCli();
    expect(out).toMatch(/^ok: checked 10 events/);
    expect(out).toContain('tree ok: 13 leaves: 8 recomputed from their events, 5 of events removed by retention');
    expect(out).toContain(`the latest signed head (size 13, ${ORIGIN}) verified`);
  });

  it('names a changed event by leaf index and event id', async () => {
    const recorded = await record(10);
    await head();
    const changed = recorded[6]!;
    await asSuperuser([sql`update audit_events set resource_target = 'innocent' where id = ${changed.id}`]);
    const report = await verifyTree(db, { signer });
    expect(report).toMatchObject({ ok: false, problems: 1, findings: [{ problem: 'leaf_changed', leafIndex: 6, eventId: changed.id, seq: changed.seq }] });
    const out = await verifyCli();
    expect(out).toMatch(/^THROWN FAILED at seq \d+ \(changed\)/);
    expect(out).toContain(`leaf_changed: leaf 6: event ${changed.id} (seq ${changed.seq}) no longer matches its leaf hash`);
  });

  it('names a changed stored node, a changed stored leaf, and deleted leaves', async () => {
    const recorded = await record(9);
    await head();
    expect((await verifyTree(db, { signer })).ok).toBe(true);

    // The node over leaves 4 to 7 is kept with the leaves' tile, between its hashes (merkleTiles.ts).
    const nodeSlot = slotOf({ level: 2, index: 1 });
    await asSuperuser([
      sql`update merkle_tiles set inner_hashes = overlay(inner_hashes placing decode(repeat('cd', 32), 'hex') from ${nodeSlot.position * 32 + 1} for 32)
          where level = 0 and tile_index = 0`,
    ]);
    expect((await verifyTree(db, { signer })).findings).toEqual([
      {
        problem: 'node_changed',
        leafIndex: 4,
        message: 'the stored node at level 2, index 1 (leaves 4 to 7) is not the hash of its leaves: it was changed',
      },
    ]);

    await asSuperuser([
      sql`update merkle_tiles set hashes = overlay(hashes placing decode(repeat('ab', 32), 'hex') from ${3 * 32 + 1} for 32) where level = 0 and tile_index = 0`,
    ]);
    const leaf = await verifyTree(db, { signer });
    // One finding for the leaf (the nodes over it differ because of it), and the head no longer matches.
    expect(leaf.findings.map((f) => [f.problem, f.leafIndex ?? null])).toEqual([
      ['leaf_changed', 3],
      ['node_changed', 4],
      ['head_root', null],
    ]);
    expect(leaf.findings[0]!.eventId).toBe(recorded[3]!.id);

    // Past 512 leaves, the tree's level-8 nodes are kept in a tile of their own.
    const later = await record(600, 'later');
    await head();
    await asSuperuser([
      sql`update merkle_tiles set hashes = overlay(hashes placing decode(repeat('ef', 32), 'hex') from 33 for 32) where level = 1 and tile_index = 0`,
    ]);
    expect((await verifyTree(db, { signer })).findings).toContainEqual({
      problem: 'node_changed',
      leafIndex: 256,
      message: 'the stored node at level 8, index 1 (leaves 256 to 511) is not the hash of its leaves: it was changed',
    });

    await asSuperuser([sql`delete from merkle_tiles where level = 0 and tile_index = 1`]);
    const hole = await verifyTree(db, { signer });
    expect(hole.findings).toContainEqual({ problem: 'leaf_missing', leafIndex: 256, message: 'leaves 256 to 511 are missing from the tree: they were deleted' });
    const firstMissing = later[256 - 9]!;
    expect(hole.findings.some((f) => f.problem === 'event_not_in_tree' && f.eventId === firstMissing.id)).toBe(true);
  });

  it('names an event removed without retention, and a head not signed by the server key or not matching its row', async () => {
    const recorded = await record(6);
    await head();
    await asSuperuser([sql`delete from audit_events where id = ${recorded[2]!.id}`]);
    const removed = await verifyTree(db, { signer });
    expect(removed.findings).toEqual([
      expect.objectContaining({ problem: 'event_removed', leafIndex: 2, eventId: recorded[2]!.id, message: `leaf 2: event ${recorded[2]!.id} (seq ${recorded[2]!.seq}) was removed (not by retention)` }),
    ]);

    const other = treeLogOf(generateSigner(), ORIGIN);
    const forged = await other.sign(`${ORIGIN}\n6\n${Buffer.alloc(32, 1).toString('base64')}\n`);
    await asSuperuser([sql`update merkle_tree_heads set note = ${forged} where tree_size = 6`]);
    const badKey = await verifyTree(db, { signer });
    expect(badKey.findings.find((f) => f.problem === 'head_signature')?.message).toMatch(/^the latest signed head \(size 6\): the note is not signed by vigil.test\/verify\+[0-9a-f]{8}$/);

    const resigned = await log.sign(`${ORIGIN}\n6\n${Buffer.alloc(32, 1).toString('base64')}\n`);
    await asSuperuser([sql`update merkle_tree_heads set note = ${resigned} where tree_size = 6`]);
    const mismatch = await verifyTree(db, { signer });
    expect(mismatch.findings.find((f) => f.problem === 'head_signature')?.message).toMatch(/its note signs size 6 and root AQEB.*, its row says otherwise$/);
  });

  describe('the chain diagnosis reads positions from the tree, not seq', () => {
    it('a changed event after a gap in seq is "changed"; events removed after a gap are "removed"', async () => {
      await record(4, 'a');
      await rolledBackWrite(db, 3);
      const afterGap = await record(4, 'b');
      await rolledBackWrite(db, 2);
      const afterSecondGap = await record(4, 'c');
      await head();
      expect(await verifyChain(db, { trusted: [signer] })).toMatchObject({ ok: true, checked: 12 });
      expect(afterGap[0]!.seq).toBe(8);

      await asSuperuser([sql`update audit_events set resource_target = 'innocent' where seq = ${afterGap[0]!.seq}`]);
      const changed = await verifyChain(db, { trusted: [signer] });
      expect(changed.firstBad).toMatchObject({ seq: afterGap[0]!.seq, problem: 'changed', message: expect.stringMatching(/no event is missing: it is leaf 4 of the Merkle tree, right after seq 4/) });
      await asSuperuser([sql`update audit_events set resource_target = 'b-0' where seq = ${afterGap[0]!.seq}`]);
      expect(await verifyChain(db, { trusted: [signer] })).toMatchObject({ ok: true });

      // The last event before the second gap and the first after it removed: two leaves lie between.
      await asSuperuser([sql`delete from audit_events where seq in (${afterGap[3]!.seq}, ${afterSecondGap[0]!.seq})`]);
      const removed = await verifyChain(db, { trusted: [signer] });
      expect(removed.firstBad).toMatchObject({
        seq: afterSecondGap[1]!.seq,
        problem: 'removed',
        message: `seq ${afterSecondGap[1]!.seq} does not chain from seq ${afterGap[2]!.seq}: 2 events were removed between them (the Merkle tree holds leaves 7 to 8 there)`,
      });
      const out = await verifyCli();
      expect(out).toContain(`event_removed: leaf 7: event ${afterGap[3]!.id}`);
      expect(out).toContain(`event_removed: leaf 8: event ${afterSecondGap[0]!.id}`);
    });
  });
});
