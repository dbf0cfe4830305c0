// The verifiable log on every test database: the Merkle tree the integrator builds, the
// heads it signs, and the proofs the procedures serve, each checked with shared/ and with
// RFC 9162's own definitions (test/support/rfc9162.ts) over leaves recomputed from the
// events as listed; bad input; restart; retention; replicas; and a superuser's rewrite.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../shared/base64.js';
import { canonicalEvent, canonicalFieldsOf } from '../../shared/canonical.js';
import type { EventInput } from '../../shared/event.js';
import { verifyConsistency, verifyInclusion } from '../../shared/merkle.js';
import { verifyCheckpoint } from '../../shared/signedNote.js';
import { createContextInner } from '../../server/context.js';
import { openDatabase, queryRows, type Database } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import type { Caller } from '../../server/services/caller.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { runRetention } from '../../server/services/integrity.js';
import { integrateEvents, signTreeHead, treeLogOf } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { TreeIntegrator } from '../../server/services/treeIntegrator.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { SpecTree, specLeafHash, specVerifyConsistency, specVerifyInclusion } from '../support/rfc9162.js';
import { startTestServer } from '../support/server.js';
import { witnessOnce } from '../examples/witness.js';
import { eventually } from '../support/waiting.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };
const AUDITOR: Caller = { kind: 'user', userId: '7f1f6a2e-4a8e-4c55-9d59-0c7a0f3b2a11', username: 'alice', email: 'alice@example.com', role: 'auditor', tokenId: null };
const ORIGIN = 'vigil.test/audit';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytes = (text: string) => fromBase64(text)!;

describe.each(BACKENDS)('Merkle tree on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  const signer = generateSigner();
  const log = treeLogOf(signer, ORIGIN);
  const api = (caller: Caller = ADMIN) => createCaller(createContextInner({ db, caller, signer, treeLog: log }));

  function events(n: number, tag = 'e'): EventInput[] {
    return Array.from({ length: n }, (_, i) => ({
      action: (['create', 'write', 'delete', 'login'] as const)[i % 4]!,
      resourceType: 'workspace',
      resourceTarget: `${tag}-${i}`,
      actor: { username: `user${i % 5}` },
      ip: i % 2 ? '2001:db8::1' : '10.0.0.7',
      diff: { name: { old: `a${i}`, new: `b${i}` } },
      metadata: { i, note: 'ünïcødé ✓' },
    }));
  }

  async function record(n: number, tag?: string): Promise<string[]> {
    return (await api().events.recordBatch({ events: events(n, tag) })).events.map((e) => e.id);
  }

  /** Leaves recomputed from the events as listed (oldest first), the way an auditor would. */
  async function specTreeFromEvents(): Promise<{ spec: SpecTree; ids: string[] }> {
    const items = [];
    let cursor: string | undefined;
    do {
      const page = await api().events.list({ limit: 200, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    items.sort((a, b) => a.seq - b.seq);
    const leaves = items.map((e) => specLeafHash(new TextEncoder().encode(canonicalEvent(canonicalFieldsOf(e)))));
    return { spec: new SpecTree(leaves), ids: items.map((e) => e.id) };
  }

  /** The latest head's size; -1 before the first head. */
  const signedSize = () => api().integrity.treeHead().then((h) => h.treeSize, () => -1);

  async function head() {
    await integrateEvents(db);
    const outcome = await signTreeHead(db, log);
    expect('signed' in outcome || 'unchanged' in outcome).toBe(true);
    return api().integrity.treeHead();
  }

  /** The tree's leaves and how many distinct events they name (each event once: equal). */
  async function leafCounts(): Promise<{ leaves: number; distinct: number }> {
    const [row] = await queryRows<{ leaves: string | number; distinct: string | number }>(
      db,
      sql`select count(*) as leaves, count(distinct id) as distinct from merkle_tiles, unnest(event_ids) as id where level = 0`,
    );
    return { leaves: Number(row!.leaves), distinct: Number(row!.distinct) };
  }

  /** A superuser's SQL with the append-only triggers off. */
  async function asSuperuser(statements: ReturnType<typeof sql>[]) {
    const tables = ['audit_events', 'merkle_tiles', 'merkle_removed_events', 'merkle_tree_heads'];
    for (const t of tables) await db.execute(sql.raw(`alter table ${t} disable trigger user`));
    try {
      for (const s of statements) await db.execute(s);
    } finally {
      for (const t of tables) await db.execute(sql.raw(`alter table ${t} enable trigger user`));
    }
  }

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    db = database.db;
  });
  afterEach(async () => {
    await database?.destroy();
  });

  it('serves heads and proofs that shared/ and the spec both verify, over seq with gaps', async () => {
    const heads = [await head()];
    expect(heads[0]!.treeSize).toBe(0);
    expect(heads[0]!.rootHash).toBe(createHash('sha256').digest('base64')); // SHA-256 of nothing
    for (const size of [1, 6, 13]) {
      await record(size, `batch${size}`);
      // A rolled-back insert consumes seqs: the tree does not care.
      await db
        .transaction(async (tx) => {
          await recordEvents(new EventWriter(tx as unknown as Database), events(2, 'rolled-back'));
          throw new Error('roll back');
        })
        .catch(() => {});
      // Rows written before the writer stored leaf hashes have none: the integrator hashes their rows.
      if (size === 6) await asSuperuser([sql`update audit_events set leaf_hash = null where resource_target like 'batch6-%'`]);
      heads.push(await head());
    }
    const [stored] = await queryRows<{ with: string | number; without: string | number }>(
      db,
      sql`select count(leaf_hash) as with, count(*) - count(leaf_hash) as without from audit_events`,
    );
    expect([Number(stored!.with), Number(stored!.without)]).toEqual([14, 6]);
    const [{ gaps }] = (await queryRows<{ gaps: string | number }>(db, sql`select max(seq) - count(*) as gaps from audit_events`)) as [{ gaps: string | number }];
    expect(Number(gaps)).toBeGreaterThan(0);

    const { spec, ids } = await specTreeFromEvents();
    const latest = heads.at(-1)!;
    expect(latest.treeSize).toBe(ids.length);
    expect(latest.verifierKey).toBe(log.verifierKey);
    expect(latest.verifierKey.startsWith(`${ORIGIN}+`)).toBe(true);
    for (const h of heads) {
      const checkpoint = await verifyCheckpoint(h.note, h.verifierKey, ORIGIN);
      expect(checkpoint.treeSize).toBe(h.treeSize);
      expect(b64(checkpoint.rootHash)).toBe(h.rootHash);
      expect(h.rootHash).toBe(b64(spec.mth(0, h.treeSize)));
    }

    for (const [leafIndex, id] of ids.entries()) {
      for (const treeSize of [leafIndex + 1, latest.treeSize]) {
        const answer = await api().integrity.inclusionProof({ id, treeSize });
        expect(answer.leafIndex).toBe(leafIndex);
        const proof = answer.proof.map(bytes);
        const root = spec.mth(0, treeSize);
        expect(answer.proof).toEqual(spec.path(leafIndex, 0, treeSize).map(b64));
        expect(verifyInclusion(leafIndex, treeSize, bytes(answer.leafHash), proof, root)).toBe(true);
        expect(specVerifyInclusion(leafIndex, treeSize, spec.mth(leafIndex, leafIndex + 1), proof, root)).toBe(true);
      }
    }

    for (const from of heads) {
      for (const to of heads.filter((h) => h.treeSize >= from.treeSize)) {
        const { proof } = await api().integrity.consistencyProof({ from: from.treeSize, to: to.treeSize });
        const hashes = proof.map(bytes);
        expect(verifyConsistency(from.treeSize, to.treeSize, bytes(from.rootHash), bytes(to.rootHash), hashes)).toBe(true);
        if (from.treeSize > 0 && from.treeSize < to.treeSize) {
          expect(proof).toEqual(spec.proof(from.treeSize, to.treeSize).map(b64));
          expect(specVerifyConsistency(from.treeSize, to.treeSize, bytes(from.rootHash), bytes(to.rootHash), hashes)).toBe(true);
        }
      }
    }
  });

  it('refuses bad input naming the field, and keeps working', async () => {
    const [first] = await record(3);
    const current = await head();
    const expectError = async (call: Promise<unknown>, code: string, message: string | RegExp) => {
      const error = (await call.then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
      expect(error?.code).toBe(code);
      expect(error?.message).toMatch(message);
    };
    await expectError(api().integrity.consistencyProof({ from: 3, to: 2 }), 'BAD_REQUEST', 'from: 3 is greater than to (2)');
    await expectError(api().integrity.consistencyProof({ from: 1, to: 9 }), 'BAD_REQUEST', 'to: the tree has 3 leaves, not 9');
    await expectError(api().integrity.consistencyProof({ from: -1, to: 2 }), 'BAD_REQUEST', /^from: /);
    await expectError(api().integrity.inclusionProof({ id: first!, treeSize: 9 }), 'BAD_REQUEST', 'treeSize: the tree has 3 leaves, not 9');
    await expectError(api().integrity.inclusionProof({ id: first!, treeSize: 0 }), 'BAD_REQUEST', `treeSize: event ${first} is leaf 0, not in a tree of 0 leaves`);
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expectError(api().integrity.inclusionProof({ id: unknown, treeSize: 3 }), 'NOT_FOUND', `id: no event ${unknown}`);
    await expectError(api().integrity.inclusionProof({ id: 'nope', treeSize: 3 } as never), 'BAD_REQUEST', /^id: /);
    const [fresh] = await record(1, 'fresh');
    await expectError(api().integrity.inclusionProof({ id: fresh!, treeSize: 3 }), 'NOT_FOUND', `id: event ${fresh} is not in the tree yet`);

    // Witness reports: a head this log signed is recorded; anything else is refused.
    const witnessed = await api(AUDITOR).integrity.witness({ note: current.note });
    expect(witnessed.treeSize).toBe(3);
    const event = await api().events.get({ id: witnessed.eventId });
    expect(event).toMatchObject({ action: 'read', resourceType: 'audit_log', resourceTarget: 'tree_head', resourceId: '3', actor: { username: 'alice' } });
    expect(event.metadata).toMatchObject({ witness: true, treeSize: 3, rootHash: current.rootHash, origin: ORIGIN });
    await expectError(api(AUDITOR).integrity.witness({ note: current.note.replace('\n3\n', '\n4\n') }), 'BAD_REQUEST', /^note: the signature by vigil.test\/audit does not verify/);
    await expectError(api(AUDITOR).integrity.witness({ note: 'garbage' }), 'BAD_REQUEST', /^note: malformed note/);
    // Signed by this key but never stored as a head (a split view or a deleted head).
    const forged = await log.sign(`${ORIGIN}\n3\n${b64(new Uint8Array(32))}\n`);
    await expectError(api(AUDITOR).integrity.witness({ note: forged }), 'BAD_REQUEST', 'note: this log holds no signed tree head of size 3 with that root hash');
    const otherLog = treeLogOf(generateSigner(), ORIGIN);
    await expectError(api(AUDITOR).integrity.witness({ note: await otherLog.sign(`${ORIGIN}\n3\n${current.rootHash}\n`) }), 'BAD_REQUEST', /^note: the note is not signed by/);
    // Still serving.
    expect((await api().integrity.consistencyProof({ from: 1, to: 3 })).proof.length).toBeGreaterThan(0);
  });

  it('keeps the tree append-only', async () => {
    await record(2);
    await head();
    for (const statement of [
      sql`update merkle_tiles set seqs = array_append(seqs[1:1], 0::bigint) where level = 0`,
      sql`update merkle_tiles set hashes = decode(repeat('ab', 32), 'hex') || substring(hashes from 33) where level = 0`,
      sql`update merkle_tiles set event_ids = event_ids[2:] || event_ids[1:1] where level = 0`,
      sql`delete from merkle_tiles`,
      sql`truncate merkle_tiles`,
      sql`truncate merkle_tree_heads`,
      sql`update merkle_tree_heads set note = 'x'`,
      sql`truncate merkle_removed_events`,
    ]) {
      const error = await db.execute(statement).then(
        () => null,
        (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
      );
      expect(error).toMatch(/^merkle_(tiles|tree_heads|removed_events) is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed( \(a tile only grows\))?$/);
    }
  });

  it('integrates within moments of a commit (NOTIFY), catches up after a restart, and signs heads while it grows', async () => {
    const integrator = new TreeIntegrator(db, log, { listen: database.listen, pollMs: 60_000, headIntervalMs: 100 });
    await integrator.start();
    // Its first round signs the empty tree's head; on a busy machine the events below could otherwise land first.
    await integrator.settle();
    try {
      const [id] = await record(5);
      await eventually(async () => (await signedSize()) === 5, 'the tree to hold 5 events');
      expect((await api().integrity.inclusionProof({ id: id!, treeSize: 5 })).leafIndex).toBe(0);
    } finally {
      await integrator.stop();
    }
    // Events recorded while no integrator runs are picked up by the next one.
    await record(7, 'while-down');
    expect((await api().integrity.treeHead()).treeSize).toBe(5);
    const restarted = new TreeIntegrator(db, log, { pollMs: 60_000, headIntervalMs: 100 });
    await restarted.start();
    try {
      await eventually(async () => (await signedSize()) === 12, 'the tree to catch up to 12 events');
    } finally {
      await restarted.stop();
    }
    const { spec } = await specTreeFromEvents();
    expect((await api().integrity.treeHead()).rootHash).toBe(b64(spec.mth(0, 12)));
    const [{ heads }] = (await queryRows<{ heads: string | number }>(db, sql`select count(*) as heads from merkle_tree_heads`)) as [{ heads: string | number }];
    expect(Number(heads)).toBeGreaterThanOrEqual(3); // empty, 5, 12: each kept
  });

  it('keeps proofs and consistency across retention, and says a removed event was removed', async () => {
    let now = new Date('2026-01-01T00:00:00.000Z');
    const clock = () => now;
    const oldIds = (await recordEvents(new EventWriter(db), events(6, 'old'), clock)).map((e) => e.id);
    const before = await head();
    now = new Date('2026-03-01T00:00:00.000Z');
    const newIds = (await recordEvents(new EventWriter(db), events(4, 'new'), clock)).map((e) => e.id);
    const retention = await runRetention(db, new EventWriter(db), signer, { retentionDays: 30, clock });
    expect(retention.deleted).toBe(6);
    const after = await head();
    expect(after.treeSize).toBe(11); // 6 + 4 + the retention's own delete event

    const { proof } = await api().integrity.consistencyProof({ from: before.treeSize, to: after.treeSize });
    expect(verifyConsistency(before.treeSize, after.treeSize, bytes(before.rootHash), bytes(after.rootHash), proof.map(bytes))).toBe(true);
    for (const id of newIds) {
      const answer = await api().integrity.inclusionProof({ id, treeSize: after.treeSize });
      expect(verifyInclusion(answer.leafIndex, after.treeSize, bytes(answer.leafHash), answer.proof.map(bytes), bytes(after.rootHash))).toBe(true);
    }
    const removed = await api().integrity.inclusionProof({ id: oldIds[0]!, treeSize: after.treeSize }).catch((e: { code: string; message: string }) => e);
    expect(removed).toMatchObject({ code: 'NOT_FOUND' });
    expect((removed as { message: string }).message).toMatch(`id: event ${oldIds[0]} (leaf 0) was removed by retention`);
  });

  it('detects a superuser who changes an old event, rebuilds the tree and re-signs with the server key', async () => {
    const ids = await record(8);
    const witnessed = await head();
    await record(3, 'later');
      // The attacker rewrites what the row says and the leaf hash its writer stored with it, then rebuilds.
    await asSuperuser([
      sql`update audit_events set resource_target = 'innocent', leaf_hash = null where id = ${ids[2]!}`,
      sql`delete from merkle_tiles`,
      sql`delete from merkle_tree_heads`,
    ]);
    const rewritten = await head();
    expect(rewritten.treeSize).toBe(11);
    // The forged head is well signed...
    expect((await verifyCheckpoint(rewritten.note, log.verifierKey, ORIGIN)).treeSize).toBe(11);
    // ...but no proof the server can give links it to the head a witness kept.
    const { proof } = await api().integrity.consistencyProof({ from: witnessed.treeSize, to: rewritten.treeSize });
    expect(verifyConsistency(witnessed.treeSize, rewritten.treeSize, bytes(witnessed.rootHash), bytes(rewritten.rootHash), proof.map(bytes))).toBe(false);
    // Nor can the witnessed head be reported back to it as one of its own.
    await expect(api(AUDITOR).integrity.witness({ note: witnessed.note })).rejects.toThrow('note: this log holds no signed tree head of size 8');
  });

  it('serves GET /checkpoint to readers, and to anyone when public; an external witness catches a rewrite', async () => {
    const ids = await record(2);
    const current = await head();
    const server = await startTestServer(db, { signer, treeLog: log });
    const open = await startTestServer(db, { signer, treeLog: log, publicCheckpoint: true });
    try {
      const anonymous = await fetch(`${server.url}/checkpoint`);
      expect(anonymous.status).toBe(401);
      const authed = await fetch(`${server.url}/checkpoint`, { headers: { authorization: `Bearer ${server.token}` } });
      expect(authed.status).toBe(200);
      expect(authed.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await authed.text()).toBe(current.note);
      const published = await fetch(`${open.url}/checkpoint`);
      expect([published.status, await published.text()]).toEqual([200, current.note]);

      // test/examples/witness.ts, the README's external witness: growth is fine...
      const witness = (previousNote: string | null) => witnessOnce({ url: server.url, token: server.token, verifierKey: log.verifierKey, previousNote });
      const first = await witness(null);
      expect(first.result).toEqual({ ok: true, treeSize: 2, previousSize: null });
      await record(3, 'more');
      await head();
      const second = await witness(first.note);
      expect(second.result).toEqual({ ok: true, treeSize: 5, previousSize: 2 });
      // ...a rewritten history is not.
      await asSuperuser([
        sql`update audit_events set resource_target = 'innocent', leaf_hash = null where id = ${ids[0]!}`,
        sql`delete from merkle_tiles`,
        sql`delete from merkle_tree_heads`,
      ]);
      await head();
      const third = await witness(second.note);
      expect(third.result).toMatchObject({ ok: false, treeSize: 5, previousSize: 5 });
      expect(third.result.problem).toMatch('does not extend the witnessed tree of 5');
    } finally {
      await server.close();
      await open.close();
    }
  });

  it.runIf(backend === 'postgres')('integrates in small batches read ahead while writers commit and two processes take turns, into the tree the spec builds', async () => {
    // Each full batch reads the next one's leaves ahead, on another connection; the other
    // process, waiting for the tree's lock too, takes turns with it and makes those reads stale.
    const second = await openDatabase({ databaseUrl: database.url! });
    try {
      let writing = true;
      const integrate = async (on: Database) => {
        while (writing) {
          await integrateEvents(on, { batchSize: 7, wait: true });
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      const integrating = [integrate(db), integrate(second.db)];
      await Promise.all(Array.from({ length: 12 }, (_, round) => recordEvents(new EventWriter(db), events(25, `b${round}`))));
      writing = false;
      await Promise.all(integrating);
      await integrateEvents(db, { batchSize: 7, wait: true });
      const { spec, ids } = await specTreeFromEvents();
      expect(ids).toHaveLength(300);
      const { treeSize, rootHash } = await head();
      expect(treeSize).toBe(300);
      expect(rootHash).toBe(b64(spec.mth(0, 300)));
      expect(await leafCounts()).toEqual({ leaves: 300, distinct: 300 });
    } finally {
      await second.close();
    }
  });

  it.runIf(backend === 'postgres')('lets two replicas integrate one consistent tree, one at a time', async () => {
    const second = await openDatabase({ databaseUrl: database.url! });
    const integrators = [
      new TreeIntegrator(db, log, { listen: database.listen, pollMs: 200, headIntervalMs: 100 }),
      new TreeIntegrator(second.db, log, { listen: second.listen, pollMs: 200, headIntervalMs: 100 }),
    ];
    try {
      await Promise.all(integrators.map((i) => i.start()));
      const writers = [db, second.db];
      await Promise.all(
        Array.from({ length: 20 }, (_, round) => recordEvents(new EventWriter(writers[round % 2]!), events(25, `r${round}`))),
      );
      await eventually(async () => (await signedSize()) === 500, 'both replicas\' events in the tree', 30_000);
      const { spec } = await specTreeFromEvents();
      // Every head either replica signed is a head of the one tree.
      const heads = await queryRows<{ tree_size: string | number; note: string }>(db, sql`select tree_size, note from merkle_tree_heads order by tree_size`);
      for (const h of heads) {
        const checkpoint = await verifyCheckpoint(h.note, log.verifierKey, ORIGIN);
        expect(b64(checkpoint.rootHash)).toBe(b64(spec.mth(0, Number(h.tree_size))));
      }
      expect(await leafCounts()).toEqual({ leaves: 500, distinct: 500 });
    } finally {
      await Promise.all(integrators.map((i) => i.stop()));
      await second.close();
    }
  });
});
