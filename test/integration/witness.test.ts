// The extension's witness core (extension/src/witness.ts) against real servers: honest
// growth verifies, and each way an operator could rewrite history is caught by a witness
// that saw the honest one — a changed old event with the tree rebuilt and re-signed with
// the server's own key, a rollback, a split view between two servers with one key, the
// newest events deleted and the head re-signed, and a changed signing key. And the honest
// histories raise nothing: growth, retention, a restart, two replicas serving alternately.
import { rm } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventInput } from '../../shared/event.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import { openDatabase, type Database } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { runRetention } from '../../server/services/integrity.js';
import { integrateEvents, signTreeHead, treeLogOf, type TreeLog } from '../../server/services/merkleTree.js';
import { TreeIntegrator } from '../../server/services/treeIntegrator.js';
import { eventually } from '../support/waiting.js';
import { generateSigner, type Signer } from '../../server/services/signingKey.js';
import { checkInclusion, witnessHead, type TreeApi, type WitnessState } from '../../extension/src/witness.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ORIGIN = 'vigil.test/witness';

function apiOf(client: VigilClient): TreeApi {
  return {
    treeHead: () => client.integrity.treeHead.query(),
    consistencyProof: (from, to) => client.integrity.consistencyProof.query({ from, to }),
    inclusionProof: (id, treeSize) => client.integrity.inclusionProof.query({ id, treeSize }),
  };
}

const event = (i: number, target = `ws-${i}`): EventInput => ({ action: 'delete', resourceType: 'workspace', resourceTarget: target, actor: { username: 'ops' } });

describe.each(BACKENDS)('the extension as a witness (%s)', (backend) => {
  const opened: { db: TestDatabase; server: TestServer }[] = [];
  afterEach(async () => {
    for (const { db, server } of opened.splice(0)) {
      await server.close();
      await db.destroy();
    }
  });

  async function open(signer: Signer): Promise<{ db: TestDatabase; server: TestServer; log: TreeLog; api: TreeApi }> {
    const db = await createTestDatabase(backend);
    const log = treeLogOf(signer, ORIGIN);
    const server = await startTestServer(db.db, { signer, treeLog: log });
    opened.push({ db, server });
    return { db, server, log, api: apiOf(server.client) };
  }

  /** Integrates what was recorded and signs a head of it, as the integrator does within a second. */
  async function head(db: Database, log: TreeLog): Promise<void> {
    await integrateEvents(db);
    await signTreeHead(db, log);
  }

  async function verifiedAfter(api: TreeApi, state: WitnessState): Promise<WitnessState> {
    const outcome = await witnessHead(state, api, new Date());
    if (outcome.kind !== 'verified') throw new Error(`expected a verified head, got ${JSON.stringify(outcome)}`);
    return outcome.state;
  }

  it('honest growth verifies, pins the key on first use, and every listed event is included', async () => {
    const { db, server, log, api } = await open(generateSigner());
    await server.client.events.recordBatch.mutate({ events: [1, 2, 3].map((i) => event(i)) });
    await head(db.db, log);
    let state = await verifiedAfter(api, {});
    expect(state.pinnedKey).toBe(log.verifierKey);
    expect(state.head?.treeSize).toBe(3);
    for (let round = 0; round < 3; round++) {
      await server.client.events.recordBatch.mutate({ events: [1, 2, 3, 4].map((i) => event(i, `r${round}-${i}`)) });
      await head(db.db, log);
      state = await verifiedAfter(api, state);
    }
    expect(state.head?.treeSize).toBe(15);
    // Unchanged: still verified, nothing grew.
    const again = await witnessHead(state, api, new Date());
    expect(again).toMatchObject({ kind: 'verified', grew: false });
    const listed = await server.client.events.list.query({ limit: 20 });
    for (const e of listed.items) expect(await checkInclusion(e, state.head!, api)).toMatchObject({ kind: 'included' });
    // An event recorded after the head is not yet in it: pending, not an alarm.
    const late = await server.client.events.record.mutate(event(99));
    expect(await checkInclusion(await server.client.events.get.query({ id: late.id }), state.head!, api)).toEqual({ kind: 'pending' });
  });

  it('(a) an old event changed, the tree rebuilt and re-signed with the server key: inconsistent; the changed event is not included', async () => {
    const { db, server, log, api } = await open(generateSigner());
    const [first] = (await server.client.events.recordBatch.mutate({ events: [1, 2, 3, 4, 5].map((i) => event(i)) })).events;
    await head(db.db, log);
    const state = await verifiedAfter(api, {});

    // The operator, as a superuser: change the event (and the leaf hash its writer stored with it), drop the tree and its heads, rebuild, re-sign.
    await db.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`update audit_events set resource_target = 'nothing-to-see', leaf_hash = null where id = ${first!.id}`);
    });
    await wipeTree(db.db);
    await server.client.events.record.mutate(event(6));
    await head(db.db, log);
    const outcome = await witnessHead(state, api, new Date());
    expect(outcome).toMatchObject({ kind: 'alarm', alarm: { reason: 'inconsistent' } });
    if (outcome.kind === 'alarm') {
      expect(outcome.alarm.held).toEqual(state.head);
      expect(outcome.alarm.received?.treeSize).toBe(6);
    }
    // A standing alarm holds: nothing more is trusted until acknowledged.
    expect(await witnessHead(outcome.state, api, new Date())).toMatchObject({ kind: 'held' });
    const shown = await server.client.events.get.query({ id: first!.id });
    expect(await checkInclusion(shown, state.head!, api)).toMatchObject({ kind: 'notIncluded' });
  });

  it('(b) rollback and (d) newest events deleted with the head re-signed: a smaller tree, or a split view at the same size', async () => {
    const { db, server, log, api } = await open(generateSigner());
    await server.client.events.recordBatch.mutate({ events: [1, 2, 3, 4].map((i) => event(i)) });
    await head(db.db, log);
    await server.client.events.recordBatch.mutate({ events: [5, 6].map((i) => event(i)) });
    await head(db.db, log);
    const state = await verifiedAfter(api, {});
    expect(state.head?.treeSize).toBe(6);

    // The newest two events deleted (and the tree and heads after them), then re-signed.
    await db.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`delete from audit_events where seq in (select seq from audit_events order by seq desc limit 2)`);
    });
    await wipeTree(db.db);
    await head(db.db, log);
    expect(await witnessHead(state, api, new Date())).toMatchObject({ kind: 'alarm', alarm: { reason: 'smallerTree' } });

    // Later the log grows back to the same size with different events: a split view.
    await server.client.events.recordBatch.mutate({ events: [7, 8].map((i) => event(i)) });
    await head(db.db, log);
    expect(await witnessHead(state, api, new Date())).toMatchObject({ kind: 'alarm', alarm: { reason: 'splitView' } });
  });

  it('(c) two servers with one key serving different histories: the witness of one catches the other', async () => {
    const signer = generateSigner();
    const a = await open(signer);
    const b = await open(signer);
    await a.server.client.events.recordBatch.mutate({ events: [1, 2, 3].map((i) => event(i)) });
    await b.server.client.events.recordBatch.mutate({ events: [1, 2, 3, 4, 5].map((i) => event(i, `other-${i}`)) });
    await head(a.db.db, a.log);
    await head(b.db.db, b.log);
    const state = await verifiedAfter(a.api, {});
    expect((await b.api.treeHead()).verifierKey).toBe(state.pinnedKey);
    expect(await witnessHead(state, b.api, new Date())).toMatchObject({ kind: 'alarm', alarm: { reason: 'inconsistent' } });
  });

  it('(e) a changed signing key is an alarm, and so is a head whose fields disagree with its signed note', async () => {
    const first = await open(generateSigner());
    await first.server.client.events.record.mutate(event(1));
    await head(first.db.db, first.log);
    const state = await verifiedAfter(first.api, {});
    const other = await open(generateSigner());
    await other.server.client.events.record.mutate(event(1));
    await head(other.db.db, other.log);
    expect(await witnessHead(state, other.api, new Date())).toMatchObject({ kind: 'alarm', alarm: { reason: 'keyChanged' } });
    // The right key, but the answer claims a root its note does not sign.
    const lying: TreeApi = { ...first.api, treeHead: async () => ({ ...(await first.api.treeHead()), rootHash: Buffer.alloc(32, 7).toString('base64') }) };
    expect(await witnessHead({ pinnedKey: state.pinnedKey! }, lying, new Date())).toMatchObject({ kind: 'alarm', alarm: { reason: 'badSignature' } });
  });
});

describe.each(BACKENDS)('honest histories raise nothing in the witness (%s)', (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serve(db: Database, signer: Signer): Promise<{ server: TestServer; api: TreeApi; log: TreeLog }> {
    const log = treeLogOf(signer, ORIGIN);
    const started = await startTestServer(db, { signer, treeLog: log });
    // Closed by the test (a restart) or after it, once.
    let closing: Promise<void> | null = null;
    const server = { ...started, close: () => (closing ??= started.close()) };
    cleanups.push(() => server.close());
    return { server, api: apiOf(server.client), log };
  }

  async function head(db: Database, log: TreeLog): Promise<void> {
    await integrateEvents(db, { wait: true });
    await signTreeHead(db, log);
  }

  async function verified(api: TreeApi, state: WitnessState, grew = true): Promise<WitnessState> {
    const outcome = await witnessHead(state, api, new Date());
    expect(outcome).toMatchObject({ kind: 'verified', grew });
    return (outcome as { state: WitnessState }).state;
  }

  it('retention: the next sync still verifies consistency, and a removed event is answered as removed by retention', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.destroy());
    const signer = generateSigner();
    const { server, api, log } = await serve(db.db, signer);
    // Old events, recorded two months ago, and recent ones.
    const old = await recordEvents(new EventWriter(db.db), [1, 2, 3, 4, 5].map((i) => event(i, `old-${i}`)), () => new Date(Date.now() - 60 * 86_400_000));
    await server.client.events.recordBatch.mutate({ events: [1, 2].map((i) => event(i, `recent-${i}`)) });
    await head(db.db, log);
    let state = await verified(api, {});
    expect(state.head?.treeSize).toBe(7);

    const retention = await runRetention(db.db, new EventWriter(db.db), signer, { retentionDays: 30 });
    expect(retention.deleted).toBe(5);
    await server.client.events.recordBatch.mutate({ events: [3, 4].map((i) => event(i, `after-${i}`)) });
    await head(db.db, log);
    state = await verified(api, state);
    expect(state.head?.treeSize).toBe(10); // 7, the retention's own event, 2 more
    expect(state.alarm).toBeUndefined();

    // A removed event's proof says why it is missing; the witness raises nothing for it.
    await expect(api.inclusionProof(old[0]!.id, state.head!.treeSize)).rejects.toThrow(`id: event ${old[0]!.id} (leaf 0) was removed by retention`);
    await expect(api.inclusionProof(old[0]!.id, state.head!.treeSize)).rejects.toMatchObject({ data: { code: 'NOT_FOUND', reason: 'removed_by_retention' } });
    // The extension says so instead of "pending" (an event not in the head yet).
    expect(await checkInclusion(old[0]!, state.head!, api)).toEqual({ kind: 'removed' });
    const kept = (await server.client.events.list.query({ q: 'resource_target:after-3' })).items[0]!;
    expect(await checkInclusion(kept, state.head!, api)).toMatchObject({ kind: 'included' });
  });

  it('restart: a new server on the same database (reopened) extends the head the witness holds', async () => {
    const first = await createTestDatabase(backend);
    cleanups.push(() => first.destroy().catch(() => (first.dataDir ? rm(first.dataDir, { recursive: true, force: true }) : undefined)));
    const signer = generateSigner();
    const before = await serve(first.db, signer);
    await before.server.client.events.recordBatch.mutate({ events: [1, 2, 3].map((i) => event(i)) });
    await head(first.db, before.log);
    let state = await verified(before.api, {});
    await before.server.close();
    await first.close();

    const reopened = await openDatabase(first.url ? { databaseUrl: first.url } : { dataDir: first.dataDir! });
    cleanups.push(() => reopened.close());
    const after = await serve(reopened.db, signer);
    // Unchanged across the restart, then growing.
    state = await verified(after.api, state, false);
    await after.server.client.events.recordBatch.mutate({ events: [4, 5].map((i) => event(i)) });
    await head(reopened.db, after.log);
    state = await verified(after.api, state);
    expect(state.head?.treeSize).toBe(5);
  });

  it.runIf(backend === 'postgres')('two replicas on one Postgres database, each integrating, serve one witness alternately', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.destroy());
    const second = await openDatabase({ databaseUrl: db.url! });
    cleanups.push(() => second.close());
    const signer = generateSigner();
    const replicas = [await serve(db.db, signer), await serve(second.db, signer)];
    // Each replica runs its own integrator, as each server process does; the tree's lock lets one work at a time.
    const integrators = [
      new TreeIntegrator(db.db, replicas[0]!.log, { listen: db.listen, headIntervalMs: 0 }),
      new TreeIntegrator(second.db, replicas[1]!.log, { listen: second.listen, headIntervalMs: 0 }),
    ];
    for (const integrator of integrators) {
      await integrator.start();
      cleanups.push(() => integrator.stop());
    }
    let state: WitnessState = {};
    let size = 0;
    for (let round = 0; round < 6; round++) {
      const writer = replicas[round % 2]!;
      const reader = replicas[(round + 1) % 2]!;
      await writer.server.client.events.recordBatch.mutate({ events: [1, 2, 3].map((i) => event(i, `r${round}-${i}`)) });
      size += 3;
      // Both integrators woken; whichever holds the lock integrates and signs.
      await eventually(async () => (await reader.api.treeHead().catch(() => null))?.treeSize === size, `a head of ${size} leaves`);
      state = await verified(reader.api, state);
      expect(state.head?.treeSize).toBe(size);
    }
    const listed = await replicas[0]!.server.client.events.list.query({ limit: 20 });
    for (const e of listed.items) expect(await checkInclusion(e, state.head!, replicas[1]!.api)).toMatchObject({ kind: 'included' });
  });
});

/** What an operator with database access does to rebuild the tree: drop it and its heads. */
async function wipeTree(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    for (const table of ['merkle_tree_heads', 'merkle_tiles']) await tx.execute(sql.raw(`delete from ${table}`));
  });
}
