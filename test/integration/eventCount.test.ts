// A first page that does not wait for its count: events.list with `count: false`, and
// events.count on its own, through the real router on every test database.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createContextInner } from '../../server/context.js';
import { createCaller } from '../../server/routers/_app.js';
import { COUNT_CAP } from '../../server/services/events.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');

describe.each(BACKENDS)('events.count and uncounted lists on %s', (backend) => {
  let database: TestDatabase;
  let now = new Date(T0);
  // Every query of this file is scoped to this run's targets, whatever else the database holds.
  const run = randomUUID().slice(0, 8);
  const callerAs = (role: 'member' | 'auditor' | 'site_manager', username = 'alice') =>
    createCaller(
      createContextInner({
        db: database.db,
        clock: () => now,
        caller: { kind: 'user', userId: null, username, email: null, role, tokenId: null },
      }),
    );
  const service = (scopes: ('events:read' | 'events:write')[]) =>
    createCaller(
      createContextInner({ db: database.db, clock: () => now, caller: { kind: 'service', tokenId: randomUUID(), name: 'svc', scopes } }),
    );
  let api: ReturnType<typeof callerAs>;

  /** Every page of a listing, following nextCursor. */
  async function walk(q: string, count: boolean | undefined, limit = 7): Promise<{ items: AuditEvent[]; counts: unknown[]; cursors: (string | null)[] }> {
    const items: AuditEvent[] = [];
    const counts: unknown[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.events.list({ q, limit, ...(count === undefined ? {} : { count }), ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      counts.push(page.count);
      cursors.push(page.nextCursor);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { items, counts, cursors };
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    now = new Date(T0);
    const actions = ['delete', 'cordon', 'login', 'connect'] as const;
    const users = ['alice', 'bob', 'carol'];
    // 48 events over 48 minutes before T0: every action, user and target mixed.
    const events: EventInput[] = Array.from({ length: 48 }, (_, i) => ({
      action: actions[i % actions.length]!,
      resourceType: i % 3 === 0 ? 'template' : 'workspace',
      resourceTarget: `${run}-${i % 5}`,
      actor: { username: users[i % users.length]! },
      time: new Date(T0 - (48 - i) * 60_000).toISOString(),
    }));
    await callerAs('site_manager').events.recordBatch({ events });
  });
  afterAll(async () => {
    await database?.destroy();
  });
  beforeEach(() => {
    now = new Date(T0);
    api = callerAs('auditor');
  });

  const QUERIES = [
    `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4`,
    `resource_target:${run}-1`,
    `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4 action:cordon,delete`,
    `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4 -action:login`,
    `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4 username:me`,
    `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4 resource_type:template since:20m`,
    `resource_target:${run}-2 username:nobody`,
  ];

  it.each(QUERIES)('count:false lists the same pages as a counted list, with count null: %s', async (q) => {
    const counted = await walk(q, undefined);
    const uncounted = await walk(q, false);
    expect(uncounted.items.map((e) => e.id)).toEqual(counted.items.map((e) => e.id));
    expect(uncounted.items).toEqual(counted.items);
    expect(uncounted.counts.every((c) => c === null)).toBe(true);
    expect(counted.counts.every((c) => c !== null && typeof c === 'object')).toBe(true);
    // Pages end at the same positions; an uncounted walk's cursors work for counted pages too.
    expect(uncounted.cursors.map((c) => c === null)).toEqual(counted.cursors.map((c) => c === null));
    const firstCursor = uncounted.cursors[0];
    if (firstCursor) {
      const second = await api.events.list({ q, limit: 7, cursor: firstCursor });
      expect(second.count).toEqual(counted.counts[0]);
      expect(second.items).toEqual(counted.items.slice(7, 14));
    }
  });

  it('count:false on a deeper page answers no count even when the cursor carries one', async () => {
    const q = `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4`;
    const first = await api.events.list({ q, limit: 5 });
    expect(first.count).toEqual({ value: 48, capped: false });
    const next = await api.events.list({ q, limit: 5, cursor: first.nextCursor!, count: false });
    expect(next.count).toBeNull();
    expect(next.items).toHaveLength(5);
    expect(next.items[0]!.seq).not.toBe(first.items[0]!.seq);
  });

  it.each(QUERIES)('events.count equals what the first page of events.list counts: %s', async (q) => {
    const page = await api.events.list({ q, limit: 1 });
    const count = await api.events.count({ q });
    expect(count).toEqual(page.count);
  });

  it('counts what it should: values computed from the recorded events', async () => {
    const all = `resource_target:${run}-0,${run}-1,${run}-2,${run}-3,${run}-4`;
    expect(await api.events.count({ q: all })).toEqual({ value: 48, capped: false });
    expect(await api.events.count({ q: `${all} action:cordon,delete` })).toEqual({ value: 24, capped: false });
    expect(await api.events.count({ q: `${all} username:me` })).toEqual({ value: 16, capped: false });
    expect(await callerAs('auditor', 'bob').events.count({ q: `${all} username:me` })).toEqual({ value: 16, capped: false });
    // Events 28..47 fall within the last 20 minutes; of those, i % 3 === 0 are templates (30, 33, ..., 45).
    expect(await api.events.count({ q: `${all} resource_type:template since:20m` })).toEqual({ value: 6, capped: false });
    now = new Date(T0 + 3_600_000);
    expect(await api.events.count({ q: `${all} since:20m` })).toEqual({ value: 0, capped: false });
    expect(await api.events.count({ q: `${all} username:nobody` })).toEqual({ value: 0, capped: false });
  });

  it('caps at 10,000 as events.list does: exactly 10,000 is exact, one more is 10,000+', async () => {
    const target = `${run}-cap`;
    const q = `resource_target:${target}`;
    const events = Array.from({ length: 1000 }, () => ({ action: 'view' as const, resourceType: 'secret' as const, resourceTarget: target }));
    const writer = callerAs('site_manager');
    for (let i = 0; i < 10; i++) await writer.events.recordBatch({ events });
    expect(await api.events.count({ q })).toEqual({ value: COUNT_CAP, capped: false });
    await writer.events.record({ action: 'view', resourceType: 'secret', resourceTarget: target });
    const count = await api.events.count({ q });
    expect(count).toEqual({ value: COUNT_CAP, capped: true });
    expect((await api.events.list({ q, limit: 1 })).count).toEqual(count);
    const uncounted = await api.events.list({ q, limit: 1, count: false });
    expect(uncounted.count).toBeNull();
    expect(uncounted.items).toHaveLength(1);
  });

  it.each([
    ['foo:bar', 'q: term "foo:bar" has an unknown key "foo"'],
    ['action:nuke', 'q: term "action:nuke" has an unknown action "nuke"'],
    ['date_from:2025-02-30', 'q: term "date_from:2025-02-30" has an invalid date'],
    ['since:5y', 'q: term "since:5y" has an invalid duration'],
  ])('a bad query %s is BAD_REQUEST naming the term, counted or not', async (q, message) => {
    const refusal = { code: 'BAD_REQUEST', message: expect.stringContaining(message) };
    await expect(api.events.count({ q })).rejects.toMatchObject(refusal);
    await expect(api.events.list({ q, count: false })).rejects.toMatchObject(refusal);
  });

  it('bad input is BAD_REQUEST naming the field, and the server keeps answering', async () => {
    await expect(service(['events:read']).events.count({ q: 'username:me' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('username:me'),
    });
    await expect(api.events.count({ q: 'x'.repeat(5000) })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('q') });
    await expect(api.events.count({ q: '', limit: 5 } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('limit') });
    await expect(api.events.list({ count: 'no' } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('count') });
    expect((await api.events.count({ q: `resource_target:${run}-1` })).value).toBeGreaterThan(0);
  });

  it('reads as events.list does: auditors, site managers and events:read tokens; a member or a write-only token is FORBIDDEN', async () => {
    const q = `resource_target:${run}-1`;
    const expected = await api.events.count({ q });
    expect(await callerAs('site_manager').events.count({ q })).toEqual(expected);
    expect(await service(['events:read']).events.count({ q })).toEqual(expected);
    await expect(callerAs('member').events.count({ q })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service(['events:write']).events.count({ q })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerAs('member').events.list({ q, count: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
