// The notifier's core in Node: what is notified, where the cursor goes and what the
// unseen count becomes, with an in-memory storage, recorded notifications, a fixed clock
// and events.since answered from a list of events.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/event.js';
import {
  contextOf,
  createNotifierCore,
  MAX_BATCH,
  planBatch,
  type FetchSince,
  type NotifierContext,
  type NotifierPorts,
} from '../../extension/src/notifierCore.js';
import { eventNotificationId, summaryNotificationId, type PlannedNotification } from '../../extension/src/notifyPlan.js';
import type { NotifierState, Settings } from '../../extension/src/settings.js';

const SETTINGS: Settings = { serverUrl: 'http://127.0.0.1:8080', token: 'token-one' };

const event = (seq: number, action = 'delete', username = 'alice'): AuditEvent =>
  ({
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    seq,
    time: new Date(Date.UTC(2026, 2, 10, 12, 0, seq)).toISOString(),
    recordedAt: new Date(Date.UTC(2026, 2, 10, 12, 0, seq)).toISOString(),
    hash: '0'.repeat(64),
    action,
    resourceType: 'workspace',
    resourceId: null,
    resourceTarget: `${username}/dev-${seq}`,
    actor: { id: null, username, email: null },
    ip: null,
    userAgent: null,
    statusCode: null,
    requestId: null,
    diff: null,
    metadata: null,
  }) as unknown as AuditEvent;

/** A core over an in-memory storage; `settings` may change between calls. */
function harness(initial: NotifierState = {}, options: { failNotify?: (n: PlannedNotification) => boolean } = {}) {
  let stored: NotifierState = { ...initial };
  let settings: Settings = { ...SETTINGS };
  const shown: PlannedNotification[] = [];
  const unseenCalls: [number, string][] = [];
  const warnings: string[] = [];
  let now = 1_000;
  const ports: NotifierPorts = {
    storage: {
      load: async () => ({ ...stored }),
      save: async (patch) => {
        // Like storage.local.set: a later await lets other tasks run in between.
        await Promise.resolve();
        stored = { ...stored, ...patch };
      },
    },
    currentContext: async () => contextOf(settings),
    notify: async (n) => {
      if (options.failNotify?.(n)) throw new Error('notifications are blocked');
      shown.push(n);
    },
    now: () => now,
    onUnseen: (count, why) => void unseenCalls.push([count, why]),
    warn: (message) => void warnings.push(message),
    recordCreated: true,
  };
  const core = createNotifierCore(ports);
  return {
    core,
    ctx: () => contextOf(settings)!,
    stored: () => stored,
    shown,
    unseenCalls,
    warnings,
    setSettings: (next: Settings) => (settings = next),
    tick: (ms: number) => (now += ms),
  };
}

/** events.since over a fixed log: the query only picks deletes and cordons (the default rules). */
function sinceOver(log: AuditEvent[]): FetchSince & { calls: unknown[] } {
  const calls: unknown[] = [];
  const fn = async (input: { q?: string; afterSeq?: number; limit?: number }) => {
    calls.push(input);
    const head = log.at(-1)?.seq ?? 0;
    const after = input.afterSeq ?? head;
    const limit = input.limit ?? 100;
    const later = log.filter((e) => e.seq > after);
    const matching = input.q ? later.filter((e) => e.action === 'delete' || e.action === 'cordon') : [];
    const page = matching.slice(0, limit);
    const more = matching.length > limit;
    return { items: page, nextSeq: more ? page.at(-1)!.seq : head, headSeq: head, more };
  };
  return Object.assign(fn, { calls });
}

describe('the notifier core: one batch', () => {
  const ctx: NotifierContext = contextOf(SETTINGS)!;

  it('without a cursor only starts one, at the head: history is not notified', () => {
    expect(planBatch({}, ctx, [event(5)], 7)).toEqual({
      notifications: [],
      save: { notifyCursor: { identity: ctx.identity, seq: 7 }, unseenCount: 0 },
      notified: 0,
    });
    // A cursor of another server or token is no cursor.
    expect(planBatch({ notifyCursor: { identity: 'elsewhere', seq: 1 }, unseenCount: 4 }, ctx, [event(5)], 7).notified).toBe(0);
  });

  it('notifies events after the cursor once each, adds them to the count and moves the cursor past `through`', () => {
    const plan = planBatch({ notifyCursor: { identity: ctx.identity, seq: 3 }, unseenCount: 2 }, ctx, [event(2), event(4), event(5), event(4)], 9);
    expect(plan.notifications.map((n) => n.id)).toEqual([eventNotificationId(4), eventNotificationId(5)]);
    expect(plan.save).toEqual({ notifyCursor: { identity: ctx.identity, seq: 9 }, unseenCount: 4 });
    expect(plan.notified).toBe(2);
  });

  it('more than five at once make one summary', () => {
    const plan = planBatch({ notifyCursor: { identity: ctx.identity, seq: 0 } }, ctx, [1, 2, 3, 4, 5, 6].map((s) => event(s)));
    expect(plan.notifications.map((n) => n.id)).toEqual([summaryNotificationId(1, 6)]);
    expect(plan.save?.unseenCount).toBe(6);
  });

  it('with no rules nothing is notified, but the cursor follows the log', () => {
    const off = contextOf({ ...SETTINGS, notifyRules: { actions: [], resourceTypes: [], query: '' } })!;
    expect(off.q).toBeNull();
    expect(planBatch({ notifyCursor: { identity: off.identity, seq: 1 }, unseenCount: 1 }, off, [event(2)], 2)).toEqual({
      notifications: [],
      save: { notifyCursor: { identity: off.identity, seq: 2 }, unseenCount: 1 },
      notified: 0,
    });
  });

  it('refused and failed attempts notify by default, titled as such; rules may leave them out', () => {
    const refused = { ...event(4, 'delete', 'mallory'), statusCode: 403 } as AuditEvent;
    const failed = { ...event(5), statusCode: 404 } as AuditEvent;
    const done = { ...event(6), statusCode: 200 } as AuditEvent;
    const from = { notifyCursor: { identity: ctx.identity, seq: 3 }, unseenCount: 0 };
    const plan = planBatch(from, ctx, [refused, failed, done]);
    expect(plan.notifications.map((n) => n.title)).toEqual([
      'mallory tried to delete mallory/dev-4 — refused', // short of room: no status code, no resource type
      'alice failed to delete workspace alice/dev-5 (404)',
      'alice deleted workspace alice/dev-6',
    ]);
    expect(plan.save?.unseenCount).toBe(3);

    const noRefusals = contextOf({ ...SETTINGS, notifyRules: { actions: ['delete'], resourceTypes: [], query: '', refusals: false } })!;
    expect(noRefusals.refusals).toBe(false);
    const quiet = planBatch({ ...from, notifyCursor: { identity: noRefusals.identity, seq: 3 } }, noRefusals, [refused, failed, done]);
    expect(quiet.notifications.map((n) => n.id)).toEqual([eventNotificationId(6)]);
    expect(quiet.save).toEqual({ notifyCursor: { identity: noRefusals.identity, seq: 6 }, unseenCount: 1 });
  });

  it('the unseen count is the notified set: backfilled history moves the cursor and counts for nothing', () => {
    const old = (seq: number) => ({ ...event(seq), time: '2026-03-09T08:00:00.000Z' }) as AuditEvent;
    const plan = planBatch({ notifyCursor: { identity: ctx.identity, seq: 0 }, unseenCount: 1 }, ctx, [old(1), event(2), old(3), old(4), old(5), old(6), event(7)]);
    expect(plan.notifications.map((n) => n.id)).toEqual([eventNotificationId(2), eventNotificationId(7)]);
    expect(plan.notified).toBe(2);
    expect(plan.save).toEqual({ notifyCursor: { identity: ctx.identity, seq: 7 }, unseenCount: 3 });
  });

  it('nothing newer: nothing to store', () => {
    expect(planBatch({ notifyCursor: { identity: ctx.identity, seq: 8 } }, ctx, [event(8)], 8)).toEqual({ notifications: [], save: null, notified: 0 });
  });

  it('a new token is a new identity: the cursor starts again', () => {
    expect(contextOf({ ...SETTINGS, token: 'token-two' })!.identity).not.toBe(ctx.identity);
    expect(contextOf({ serverUrl: SETTINGS.serverUrl })).toBeNull();
  });
});

describe('the notifier core with its storage', () => {
  it('polls: a first poll starts at the head; then exactly the new sensitive events are notified and counted', async () => {
    const h = harness();
    const log = [event(1), event(2, 'login'), event(3)];
    await h.core.poll(h.ctx(), sinceOver(log));
    expect(h.stored()).toEqual({ notifyCursor: { identity: h.ctx().identity, seq: 3 }, unseenCount: 0 });
    expect(h.shown).toEqual([]);

    log.push(event(4, 'login'), event(5, 'cordon', 'bob'), event(6));
    h.tick(500);
    await h.core.poll(h.ctx(), sinceOver(log));
    expect(h.shown.map((n) => n.id)).toEqual([eventNotificationId(5), eventNotificationId(6)]);
    expect(h.shown[0]!.title).toBe('bob cordoned workspace bob/dev-5');
    expect(h.stored()).toEqual({ notifyCursor: { identity: h.ctx().identity, seq: 6 }, unseenCount: 2 });
    expect(h.unseenCalls).toEqual([[2, 'notified']]);
    expect(h.core.created()[eventNotificationId(6)]).toMatchObject({ at: 1_500, times: 1 });

    // Polling again finds nothing new: nothing is shown twice.
    await h.core.poll(h.ctx(), sinceOver(log));
    expect(h.shown).toHaveLength(2);
  });

  it('a long absence is read page by page and notified in batches of at most MAX_BATCH (one summary each)', async () => {
    const h = harness();
    await h.core.poll(h.ctx(), sinceOver([]));
    const log = Array.from({ length: MAX_BATCH + 700 }, (_, i) => event(i + 1));
    const since = sinceOver(log);
    await h.core.poll(h.ctx(), since);
    expect(h.shown.map((n) => n.id)).toEqual([summaryNotificationId(1, MAX_BATCH), summaryNotificationId(MAX_BATCH + 1, MAX_BATCH + 700)]);
    expect(h.stored().unseenCount).toBe(MAX_BATCH + 700);
    expect(h.stored().notifyCursor?.seq).toBe(MAX_BATCH + 700);
    expect(since.calls.length).toBe(Math.ceil((MAX_BATCH + 700) / 500));
  });

  it('a server whose log is behind the cursor (recreated) restarts the cursor at its head, notifying nothing', async () => {
    const h = harness();
    await h.core.poll(h.ctx(), sinceOver([event(1), event(50)]));
    await h.core.poll(h.ctx(), sinceOver([event(1), event(2)]));
    expect(h.stored().notifyCursor?.seq).toBe(2);
    expect(h.shown).toEqual([]);
  });

  it("the popup's seen and a batch never lose a count: both go through one queue", async () => {
    const h = harness();
    await h.core.poll(h.ctx(), sinceOver([event(1)]));
    const ctx = h.ctx();
    await h.core.handleBatch(ctx, [event(2), event(3)]);
    expect(h.stored().unseenCount).toBe(2);
    // Seen, then a batch arriving at the same moment: the batch's event counts afterwards.
    const seen = h.core.markSeen();
    const batch = h.core.handleBatch(ctx, [event(4)]);
    await Promise.all([seen, batch]);
    expect(h.stored().unseenCount).toBe(1);
    // A batch, then seen at the same moment: seen wins, in order.
    await Promise.all([h.core.handleBatch(ctx, [event(5)]), h.core.markSeen()]);
    expect(h.stored().unseenCount).toBe(0);
    expect(h.unseenCalls).toEqual([
      [2, 'notified'],
      [0, 'seen'],
      [1, 'notified'],
      [2, 'notified'],
      [0, 'seen'],
    ]);
  });

  it('a batch fetched under other settings or rules is dropped', async () => {
    const h = harness();
    await h.core.poll(h.ctx(), sinceOver([event(1)]));
    const before = h.ctx();
    h.setSettings({ ...SETTINGS, notifyRules: { actions: ['login'], resourceTypes: [], query: '' } });
    expect(await h.core.handleBatch(before, [event(2)])).toBe(0);
    expect(h.shown).toEqual([]);
    expect(h.stored().notifyCursor?.seq).toBe(1);
  });

  it('a refused notification is logged; the cursor still moves, so it is not replayed for ever', async () => {
    const h = harness({}, { failNotify: (n) => n.id === eventNotificationId(3) });
    await h.core.poll(h.ctx(), sinceOver([event(1)]));
    expect(await h.core.handleBatch(h.ctx(), [event(2), event(3)])).toBe(2);
    expect(h.shown.map((n) => n.id)).toEqual([eventNotificationId(2)]);
    expect(h.warnings).toEqual([`notification ${eventNotificationId(3)}`]);
    expect(h.stored().notifyCursor?.seq).toBe(3);
  });

  it('a replay of a batch (crash before the cursor was saved) reuses the same ids', async () => {
    const h = harness();
    await h.core.poll(h.ctx(), sinceOver([event(1)]));
    const saved = h.stored();
    await h.core.handleBatch(h.ctx(), [event(2)]);
    // The worker died before saving: the stored state is as before, and the batch comes again.
    const again = harness(saved);
    await again.core.handleBatch(again.ctx(), [event(2)]);
    expect(again.shown.map((n) => n.id)).toEqual(h.shown.map((n) => n.id));
  });
});
