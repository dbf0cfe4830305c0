// The background's notifier: desktop notifications for new events matching the user's
// rules, and the toolbar badge (problem states, else the unseen count). What to notify
// of, the cursor and the count are notifierCore.ts; this wires it to the browser.
//
// Two paths feed the core:
//   - the poll (source of truth): events.since from the stored cursor, paging while
//     `more`; run on every wake of the worker, on the alarm, on startup and install, when
//     settings or rules change, and when the socket (re)opens;
//   - the live socket (fast path): events.live over WebSocket, from the cursor, while the
//     worker runs (its messages and 20 s pings keep an MV3 worker alive, Chrome 116+).
import type { AuditEvent } from '../../shared/event.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { hasHostAccess, settingsClient } from './api.js';
import { POLL_SECONDS, TEST_HOOKS } from './buildFlags.js';
import { detailOf, preconditionState, stateFromError } from './connectionState.js';
import { contextOf, createNotifierCore, cursorOf, type NotifierContext } from './notifierCore.js';
import { showNotification } from './notify.js';
import { fullViewPath, parseNotificationId } from './notifyPlan.js';
import { browser } from './platform.js';
import { rulesQuery } from './rules.js';
import { loadNotifierState, loadSettings, type NotifierState } from './settings.js';
import type { ViewState } from './states.js';
import { showBadge } from './badge.js';
import { loadWitness, witnessStep } from './witnessSync.js';

export const POLL_ALARM = 'vigil-poll';
/** The badge alarm of earlier versions, replaced by the poll (which answers the same question). */
const OLD_STATUS_ALARM = 'vigil-status';

/** Live events arriving within this window count as "at once" (one summary if more than 5). */
const LIVE_GATHER_MS = 50;
/** After the server refused a subscription, leave the socket off this long (the poll goes on). */
const LIVE_RETRY_MS = 30_000;

/** The connection as last seen (null: not known yet since this worker started). */
let state: ViewState | null = null;

async function paint(unseen?: number): Promise<void> {
  await showBadge(state ?? { id: 'ready', detail: {} }, unseen).catch((error: unknown) => console.warn('vigil: badge', error));
}

const core = createNotifierCore({
  storage: {
    load: loadNotifierState,
    save: (patch: NotifierState) => browser.storage.local.set({ ...patch }),
  },
  currentContext: async () => contextOf(await loadSettings()),
  notify: showNotification,
  now: () => Date.now(),
  onUnseen: async (count, why) => {
    // Notified events or the popup showing the log: the server just answered.
    if (why === 'notified') state = { id: 'ready', detail: detailOf(await loadSettings()) };
    else if (!state || state.id !== 'ready') state = { id: 'ready', detail: {} };
    await paint(count);
  },
  warn: (message, error) => console.warn(`vigil: ${message}`, error),
  recordCreated: TEST_HOOKS,
});

// ---------------------------------------------------------------------------------------
// The live socket

let live: { key: string; started: boolean; close(): void } | null = null;
let liveBlockedUntil = 0;

function stopLive(): void {
  live?.close();
  live = null;
}

function ensureLive(ctx: NotifierContext, cursor: number): void {
  if (ctx.q === null) return stopLive();
  const key = `${ctx.identity}\n${ctx.refusals}\n${ctx.q}`;
  if (live?.key === key) return;
  stopLive();
  if (Date.now() < liveBlockedUntil) return;
  let pending: AuditEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    const batch = pending;
    pending = [];
    core.handleBatch(ctx, batch).catch((error: unknown) => console.warn('vigil: live batch', error));
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
      onStarted: () => {
        current.started = true;
      },
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
    started: false,
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
    const client = settingsClient(ctx.settings);
    await core.poll(ctx, (input) => client.events.since.query(input));
    state = { id: 'ready', detail: detailOf(settings) };
  } catch (error) {
    state = await stateFromError(error, settings, () => hasHostAccess(ctx.serverUrl));
  }
  if (state.id === 'ready') {
    // The witness: a rewritten, rolled-back or split history outranks every other state.
    const alarm = await witnessStep(settings).catch((error: unknown) => {
      console.warn('vigil: witness', error);
      return undefined;
    });
    if (alarm) state = { id: 'historyChanged', detail: { ...detailOf(settings), message: alarm.message } };
  }
  if (state.id === 'ready' || state.id === 'historyChanged' || state.id === 'unreachable' || state.id === 'offline') {
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
export const markSeen = (): Promise<void> => core.markSeen();

/** Test builds only: what the real-browser tests and the benchmark call in the worker. */
export function testHooks() {
  return {
    /** What notifications.onClicked does (a click cannot be synthesised headless). */
    click: openNotification,
    sync: () => requestSync('test'),
    created: core.created,
    state: () => state,
    liveKey: () => live?.key ?? null,
    witness: loadWitness,
    /** The server has accepted the live subscription (events recorded from now on come over it). */
    liveStarted: () => live?.started ?? false,
  };
}
