// The notifier's core: what to notify of, the cursor, and the count of unseen events.
// The browser is passed in (storage, notifications, the clock, the server's
// events.since), so this runs, and is tested, in Node (test/unit/notifierCore.test.ts);
// notifier.ts wires it to the browser, the live socket and the badge.
//
// Every change of the stored cursor and count goes through one queue, in order: a batch
// of events (from the poll or the socket), the popup's "seen", a restarted cursor. Two
// of them never read the same count and write over each other.
//
// A batch: events at or below the cursor are ignored; notifications are created, then
// the cursor advances and is saved. Notification ids are deterministic (notifyPlan.ts),
// so a replay after a crash between the two replaces them rather than repeating them.
import type { AuditEvent } from '../../shared/event.js';
import { freshEvents, isRecentEvent, planNotifications, type PlannedNotification } from './notifyPlan.js';
import { outcomeOf } from './present.js';
import { normalizeRules, rulesQuery } from './rules.js';
import { OUTCOME_WORDS } from './wording.js';
import type { NotifierState, Settings } from './settings.js';

/** events.since page size (the server's maximum). */
export const PAGE_SIZE = 500;
/** A long absence is handled in batches of at most this many events (each one summary). */
export const MAX_BATCH = 5000;

/** What the notifier works for: one server, one token, one rules query. */
export interface NotifierContext {
  settings: Settings;
  serverUrl: string;
  token: string;
  /** Server and token (fingerprinted): the cursor belongs to one of each. */
  identity: string;
  /** The rules' query, or null when they notify of nothing. */
  q: string | null;
  /** Whether actions that did not happen (refused, failed) notify too. */
  refusals: boolean;
}

/** FNV-1a, so the cursor's identity changes with the token without storing it twice. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export function contextOf(settings: Settings): NotifierContext | null {
  if (!settings.serverUrl || !settings.token) return null;
  return {
    settings,
    serverUrl: settings.serverUrl,
    token: settings.token,
    identity: `${settings.serverUrl}#${fingerprint(settings.token)}`,
    q: rulesQuery(settings.notifyRules),
    refusals: normalizeRules(settings.notifyRules).refusals !== false,
  };
}

export const sameContext = (a: NotifierContext, b: NotifierContext): boolean => a.identity === b.identity && a.q === b.q && a.refusals === b.refusals;

/** The stored cursor, if it belongs to this server and token. */
export const cursorOf = (stored: NotifierState, ctx: NotifierContext): number | undefined =>
  stored.notifyCursor?.identity === ctx.identity ? stored.notifyCursor.seq : undefined;

/** The stored count of unseen events (0 when absent or nonsense). */
export const unseenOf = (stored: NotifierState): number =>
  typeof stored.unseenCount === 'number' && stored.unseenCount > 0 ? stored.unseenCount : 0;

/** What a batch changes: the notifications to create and what to store after them. */
export interface BatchPlan {
  notifications: PlannedNotification[];
  /** null: nothing to store. */
  save: NotifierState | null;
  /** How many events are notified (and added to the unseen count). */
  notified: number;
}

/**
 * Decides a batch: notifies of the events in `events` newer than the cursor, and moves the
 * cursor past them and past `through` (a poll's nextSeq: everything up to it was seen).
 * Without a cursor for this server and token, only starts one at `through` (and the count
 * at 0): history is never notified. With no rules, nothing is notified.
 */
export function planBatch(stored: NotifierState, ctx: NotifierContext, events: readonly AuditEvent[], through?: number): BatchPlan {
  const cursor = cursorOf(stored, ctx);
  if (cursor === undefined) {
    const save = through !== undefined ? { notifyCursor: { identity: ctx.identity, seq: through }, unseenCount: 0 } : null;
    return { notifications: [], save, notified: 0 };
  }
  const fresh = ctx.q === null ? [] : freshEvents(events, cursor);
  // Only what just happened alerts and counts as unseen; backfilled history moves the cursor
  // silently, and so do refusals when the rules leave them out.
  const alerts = fresh.filter((event) => isRecentEvent(event) && (ctx.refusals || OUTCOME_WORDS[outcomeOf(event.statusCode)].done));
  const seq = Math.max(cursor, through ?? cursor, fresh.at(-1)?.seq ?? cursor);
  const changed = seq !== cursor || alerts.length > 0;
  return {
    notifications: planNotifications(alerts),
    save: changed ? { notifyCursor: { identity: ctx.identity, seq }, unseenCount: unseenOf(stored) + alerts.length } : null,
    notified: alerts.length,
  };
}

/** One page of events.since. */
export interface SincePage {
  items: AuditEvent[];
  /** The cursor after this page (past every event the query skipped too). */
  nextSeq: number;
  /** The newest seq the server holds. */
  headSeq: number;
  more: boolean;
}

export type FetchSince = (input: { q?: string; afterSeq?: number; limit?: number }) => Promise<SincePage>;

/** What the core needs from its surroundings. */
export interface NotifierPorts {
  /** The background's bookkeeping (storage.local in the browser). */
  storage: {
    load(): Promise<NotifierState>;
    save(state: NotifierState): Promise<void>;
  };
  /** The context the settings give now: a batch fetched under other settings or rules is dropped. */
  currentContext(): Promise<NotifierContext | null>;
  /** Shows one desktop notification (a rejection is logged, not retried). */
  notify(notification: PlannedNotification): Promise<void>;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Told, in order with everything else, when the unseen count changed: notified events, or seen. */
  onUnseen?(count: number, why: 'notified' | 'seen'): Promise<void> | void;
  warn?(message: string, error: unknown): void;
  /** Keep every created notification for created() (test builds). */
  recordCreated?: boolean;
}

/** A notification as created, for test builds: when, its words, how often. */
export interface CreatedNotification {
  at: number;
  title: string;
  message: string;
  times: number;
}

export function createNotifierCore(ports: NotifierPorts) {
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs tasks one at a time, in the order asked. */
  function serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  }

  const created = new Map<string, CreatedNotification>();

  /** Handles a batch (see planBatch); answers how many events were notified. */
  function handleBatch(ctx: NotifierContext, events: readonly AuditEvent[], through?: number): Promise<number> {
    return serialized(async () => {
      const current = await ports.currentContext();
      if (!current || !sameContext(current, ctx)) return 0;
      const plan = planBatch(await ports.storage.load(), ctx, events, through);
      await Promise.all(
        plan.notifications.map(async (n) => {
          try {
            await ports.notify(n);
            if (ports.recordCreated) created.set(n.id, { at: ports.now(), title: n.title, message: n.message, times: (created.get(n.id)?.times ?? 0) + 1 });
          } catch (error) {
            // Not retried: a browser that refuses one notification refuses the replay too.
            ports.warn?.(`notification ${n.id}`, error);
          }
        }),
      );
      if (plan.save) await ports.storage.save(plan.save);
      if (plan.notified > 0) await ports.onUnseen?.(plan.save?.unseenCount ?? 0, 'notified');
      return plan.notified;
    });
  }

  /** Moves the cursor to `seq`, even backwards (only for a recreated log). */
  function restartCursor(ctx: NotifierContext, seq: number): Promise<void> {
    return serialized(() => ports.storage.save({ notifyCursor: { identity: ctx.identity, seq } }));
  }

  /** The popup has shown the log: the count starts again. */
  function markSeen(): Promise<void> {
    return serialized(async () => {
      await ports.storage.save({ unseenCount: 0 });
      await ports.onUnseen?.(0, 'seen');
    });
  }

  /**
   * Catches up from the stored cursor: pages of events.since, handled in batches. Without
   * a cursor (or with no rules) the cursor moves to where the log ends now, so a new
   * cursor, or rules turned on later, do not replay what happened before.
   */
  async function poll(ctx: NotifierContext, since: FetchSince): Promise<void> {
    const cursor = cursorOf(await ports.storage.load(), ctx);
    if (cursor === undefined || ctx.q === null) {
      const head = await since({});
      await handleBatch(ctx, [], head.nextSeq);
      return;
    }
    let after = cursor;
    let batch: AuditEvent[] = [];
    for (;;) {
      const page = await since({ q: ctx.q, afterSeq: after, limit: PAGE_SIZE });
      if (page.headSeq < cursor) {
        // The server's log is behind our cursor (its database was recreated): start
        // again at its head, notifying none of what it already holds.
        await restartCursor(ctx, page.headSeq);
        return;
      }
      batch.push(...page.items);
      after = page.nextSeq;
      if (!page.more || batch.length >= MAX_BATCH) {
        await handleBatch(ctx, batch, after);
        batch = [];
        if (!page.more) return;
      }
    }
  }

  return {
    handleBatch,
    restartCursor,
    markSeen,
    poll,
    /** Every notification created by this core (test builds show them to the browser tests). */
    created: (): Record<string, CreatedNotification> => Object.fromEntries(created),
  };
}
