// Recording and finding events through the real router, on every test database.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createContextInner } from '../../server/context.js';
import { queryRows } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import { COUNT_CAP } from '../../server/services/events.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

describe.each(BACKENDS)('events on %s', (backend) => {
  let database: TestDatabase;
  let now = new Date(T0);
  const callerAs = (username?: string) =>
    createCaller(
      createContextInner({
        db: database.db,
        clock: () => now,
        caller:
          username === undefined
            ? { kind: 'service', tokenId: randomUUID(), name: 'ingest', scopes: ['events:write', 'events:read'] }
            : { kind: 'user', userId: null, username, email: null, role: 'site_manager', tokenId: null },
      }),
    );
  let api: ReturnType<typeof callerAs>;

  async function storedCount(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from audit_events`);
    return Number(row!.n);
  }

  async function listAll(q: string, limit = 200): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.events.list({ q, limit, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.destroy();
  });
  beforeEach(() => {
    now = new Date(T0);
    api = callerAs('alice');
  });

  describe('recording', () => {
    it('stores every field and returns id and seq', async () => {
      const input: EventInput = {
        time: at(-1000),
        action: 'delete',
        resourceType: 'workspace',
        resourceId: 'ws-123',
        resourceTarget: 'alice/dev',
        actor: { id: 'u-1', username: 'alice', email: 'alice@example.com' },
        ip: '2001:db8::1',
        userAgent: 'coder-cli/2.0',
        statusCode: 200,
        requestId: 'req-record-1',
        diff: { name: { old: 'a', new: 'b' }, token: { old: 'x', new: 'y', secret: true } },
        metadata: { reason: 'cleanup', nested: { n: 1 } },
      };
      const stored = await api.events.record(input);
      expect(stored.duplicate).toBe(false);
      expect(stored.seq).toBeGreaterThan(0);
      const event = await api.events.get({ id: stored.id });
      expect(event).toMatchObject({
        id: stored.id,
        seq: stored.seq,
        time: at(-1000),
        recordedAt: now.toISOString(),
        action: 'delete',
        resourceType: 'workspace',
        resourceId: 'ws-123',
        resourceTarget: 'alice/dev',
        actor: { id: 'u-1', username: 'alice', email: 'alice@example.com' },
        ip: '2001:db8::1',
        userAgent: 'coder-cli/2.0',
        statusCode: 200,
        requestId: 'req-record-1',
        metadata: { reason: 'cleanup', nested: { n: 1 } },
      });
      // A secret's values are dropped before they reach the database.
      expect(event.diff).toEqual({ name: { old: 'a', new: 'b' }, token: { secret: true } });
      const [raw] = await queryRows<{ diff: unknown }>(
        database.db,
        sql`select diff::text as diff from audit_events where id = ${stored.id}`,
      );
      expect(String(raw!.diff)).not.toContain('"x"');
    });

    it('list answers every event exactly as get does (Postgres builds the listed JSON)', async () => {
      const odd: EventInput[] = [
        { action: 'login', resourceType: 'user', resourceTarget: 'Ünïcødé 😀 "quoted" \\ back', actor: { username: 'Zoë', email: 'zoe@example.com' }, ip: '::ffff:10.0.0.9', metadata: { 'k"ey': ['a', 1, null, { deep: true }], n: 1.5e-7 } },
        { action: 'auto_off', resourceType: 'workspace', resourceTarget: 'sys', time: '2026-03-10T11:59:59.007Z' },
        { action: 'write', resourceType: 'template', resourceTarget: 'tpl', ip: '10.1.2.3', statusCode: 500, diff: { a: { old: null, new: { x: [1, 2] } } }, requestId: 'r-1', userAgent: 'ua', actor: { id: 'u-9', username: 'bob' } },
        { action: 'create', resourceType: 'job', resourceTarget: 'early', time: '1999-12-31T23:59:59.999+02:00' },
      ];
      await api.events.recordBatch({ events: odd });
      const listed = await listAll('');
      expect(listed.length).toBe(await storedCount());
      for (const event of listed) expect(event).toStrictEqual(await api.events.get({ id: event.id }));
    });

    it('an event without an actor is the system, and time defaults to the server clock', async () => {
      const stored = await api.events.record({ action: 'auto_off', resourceType: 'workspace', resourceTarget: 'bob/idle' });
      const event = await api.events.get({ id: stored.id });
      expect(event.actor).toBeNull();
      expect(event.time).toBe(now.toISOString());
    });

    it('a client-supplied id is an idempotency key', async () => {
      const id = randomUUID();
      const event: EventInput = { id, action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'us-east' };
      const before = await storedCount();
      const first = await api.events.record(event);
      const second = await api.events.record(event);
      expect(first).toEqual({ id, seq: first.seq, duplicate: false });
      expect(second).toEqual({ id, seq: first.seq, duplicate: true });
      const batch = await api.events.recordBatch({ events: [event, { ...event }] });
      expect(batch.events).toEqual([
        { id, seq: first.seq, duplicate: true },
        { id, seq: first.seq, duplicate: true },
      ]);
      expect(await storedCount()).toBe(before + 1);
    });

    it('repeats inside one batch are stored once', async () => {
      const id = randomUUID();
      const event: EventInput = { id, action: 'create', resourceType: 'user', resourceTarget: 'new@example.com' };
      const before = await storedCount();
      const result = await api.events.recordBatch({ events: [event, event] });
      expect(result.events.map((e) => e.duplicate)).toEqual([false, true]);
      expect(result.events[0]!.seq).toBe(result.events[1]!.seq);
      expect(await storedCount()).toBe(before + 1);
    });

    it('a batch is stored in order with increasing seq', async () => {
      const events: EventInput[] = Array.from({ length: 30 }, (_, i) => ({
        action: 'write',
        resourceType: 'template',
        resourceTarget: `tpl-${i}`,
      }));
      const result = await api.events.recordBatch({ events });
      const seqs = result.events.map((e) => e.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(30);
    });

    it('a batch with one invalid event stores nothing and names the event and field', async () => {
      const before = await storedCount();
      const events = [
        { action: 'create', resourceType: 'user', resourceTarget: 'ok-1' },
        { action: 'create', resourceType: 'user', resourceTarget: 'ok-2' },
        { action: 'explode', resourceType: 'user', resourceTarget: 'bad' },
      ] as EventInput[];
      await expect(api.events.recordBatch({ events })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('events[2].action: unknown action "explode"'),
      });
      expect(await storedCount()).toBe(before);
    });

    /** A refusal only the database makes: a trigger the test installs refuses one target. */
    async function refuseInDatabase(target: string): Promise<() => Promise<void>> {
      await database.db.execute(
        sql.raw(`create or replace function refuse_doomed() returns trigger language plpgsql as $$
          begin if new.resource_target = '${target}' then raise exception 'refused by the test trigger'; end if; return new; end $$`),
      );
      await database.db.execute(sql`create trigger refuse_doomed before insert on audit_events for each row execute function refuse_doomed()`);
      return async () => {
        await database.db.execute(sql`drop trigger refuse_doomed on audit_events`);
      };
    }

    it('a batch that fails inside the database stores nothing', async () => {
      const before = await storedCount();
      const restore = await refuseInDatabase('doomed');
      try {
        // Valid to the schema, refused by the database.
        const events: EventInput[] = [
          { action: 'create', resourceType: 'user', resourceTarget: 'fine' },
          { action: 'create', resourceType: 'user', resourceTarget: 'doomed' },
        ];
        const failure: unknown = await api.events.recordBatch({ events }).then(() => null, (error: unknown) => error);
        expect(failure).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
        let cause = failure as { cause?: unknown };
        while (cause.cause) cause = cause.cause as { cause?: unknown };
        // The database's own refusal, on Postgres and PGlite alike.
        expect(cause).toMatchObject({ code: 'P0001', message: expect.stringContaining('refused by the test trigger') });
        expect(await storedCount()).toBe(before);
      } finally {
        await restore();
      }
      // And the database is still usable afterwards.
      await expect(api.events.record({ action: 'create', resourceType: 'user', resourceTarget: 'after' })).resolves.toMatchObject({ duplicate: false });
      expect(await storedCount()).toBe(before + 1);
    });

    it('concurrent batches are written together, and one failing in the database fails alone', async () => {
      const before = await storedCount();
      const good = (i: number): EventInput[] =>
        Array.from({ length: 10 }, (_, k) => ({ action: 'create', resourceType: 'user', resourceTarget: `group-${i}-${k}` }));
      const bad: EventInput[] = [...good(99), { action: 'create', resourceType: 'user', resourceTarget: 'doomed' }];
      const restore = await refuseInDatabase('doomed');
      try {
        // The first starts a write at once; the rest wait and are merged into one transaction,
        // which fails because of the bad batch; each is then written on its own.
        const results = await Promise.allSettled([good(0), good(1), bad, good(2), good(3)].map((events) => api.events.recordBatch({ events })));
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        expect(await storedCount()).toBe(before + 40);
        const seqs = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.events.map((e) => e.seq) : []));
        expect(new Set(seqs).size).toBe(40);
      } finally {
        await restore();
      }
    });

    it('rejects batches of 0 and 1001 events', async () => {
      const one: EventInput = { action: 'login', resourceType: 'user', resourceTarget: 'x' };
      await expect(api.events.recordBatch({ events: [] })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('events: a batch needs at least one event'),
      });
      const before = await storedCount();
      await expect(api.events.recordBatch({ events: Array.from({ length: 1001 }, () => one) })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('events: a batch holds at most 1000 events'),
      });
      expect(await storedCount()).toBe(before);
    });

    it('get of an unknown id is NOT_FOUND', async () => {
      await expect(api.events.get({ id: randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('finding', () => {
    // A fixed, known data set on a fresh time range far from the other tests' events.
    const BASE = Date.parse('2025-06-15T00:00:00.000Z');
    const fixture: (EventInput & { tag: string })[] = [
      { tag: 'a', time: '2025-06-14T23:59:59.999Z', action: 'login', resourceType: 'user', resourceTarget: 'Alice@Example.com', actor: { username: 'alice', email: 'alice@example.com' }, requestId: 'REQ-1', statusCode: 200 },
      { tag: 'b', time: '2025-06-15T00:00:00.000Z', action: 'login', resourceType: 'user', resourceTarget: 'bob@example.com', actor: { username: 'bob', email: 'bob@example.com' }, statusCode: 401 },
      { tag: 'c', time: '2025-06-15T08:00:00.000Z', action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'us-east', resourceId: 'Prov-1', actor: { username: 'carol' } },
      { tag: 'd', time: '2025-06-15T09:00:00.000Z', action: 'delete', resourceType: 'workspace', resourceTarget: 'bob/dev', resourceId: 'ws-9', actor: { username: 'bob', email: 'bob@example.com' }, requestId: 'REQ-1' },
      { tag: 'e', time: '2025-06-15T23:59:59.999Z', action: 'auto_off', resourceType: 'workspace', resourceTarget: 'bob/dev', resourceId: 'ws-9' },
      { tag: 'f', time: '2025-06-16T00:00:00.000Z', action: 'write', resourceType: 'settings', resourceTarget: 'appearance', actor: { username: 'alice', email: 'alice@example.com' } },
      { tag: 'g', time: '2025-06-17T10:00:00.000Z', action: 'uncordon', resourceType: 'workspace_provider', resourceTarget: 'us-east', resourceId: 'prov-1', actor: { username: 'carol' } },
      { tag: 'h', time: '2025-06-17T10:00:00.000Z', action: 'delete', resourceType: 'image', resourceTarget: 'my image', actor: { username: 'dave', email: 'dave@example.com' } },
    ];
    const tagById = new Map<string, string>();
    // Every query below is scoped to the fixture's days so other tests' events never match.
    const scope = 'date_from:2025-06-14 date_to:2025-06-17';
    const tagsOf = async (q: string) => (await listAll(`${scope} ${q}`)).map((e) => tagById.get(e.id) ?? `?${e.id}`);

    beforeAll(async () => {
      now = new Date(T0);
      const result = await callerAs('alice').events.recordBatch({ events: fixture.map(({ tag: _tag, ...e }) => e) });
      result.events.forEach((stored, i) => tagById.set(stored.id, fixture[i]!.tag));
      expect(BASE).toBeGreaterThan(0);
    });

    it('lists newest first, ties by seq', async () => {
      expect(await tagsOf('')).toEqual(['h', 'g', 'f', 'e', 'd', 'c', 'b', 'a']);
    });

    it.each([
      ['action:login', ['b', 'a']],
      ['action:cordon,delete', ['h', 'd', 'c']],
      ['-action:login', ['h', 'g', 'f', 'e', 'd', 'c']],
      ['action:login,delete -action:login', ['h', 'd']],
      ['resource_type:workspace', ['e', 'd']],
      ['workspace', ['e', 'd']],
      ['workspace_provider', ['g', 'c']],
      ['-workspace', ['h', 'g', 'f', 'c', 'b', 'a']],
      ['resource_type:workspace,image', ['h', 'e', 'd']],
      ['resource_target:bob/dev', ['e', 'd']],
      ['resource_target:"my image"', ['h']],
      ['resource_target:alice@example.com', ['a']],
      ['resource_target:ALICE@EXAMPLE.COM', ['a']],
      ['resource_id:prov-1', ['g', 'c']],
      ['resource_id:ws-9', ['e', 'd']],
      ['username:bob', ['d', 'b']],
      ['username:BOB,carol', ['g', 'd', 'c', 'b']],
      // Negation keeps events without the field: e (system) stays.
      ['-username:bob', ['h', 'g', 'f', 'e', 'c', 'a']],
      ['-username:bob,carol,alice,dave', ['e']],
      ['username:me', ['f', 'a']],
      ['-username:me', ['h', 'g', 'e', 'd', 'c', 'b']],
      ['email:bob@example.com', ['d', 'b']],
      ['-email:bob@example.com', ['h', 'g', 'f', 'e', 'c', 'a']],
      ['request_id:req-1', ['d', 'a']],
      ['action:delete request_id:req-1', ['d']],
      ['action:delete username:dave', ['h']],
      ['workspace action:auto_off', ['e']],
      ['username:bob action:login email:bob@example.com resource_type:user', ['b']],
      ['action:stop', []],
    ])('%s', async (q, expected) => {
      expect(await tagsOf(q)).toEqual(expected);
    });

    it.each([
      ['date_from:2025-06-15 date_to:2025-06-15', ['e', 'd', 'c', 'b']],
      ['date_from:2025-06-16 date_to:2025-06-17', ['h', 'g', 'f']],
      ['date_from:2025-06-13 date_to:2025-06-14', ['a']],
      ['date_from:2025-06-15 date_to:2025-06-16 action:login', ['b']],
      ['date_from:2025-06-14 date_to:2025-06-14', ['a']],
    ])('dates are whole UTC days, date_to inclusive: %s', async (q, expected) => {
      const items = await listAll(q);
      expect(items.map((e) => tagById.get(e.id))).toEqual(expected);
    });

    it('since counts back from the server clock', async () => {
      now = new Date('2025-06-17T10:30:00.000Z');
      expect(await tagsOf('since:30m')).toEqual(['h', 'g']);
      expect(await tagsOf('since:1h')).toEqual(['h', 'g']);
      now = new Date('2025-06-17T10:00:00.000Z');
      expect(await tagsOf('since:1d')).toEqual(['h', 'g']);
      expect(await tagsOf('since:2d')).toEqual(['h', 'g', 'f', 'e']);
      expect(await tagsOf('since:3d')).toEqual(['h', 'g', 'f', 'e', 'd', 'c', 'b', 'a']);
      // The later lower bound of since and date_from wins.
      const later = await listAll('since:3d date_from:2025-06-16 date_to:2025-06-17');
      expect(later.map((e) => tagById.get(e.id))).toEqual(['h', 'g', 'f']);
    });

    it('counts match the list below the cap', async () => {
      const page = await api.events.list({ q: `${scope} action:login,delete`, limit: 2 });
      expect(page.items).toHaveLength(2);
      expect(page.count).toEqual({ value: 4, capped: false });
      expect(page.nextCursor).not.toBeNull();
    });

    it('stats counts per action per bucket', async () => {
      const stats = await api.events.stats({ q: 'date_from:2025-06-15 date_to:2025-06-15', buckets: 24 });
      expect(stats.bucketMs).toBe(3_600_000);
      expect(stats.buckets).toHaveLength(24);
      expect(stats.from).toBe('2025-06-15T00:00:00.000Z');
      const byStart = Object.fromEntries(stats.buckets.filter((b) => b.total > 0).map((b) => [b.start, b.counts]));
      expect(byStart).toEqual({
        '2025-06-15T00:00:00.000Z': { login: 1 },
        '2025-06-15T08:00:00.000Z': { cordon: 1 },
        '2025-06-15T09:00:00.000Z': { delete: 1 },
        '2025-06-15T23:00:00.000Z': { auto_off: 1 },
      });
      const filtered = await api.events.stats({ q: 'date_from:2025-06-15 date_to:2025-06-17 action:delete', buckets: 3 });
      expect(filtered.bucketMs).toBe(86_400_000);
      expect(filtered.buckets.map((b) => b.total)).toEqual([1, 0, 1]);
    });

    it('stats keeps to the bucket count asked for over any range, ten thousand years included', async () => {
      const wide = await api.events.stats({ q: 'date_from:0001-01-01 date_to:9999-12-31', buckets: 60 });
      expect(wide.buckets.length).toBeLessThanOrEqual(61);
      expect(wide.bucketMs % 604_800_000).toBe(0);
      const everything = await api.events.stats({ q: 'date_from:0001-01-01 date_to:9999-12-31', buckets: 500 });
      expect(everything.buckets.length).toBeLessThanOrEqual(501);
      // Every stored event falls in one of the buckets.
      expect(wide.buckets.reduce((n, b) => n + b.total, 0)).toBe(await storedCount());
      expect(everything.buckets.reduce((n, b) => n + b.total, 0)).toBe(await storedCount());
    });

    it('username:me without a user is a clear error', async () => {
      await expect(callerAs(undefined).events.list({ q: 'username:me' })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('username:me'),
      });
    });

    it.each([
      ['foo:bar', 'q: term "foo:bar" has an unknown key "foo"'],
      ['action:nuke', 'q: term "action:nuke" has an unknown action "nuke"'],
      ['date_from:2025-02-30', 'q: term "date_from:2025-02-30" has an invalid date'],
      ['planet', 'q: term "planet" has an unknown resource type "planet"'],
      ['since:5y', 'q: term "since:5y" has an invalid duration'],
    ])('a bad query %s is BAD_REQUEST naming the term', async (q, message) => {
      await expect(api.events.list({ q })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
    });

    it('a malformed cursor is BAD_REQUEST', async () => {
      await expect(api.events.list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('cursor: malformed'),
      });
    });
  });

  describe('pagination', () => {
    it('walks every page with no gap or repeat while new events arrive', async () => {
      const target = `page-walk-${randomUUID()}`;
      const day = (i: number) => new Date(Date.parse('2024-01-01T00:00:00.000Z') + Math.floor(i / 3) * 60_000).toISOString();
      // Several events share a time, so ties are broken by seq.
      const initial = await api.events.recordBatch({
        events: Array.from({ length: 61 }, (_, i) => ({ action: 'connect', resourceType: 'workspace', resourceTarget: target, time: day(i) })),
      });
      const expected = initial.events.map((e) => e.id).reverse();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await api.events.list({ q: `resource_target:${target}`, limit: 7, ...(cursor ? { cursor } : {}) });
        // The count is the listing's, taken with its first page, whatever arrives meanwhile.
        expect(page.count).toEqual({ value: 61, capped: false });
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
        // New events arrive between pages, newer than everything listed so far.
        await api.events.record({ action: 'connect', resourceType: 'workspace', resourceTarget: target, time: '2024-06-01T00:00:00.000Z' });
      } while (cursor);
      expect(pages).toBe(9);
      expect(seen).toEqual(expected);
    });

    it('caps the count at 10,000', async () => {
      const target = `cap-${randomUUID()}`;
      const events = Array.from({ length: 1000 }, () => ({ action: 'view' as const, resourceType: 'secret' as const, resourceTarget: target }));
      for (let i = 0; i < 11; i++) await api.events.recordBatch({ events });
      const page = await api.events.list({ q: `resource_target:${target}`, limit: 1 });
      expect(page.count).toEqual({ value: COUNT_CAP, capped: true });
      const narrower = await api.events.list({ q: `resource_target:${target} since:1m`, limit: 1 });
      expect(narrower.count).toEqual({ value: COUNT_CAP, capped: true });
      now = new Date(T0 + 3_600_000);
      const none = await api.events.list({ q: `resource_target:${target} since:1m` });
      expect(none.count).toEqual({ value: 0, capped: false });
    });
  });

  describe('indexes', () => {
    // Every filter of the query language must be answerable from an index: with
    // sequential scans priced out, a missing index still shows up as "Seq Scan".
    it.each([
      'action:delete',
      'action:cordon,delete',
      'resource_type:workspace',
      'resource_target:bob/dev',
      'resource_id:ws-9',
      'username:bob',
      'email:bob@example.com',
      'request_id:req-1',
      'date_from:2025-06-15 date_to:2025-06-16',
      'since:1h',
      '-action:login',
      '',
    ])('"%s" uses an index', async (q) => {
      const { resolveFilter, parseQueryFor } = await import('../../server/services/events.js');
      const { selectEventsPagePlanQuery } = await import('../support/plans.js');
      const query = resolveFilter(parseQueryFor(q, 'alice'), now);
      const plan = await database.db.transaction(async (tx) => {
        await tx.execute(sql`set local enable_seqscan = off`);
        return selectEventsPagePlanQuery(tx as never, query);
      });
      expect(plan).not.toMatch(/Seq Scan/);
      expect(plan).toMatch(/Index/);
    });

    it.each([
      'resource_target:bob/dev',
      'resource_id:ws-9',
      'username:bob',
      'email:bob@example.com',
      'request_id:req-1',
      'action:delete',
      '',
    ])(
      'the capped count for "%s" reads the index alone',
      async (q) => {
        const { resolveFilter, parseQueryFor } = await import('../../server/services/events.js');
        const { cappedCountPlan } = await import('../support/plans.js');
        const query = resolveFilter(parseQueryFor(q, 'alice'), now);
        const plan = await database.db.transaction(async (tx) => {
          await tx.execute(sql`set local enable_seqscan = off`);
          await tx.execute(sql`set local enable_bitmapscan = off`);
          return cappedCountPlan(tx as never, query);
        });
        expect(plan).toMatch(/Index Only Scan/);
      },
    );
  });
});
