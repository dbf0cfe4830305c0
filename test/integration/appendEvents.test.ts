// The write path of the audit log (server/db/eventWriter.ts and the database function
// vigil_append_events of migration 0012): a writer chains hashes from the head it expects
// and the database inserts only if that is still the head; a stale expectation or a stored
// id inserts nothing and is answered, so the writer recomputes. Shown here against other
// writers on the same database (other server processes), on both backends where it applies.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../shared/canonical.js';
import { openDatabase, queryRows, type DatabaseHandle } from '../../server/db/database.js';
import { EventWriter, WRITE_LOCK_KEY, type NewAuditEventRow } from '../../server/db/eventWriter.js';
import { auditedTransaction, recordEvents } from '../../server/services/events.js';
import { WRITTEN_FIELDS } from '../../shared/eventFields.js';
import { verifyChain } from '../../server/services/integrity.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

function rowOf(target: string, id: string = randomUUID()): NewAuditEventRow {
  const now = new Date().toISOString();
  return {
    id,
    time: now,
    recordedAt: now,
    action: 'create',
    resourceType: 'job',
    resourceId: null,
    resourceTarget: target,
    actorId: null,
    actorUsername: 'writer',
    actorEmail: null,
    ip: '10.0.0.1',
    userAgent: null,
    statusCode: 200,
    requestId: null,
    diff: {},
    metadata: { target },
  };
}

async function stored(db: TestDatabase['db']): Promise<{ n: number; ids: number }> {
  const [row] = await queryRows<{ n: number; ids: number }>(db, sql`select count(*)::int as n, count(distinct id)::int as ids from audit_events`);
  return row!;
}

async function chainOk(db: TestDatabase['db']): Promise<void> {
  const { n } = await stored(db);
  expect(await verifyChain(db, { trusted: [generateSigner()] })).toMatchObject({ ok: true, checked: n });
}

describe.each(BACKENDS)('appending events on %s', (backend) => {
  let database: TestDatabase;
  let writer: EventWriter;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    writer = new EventWriter(database.db);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('the database function refuses a stale head and a stored id, inserting nothing', async () => {
    const first = await writer.insert([rowOf('a')]);
    const before = await stored(database.db);
    const call = async (expected: string | null, ids: string[]) => {
      const events = JSON.stringify(ids.map((id) => ({ id, time: new Date().toISOString(), recorded_at: new Date().toISOString(), action: 'create', resource_type: 'job', resource_target: 't', diff: {}, metadata: {}, hash: 'f'.repeat(64) })));
      const [row] = await queryRows<{ answer: unknown }>(
        database.db,
        sql`select vigil_append_events(${events}::json, ${`{${ids.join(',')}}`}::uuid[], ${expected}::text, ${GENESIS_HASH}::text, 'vigil_test'::text,
          ${WRITE_LOCK_KEY}::bigint, ${`{${WRITTEN_FIELDS.map((f) => f.column).join(',')}}`}::text[]) as answer`,
      );
      return typeof row!.answer === 'string' ? JSON.parse(row!.answer) : row!.answer;
    };
    const [head] = await queryRows<{ hash: string }>(database.db, sql`select hash from audit_events order by seq desc limit 1`);
    // A stale expectation: told the true head.
    expect(await call('0'.repeat(64), [randomUUID()])).toEqual({ head: head!.hash });
    // The right head but an id already stored (with a new one): told which, with its seq.
    expect(await call(head!.hash, [randomUUID(), first[0]!.id])).toEqual({ duplicates: [{ id: first[0]!.id, seq: first[0]!.seq }], head: head!.hash });
    expect(await stored(database.db)).toEqual(before);
    await chainOk(database.db);
  });

  it('a batch of stored and new ids: the stored keep their seq, the new are appended, the chain holds', async () => {
    const old = await writer.insert([rowOf('old-1'), rowOf('old-2')]);
    const fresh = [rowOf('new-1'), rowOf('new-2')];
    const mixed = await writer.insert([fresh[0]!, rowOf('old-1', old[0]!.id), fresh[1]!, rowOf('old-2', old[1]!.id)]);
    expect(mixed.map((m) => m.duplicate)).toEqual([false, true, false, true]);
    expect(mixed[1]!.seq).toBe(old[0]!.seq);
    expect(mixed[3]!.seq).toBe(old[1]!.seq);
    expect(mixed[2]!.seq).toBe(mixed[0]!.seq + 1);
    await chainOk(database.db);
  });

  it('requests sent at once, a replay among them: writes behind a refused one are retried, each event stored once', async () => {
    // On Postgres two writes are under way at once, each chained from the one sent before
    // it; when that one is refused (here: it holds a stored id), the next one's expected
    // head is wrong too, and both are answered and written again.
    const old = await writer.insert([rowOf('replayed')]);
    const before = await stored(database.db);
    const requests = [
      [rowOf('p-1a'), rowOf('p-1b')],
      [rowOf('p-2a'), rowOf('replayed', old[0]!.id), rowOf('p-2b')],
      [rowOf('p-3a')],
      [rowOf('p-4a'), rowOf('p-4b')],
      [rowOf('p-5a')],
    ];
    const results = await Promise.all(requests.map((rows) => writer.insert(rows)));
    expect(results[1]![1]).toEqual({ id: old[0]!.id, seq: old[0]!.seq, duplicate: true });
    const fresh = results.flat().filter((r) => !r.duplicate);
    expect(fresh).toHaveLength(8);
    expect(new Set(fresh.map((r) => r.seq)).size).toBe(8);
    // Each request's new events are consecutive, in the order sent.
    for (const result of results) {
      const seqs = result.filter((r) => !r.duplicate).map((r) => r.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }
    expect((await stored(database.db)).n - before.n).toBe(8);
    await chainOk(database.db);
  });

  it.runIf(backend === 'postgres')('writers on other connections pools (other server processes) interleave and the chain holds', async () => {
    const others: DatabaseHandle[] = await Promise.all([1, 2].map(() => openDatabase({ databaseUrl: database.url! })));
    try {
      const writers = [database, ...others].map((handle) => new EventWriter(handle.db));
      const before = await stored(database.db);
      // Taking turns: every write finds the head another process moved.
      for (let round = 0; round < 6; round++) {
        for (const [w, writer] of writers.entries()) await writer.insert([rowOf(`turn-${round}-${w}-a`), rowOf(`turn-${round}-${w}-b`)]);
      }
      // All at once: many small batches from each, racing for the head; losers retry and,
      // after repeated losses, take the lock first.
      const results = await Promise.all(
        writers.flatMap((writer, w) => Array.from({ length: 40 }, (_, k) => writer.insert([rowOf(`race-${w}-${k}-a`), rowOf(`race-${w}-${k}-b`)]))),
      );
      expect(results.flat().every((r) => !r.duplicate)).toBe(true);
      const after = await stored(database.db);
      expect(after.n - before.n).toBe(6 * 3 * 2 + 3 * 40 * 2);
      expect(after.ids).toBe(after.n);
      await chainOk(database.db);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it.runIf(backend === 'postgres')(
    "an event recorded in a transaction keeps the writer pipelining; another process's write makes it go one at a time",
    async () => {
      const own = new EventWriter(database.db);
      await own.insert([rowOf('before-login')]);
      expect(own.writesAtOnce()).toBe(2);
      // A login: its event is written in the transaction that creates the session, beside
      // the group commit, so the group's next write finds a head it did not expect.
      const login = { action: 'login', resourceType: 'user', resourceTarget: 'alice', metadata: {}, diff: {} } as const;
      await auditedTransaction(own, (tx) => recordEvents(tx, [login]));
      await own.insert([rowOf('after-login')]);
      expect(own.writesAtOnce()).toBe(2);

      const other = await openDatabase({ databaseUrl: database.url! });
      try {
        await new EventWriter(other.db).insert([rowOf('other-process')]);
        await own.insert([rowOf('after-other-process')]);
        expect(own.writesAtOnce()).toBe(1);
      } finally {
        await other.close();
      }
      await chainOk(database.db);
    },
  );
});
