// The background's notifier (issue 6): desktop notifications for new events matching the
// user's rules, and the toolbar badge (problem states, else the unseen count).
//
// Two paths, one handler:
//   - the poll (source of truth): events.since from the cursor stored in storage.local,
//     paging while `more`; run on every wake of the worker, on the alarm, on startup and
//     install, when settings or rules change, and when the socket (re)opens;
//   - the live socket (fast path): events.live over WebSocket, from the cursor, while the
//     worker runs (its messages and 20 s pings keep an MV3 worker alive, Chrome 116+).
// Both hand batches to handleBatch, serialized on one promise chain: events at or below
// the cursor are ignored, notifications are created, then the cursor advances and is
// saved. Ids are deterministic (notifyPlan.ts), so a replay after a crash between the two
// replaces notifications rather than repeating them.
import type { AuditEvent } from '../../shared/event.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { hasHostAccess, settingsClient } from './api.js';
import { POLL_SECONDS, TEST_HOOKS } from './buildFlags.js';
import { showNotification } from './notify.js';
import { freshEvents, fullViewPath, parseNotificationId, planNotifications } from './notifyPlan.js';
export { SEEN_MESSAGE } from './notifyPlan.js';
import { browser } from './platform.js';
import { rulesQuery } from './rules.js';
import { loadNotifierState, loadSettings, type NotifierState, type Settings } from './settings.js';
import { detailOf, preconditionState, stateFromError, type ViewState } from './states.js';
import { showBadge } from './status.js';

export const POLL_ALARM = 'vigil-poll';
/** Issue 5's badge alarm, replaced by the poll (which answers the same question). */
const OLD_STATUS_ALARM = 'vigil-status';

/** events.since page size (the server's maximum). */
const PAGE_SIZE = 500;
/** A long absence is handled in batches of at most this many events (each one summary). */
const MAX_BATCH = 5000;
/** Live events arriving within this window count as "at once" (one summary if more than 5). */
const LIVE_GATHER_MS = 50;
/** After the server refused a subscription, leave the socket off this long (the poll goes on). */
const LIVE_RETRY_MS = 30_000;

interface Context {
  settings: Settings;
  serverUrl: string;
  token: string;
  /** Server and token (fingerprinted): the cursor belongs to one of each. */
  identity: string;
  /** The rules' query, or null when they notify of nothing. */
  q: string | null;
}

/** FNV-1a, so the cursor's identity changes with the token without storing it twice. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function contextOf(settings: Settings): Context | null {
  if (!settings.serverUrl || !settings.token) return null;
  return {
    settings,
    serverUrl: settings.serverUrl,
    token: settings.token,
    identity: `${settings.serverUrl}#${fingerprint(settings.token)}`,
    q: rulesQuery(settings.notifyRules),
  };
}

const sameContext = (a: Context, b: Context) => a.identity === b.identity && a.q === b.q;

const cursorOf = (stored: NotifierState, ctx: Context): number | undefined =>
  stored.notifyCursor?.identity === ctx.identity ? stored.notifyCursor.seq : undefined;

// ---------------------------------------------------------------------------------------
// The one handler

let chain: Promise<unknown> = Promise.resolve();

/** Runs tasks one at a time, in the order asked. */
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = chain.then(task);
  chain = run.catch(() => {});
  return run;
}

/** The connection as last seen (null: not known yet since this worker started). */
let state: ViewState | null = null;

/** Test builds: every notification this worker created: when (Date.now()), its words, how often. */
const created = new Map<string, { at: number; title: string; message: string; times: number }>();

async function paint(unseen?: number): Promise<void> {
  await showBadge(state ?? { id: 'ready', detail: {} }, unseen).catch((error: unknown) => console.warn('vigil: badge', error));
}

/**
 * Notifies of the events in `events` newer than the cursor, then moves the cursor past
 * them and past `through` (a poll's nextSeq: everything up to it was seen). Without a
 * cursor for these settings, only starts one at `through`: history is never notified.
 * Answers how many were notified.
 */
function handleBatch(ctx: Context, events: readonly AuditEvent[], through?: number): Promise<number> {
  return serialized(async () => {
    const current = contextOf(await loadSettings());
    if (!current || !sameContext(current, ctx)) return 0; // fetched under other settings or rules
    const stored = await loadNotifierState();
    const cursor = cursorOf(stored, ctx);
    if (cursor === undefined) {
      if (through !== undefined) await browser.storage.local.set({ notifyCursor: { identity: ctx.identity, seq: through }, unseenCount: 0 });
      return 0;
    }
    const fresh = ctx.q === null ? [] : freshEvents(events, cursor);
    await Promise.all(
      planNotifications(fresh).map(async (n) => {
        try {
          await showNotification(n);
          if (TEST_HOOKS) created.set(n.id, { at: Date.now(), title: n.title, message: n.message, times: (created.get(n.id)?.times ?? 0) + 1 });
        } catch (error) {
          // Not retried: a browser that refuses one notification refuses the replay too.
          console.warn('vigil: notification', n.id, error);
        }
      }),
    );
    const seq = Math.max(cursor, through ?? cursor, fresh.at(-1)?.seq ?? cursor);
    const unseen = (stored.unseenCount ?? 0) + fresh.length;
    if (seq !== cursor || fresh.length) await browser.storage.local.set({ notifyCursor: { identity: ctx.identity, seq }, unseenCount: unseen });
    if (fresh.length) {
      state = { id: 'ready', detail: detailOf(ctx.settings) }; // the server just answered
      await paint(unseen);
    }
    return fresh.length;
  });
}

/** Moves the cursor to `seq`, even backwards (only for a recreated log). */
function restartCursor(ctx: Context, seq: number): Promise<void> {
  return serialized(async () => {
    await browser.storage.local.set({ notifyCursor: { identity: ctx.identity, seq } });
  });
}

// ---------------------------------------------------------------------------------------
// The poll

async function poll(ctx: Context): Promise<void> {
  const client = settingsClient(ctx.settings);
  const cursor = cursorOf(await loadNotifierState(), ctx);
  if (cursor === undefined || ctx.q === null) {
    // Where the log ends now: a new cursor starts there, and with notifications off the
    // cursor follows it, so turning them on later does not replay what happened meanwhile.
    const head = await client.events.since.query({});
    await handleBatch(ctx, [], head.nextSeq);
    return;
  }
  let after = cursor;
  let batch: AuditEvent[] = [];
  for (;;) {
    const page = await client.events.since.query({ q: ctx.q, afterSeq: after, limit: PAGE_SIZE });
    if (page.headSeq < cursor) {
      // The server's log is newer than our cursor says (its database was recreated):
      // start again at its head, notifying none of what it already holds.
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

// ---------------------------------------------------------------------------------------
// The live socket

let live: { key: string; close(): void } | null = null;
let liveBlockedUntil = 0;

function stopLive(): void {
  live?.close();
  live = null;
}

function ensureLive(ctx: Context, cursor: number): void {
  if (ctx.q === null) return stopLive();
  const key = `${ctx.identity}\n${ctx.q}`;
  if (live?.key === key) return;
  stopLive();
  if (Date.now() < liveBlockedUntil) return;
  let pending: AuditEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    const batch = pending;
    pending = [];
    handleBatch(ctx, batch).catch((error: unknown) => console.warn('vigil: live batch', error));
  };
  const socket = createVigilLiveClient({
    url: ctx.serverUrl,
    token: ctx.token,
    transport: 'ws',
    // Every (re)connection catches up and repaints the badge (e.g. after a server restart).
    onOpen: () => void requestSync('socket open'),
  });
  const subscription = socket.client.events.live.subscribe(
    { q: ctx.q, lastEventId: String(cursor) },
    {
      onData: (tracked) => {
        pending.push(tracked.data as AuditEvent);
        timer ??= setTimeout(flush, LIVE_GATHER_MS);
      },
      onError: (error) => {
        // Refused (token revoked, rules the server rejects...): the poll names the problem.
        console.warn('vigil: live subscription', error);
        if (live !== current) return;
        stopLive();
        liveBlockedUntil = Date.now() + LIVE_RETRY_MS;
        void requestSync('socket error');
      },
    },
  );
  const current = {
    key,
    close() {
      if (timer) clearTimeout(timer);
      subscription.unsubscribe();
      socket.close();
    },
  };
  live = current;
}

// ---------------------------------------------------------------------------------------
// Sync: the poll, the socket and the badge, for the current settings

let syncing: Promise<void> | null = null;
let again = false;

async function syncOnce(): Promise<void> {
  const settings = await loadSettings();
  const ctx = contextOf(settings);
  const pre = preconditionState(settings);
  if (pre || !ctx) {
    stopLive();
    state = pre ?? { id: 'notConfigured', detail: {} };
    await paint();
    return;
  }
  try {
    await poll(ctx);
    state = { id: 'ready', detail: detailOf(settings) };
  } catch (error) {
    state = await stateFromError(error, settings, () => hasHostAccess(ctx.serverUrl));
  }
  if (state.id === 'ready' || state.id === 'unreachable' || state.id === 'offline') {
    // While the server is away the socket keeps reconnecting; its reopening syncs at once.
    const cursor = cursorOf(await loadNotifierState(), ctx);
    if (cursor !== undefined) ensureLive(ctx, cursor);
  } else {
    stopLive();
  }
  await paint();
}

/** Brings notifications and the badge up to date; calls during a sync make it run once more. */
export function requestSync(_reason: string): Promise<void> {
  if (syncing) {
    again = true;
    return syncing;
  }
  const run = (async () => {
    do {
      again = false;
      await syncOnce().catch((error: unknown) => console.warn('vigil: sync', error));
    } while (again);
  })();
  syncing = run.finally(() => {
    syncing = null;
  });
  return syncing;
}

export async function ensureAlarm(): Promise<void> {
  await browser.alarms.clear(OLD_STATUS_ALARM);
  const period = POLL_SECONDS / 60;
  const existing = await browser.alarms.get(POLL_ALARM);
  if (!existing || existing.periodInMinutes !== period) {
    await browser.alarms.create(POLL_ALARM, { delayInMinutes: period, periodInMinutes: period });
  }
}

// ---------------------------------------------------------------------------------------
// Clicks and the popup

/** A notification's click: the full view on its event (a summary: on the rules' query), and the notification goes. */
export async function openNotification(id: string): Promise<void> {
  const target = parseNotificationId(id);
  await browser.notifications.clear(id).catch(() => false);
  if (!target || target.kind === 'test') return;
  const settings = await loadSettings();
  const q = rulesQuery(settings.notifyRules);
  let eventId: string | null = null;
  if (target.kind === 'event' && settings.serverUrl && settings.token) {
    // The id carries the seq; the full view links by event id: the one event at that seq.
    try {
      const page = await settingsClient(settings).events.since.query({ afterSeq: target.seq - 1, limit: 1 });
      if (page.items[0]?.seq === target.seq) eventId = page.items[0].id;
    } catch (error) {
      console.warn('vigil: looking up the clicked event', error); // the full view names the problem
    }
  }
  await browser.tabs.create({ url: browser.runtime.getURL(fullViewPath(q, eventId)) });
}

/** The popup has shown the log: the count of unseen sensitive events starts again. */
export function markSeen(): Promise<void> {
  return serialized(async () => {
    await browser.storage.local.set({ unseenCount: 0 });
    // The popup only says so after the server answered it.
    if (!state || state.id !== 'ready') state = { id: 'ready', detail: {} };
    await paint(0);
  });
}

/** Test builds only: what the real-browser tests and the benchmark call in the worker. */
export function testHooks() {
  return {
    /** What notifications.onClicked does (a click cannot be synthesised headless). */
    click: openNotification,
    sync: () => requestSync('test'),
    created: () => Object.fromEntries(created),
    state: () => state,
    liveKey: () => live?.key ?? null,
  };
}
