// A database whose tree was stored a row per leaf and per node (migration 0011) is moved
// to tiles (0014) losing nothing: the same root under the heads it signed, proofs that
// verify against them, consistency onward, retention's removed events still answered.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../shared/base64.js';
import { appendLeaves, foldSubtrees, verifyConsistency, verifyInclusion, type Hash } from '../../shared/merkle.js';
import { formatCheckpoint } from '../../shared/signedNote.js';
import { openDatabase, type Database, type DatabaseHandle } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { deleteOldestEvents, insertCheckpoint, selectCanonicalSlice, selectChainSlice } from '../../server/db/integrityStore.js';
import { insertTreeHead } from '../../server/db/merkleStore.js';
import { recordEvents } from '../../server/services/events.js';
import { eventInclusionProof, eventLeafHash, integrateEvents, signTreeHead, treeConsistencyProof, treeLogOf, treeRoot } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { verifyTree } from '../../server/services/treeVerification.js';
import { eventInputSchema } from '../../shared/event.js';
import { BACKENDS } from '../support/databases.js';

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'db', 'migrations');
const BEFORE_TILES = '0014_merkle_tiles';

/** The migrations folder as it was before tiles: the same files, the journal cut before 0014. */
async function migrationsBeforeTiles(dir: string): Promise<string> {
  const folder = path.join(dir, 'migrations');
  await cp(MIGRATIONS, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { idx: number; tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === BEFORE_TILES);
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
}

interface Old {
  db: Database;
  close(): Promise<void>;
  /** Opens it as the server does: every migration applied. */
  reopen(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

async function openOld(backend: string, dir: string, folder: string): Promise<Old> {
  if (backend === 'pglite') {
    await mkdir(path.join(dir, 'data'), { recursive: true });
    const client = new PGlite(path.join(dir, 'data', 'pgdata'));
    await client.waitReady;
    const db = drizzlePglite({ client });
    await migratePglite(db, { migrationsFolder: folder });
    return { db: db as unknown as Database, close: () => client.close(), reopen: () => openDatabase({ dataDir: path.join(dir, 'data') }), drop: async () => {} };
  }
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `vigil_test_tiles_${randomBytes(6).toString('hex')}`;
  const create = postgres(admin, { max: 1, onnotice: () => {} });
  await create.unsafe(`create database ${name}`);
  await create.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const client = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const db = drizzlePostgres({ client });
  await migratePostgres(db, { migrationsFolder: folder });
  return {
    db: db as unknown as Database,
    close: () => client.end(),
    reopen: () => openDatabase({ databaseUrl: url.toString() }),
    drop: async () => {
      const dropper = postgres(admin, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

const event = (i: number) =>
  eventInputSchema.parse({ action: 'write', resourceType: 'workspace', resourceTarget: `w-${i}`, actor: { username: `u${i % 7}` }, metadata: { i } });

describe.each(BACKENDS)('the tree moved to tiles on %s', (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it('keeps every hash: the old heads, their proofs, consistency onward, and events removed by retention', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-tiles-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const old = await openOld(backend, dir, await migrationsBeforeTiles(dir));
    cleanups.push(() => old.drop());
    const signer = generateSigner();
    const log = treeLogOf(signer, 'vigil.test/audit');

    // 600 events (three leaf tiles, two level-8 nodes), the tree as 0011 stored it, and a head.
    let now = new Date('2025-10-01T00:00:00.000Z');
    const clock = () => now;
    const writer = new EventWriter(old.db);
    await recordEvents(writer, Array.from({ length: 5 }, (_, k) => event(k)), clock);
    now = new Date('2026-01-15T00:00:00.000Z');
    for (let i = 5; i < 600; i += 119) await recordEvents(writer, Array.from({ length: 119 }, (_, k) => event(i + k)), clock);
    const rows = await selectCanonicalSlice(old.db, 0, 1000);
    const leaves = rows.map((r) => eventLeafHash(r));
    const grown = appendLeaves(0, [], leaves);
    const hex = (hashes: Hash[]) => Buffer.concat(hashes).toString('hex');
    await old.db.execute(
      sql`insert into merkle_leaves (leaf_index, seq, event_id, hash)
          select x.n - 1, x.s, x.e, substring(decode(${hex(leaves)}, 'hex') from (x.n::int - 1) * 32 + 1 for 32)
            from unnest(${`{${rows.map((r) => r.seq).join(',')}}`}::bigint[], ${`{${rows.map((r) => r.id).join(',')}}`}::uuid[]) with ordinality as x(s, e, n)`,
    );
    const nodes = grown.completed.filter((n) => n.level > 0);
    await old.db.execute(
      sql`insert into merkle_nodes (level, node_index, hash)
          select x.l, x.i, substring(decode(${hex(nodes.map((n) => n.hash))}, 'hex') from (x.n::int - 1) * 32 + 1 for 32)
            from unnest(${`{${nodes.map((n) => n.level).join(',')}}`}::smallint[], ${`{${nodes.map((n) => n.index).join(',')}}`}::bigint[]) with ordinality as x(l, i, n)`,
    );
    const oldRoot = foldSubtrees(grown.frontier.map((s) => s.hash));
    const oldHead = { treeSize: 600, rootHash: oldRoot, note: await log.sign(formatCheckpoint({ origin: log.origin, treeSize: 600, rootHash: oldRoot, extensions: [] })), createdAt: now };
    await insertTreeHead(old.db, oldHead);
    // Retention removes the oldest 5 (their leaves stay), as it did then: its checkpoint,
    // then the rows (today's runRetention would integrate into tiles first). Then a newer event.
    await insertCheckpoint(old.db, {
      kind: 'retention', seq: rows[4]!.seq, hash: (await selectChainSlice(old.db, rows[3]!.seq, 1))[0]!.hash, createdAt: now,
      keyId: 'k', signature: 's', prevId: null, prevDigest: null, events: null,
    });
    expect(await deleteOldestEvents(old.db, rows[4]!.seq, 100)).toBe(5);
    const newer = await recordEvents(writer, [event(600)], clock);
    await old.close();

    const handle = await old.reopen();
    cleanups.push(() => handle.close());
    const db = handle.db;
    expect(Buffer.from(await treeRoot(db, 600)).equals(Buffer.from(oldRoot))).toBe(true);
    await integrateEvents(db);
    const outcome = await signTreeHead(db, log);
    if (!('signed' in outcome)) throw new Error(`no new head: ${JSON.stringify(outcome)}`);
    const head = outcome.signed;
    expect(head.treeSize).toBeGreaterThan(600);

    const { proof } = await treeConsistencyProof(db, 600, head.treeSize);
    expect(verifyConsistency(600, head.treeSize, oldRoot, head.rootHash, proof.map((p) => fromBase64(p)!))).toBe(true);
    for (const at of [5, 255, 256, 599]) {
      const answer = await eventInclusionProof(db, rows[at]!.id, 600);
      expect(answer.leafIndex).toBe(at);
      expect(verifyInclusion(at, 600, fromBase64(answer.leafHash)!, answer.proof.map((p) => fromBase64(p)!), oldRoot)).toBe(true);
    }
    const late = await eventInclusionProof(db, newer[0]!.id, head.treeSize);
    expect(verifyInclusion(late.leafIndex, head.treeSize, fromBase64(late.leafHash)!, late.proof.map((p) => fromBase64(p)!), head.rootHash)).toBe(true);
    const removed = await eventInclusionProof(db, rows[0]!.id, 600).catch((e: Error & { code?: string }) => e);
    expect(removed).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('removed by retention') });

    const report = await verifyTree(db, { signer });
    expect(report).toMatchObject({ ok: true, leaves: head.treeSize, leavesRetained: 5 });
    const [tables] = await handle.db.execute(sql`select to_regclass('merkle_leaves') is null and to_regclass('merkle_nodes') is null as gone`).then((r) =>
      Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows,
    );
    expect(tables).toEqual({ gone: true });
  });
});
