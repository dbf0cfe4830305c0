// Desktop notifications: the rules and what a batch of events shows (pure), then
// the extension's background in real Chromium against a real server over PGlite: a cordon
// notifies and is counted, a login is not; a stopped worker catches up exactly; a server
// restart repeats nothing; a burst makes one summary; a click opens the full view; the
// options page saves rules and sends a test notification.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, listen } from '../../server/app.js';
import { generateToken } from '../../server/services/auth.js';
import { processSecretsKey } from '../../server/services/secretsKey.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import {
  eventNotificationId,
  freshEvents,
  fullViewPath,
  parseNotificationId,
  planNotifications,
  summaryNotificationId,
  SUMMARY_AFTER,
} from '../../extension/src/notifyPlan.js';
import { composeRules, DEFAULT_RULES, normalizeRules, rulesQuery } from '../../extension/src/rules.js';
import { STATES, UNSEEN_BADGE } from '../../extension/src/states.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { buildTestExtension, chromiumAvailable, launchWithExtension, TEST_EXTENSION_ID, type BuiltExtension, type ExtensionBrowser } from '../support/browser.js';

describe('notification rules (pure)', () => {
  it('compose into one server query; defaults are cordon and delete', () => {
    expect(composeRules(DEFAULT_RULES)).toEqual({ ok: true, q: 'action:cordon,delete' });
    expect(composeRules({ actions: ['delete', 'cordon', 'login'], resourceTypes: ['workspace', 'user'], query: ' username:alice ' })).toEqual({
      ok: true,
      q: 'action:cordon,delete,login resource_type:workspace,user username:alice',
    });
    expect(composeRules({ actions: [], resourceTypes: ['workspace'], query: '' })).toEqual({ ok: true, q: null });
    for (const rules of [DEFAULT_RULES, { actions: ['stop' as const], resourceTypes: ['workspace' as const], query: '-username:bot since:7d' }]) {
      const check = composeRules(rules);
      expect(check.ok && check.q !== null && parseAuditQuery(check.q).ok).toBe(true);
    }
  });

  it('refuse an extra query that is invalid or picks actions or resource types', () => {
    const bad = parseAuditQuery('colour:red');
    expect(composeRules({ ...DEFAULT_RULES, query: 'colour:red' })).toEqual({ ok: false, message: formatQueryError((bad as { ok: false; error: never }).error) });
    for (const [query, term] of [
      ['action:login', 'action:login'],
      ['username:bob -action:delete', '-action:delete'],
      ['resource_type:user', 'resource_type:user'],
      ['workspace', 'workspace'],
    ] as const) {
      const check = composeRules({ ...DEFAULT_RULES, query });
      expect(check.ok, query).toBe(false);
      if (!check.ok) expect(check.message).toContain(JSON.stringify(term));
    }
  });

  it('stored rules are normalized: unknown values dropped, defaults when absent, a bad extra query dropped', () => {
    expect(normalizeRules(undefined)).toEqual(DEFAULT_RULES);
    expect(normalizeRules({ actions: ['delete', 'explode', 'cordon'], resourceTypes: ['nope', 'user'], query: 7, refusals: 'no' })).toEqual({
      actions: ['cordon', 'delete'],
      resourceTypes: ['user'],
      query: '',
      refusals: true,
    });
    expect(normalizeRules({ actions: ['delete'], refusals: false }).refusals).toBe(false);
    expect(rulesQuery({ actions: ['delete'], resourceTypes: [], query: 'action:login' })).toBe('action:delete');
    expect(rulesQuery(undefined)).toBe('action:cordon,delete');
  });

  const event = (seq: number, action: AuditEvent['action'] = 'delete', username = 'alice'): AuditEvent =>
    ({
      id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
      seq,
      time: '2026-01-02T03:04:05.000Z',
      recordedAt: '2026-01-02T03:04:05.000Z',
      action,
      resourceType: 'workspace',
      resourceId: null,
      resourceTarget: `${username}/dev`,
      actor: { id: null, username, email: null },
      ip: null,
      userAgent: null,
      statusCode: seq === 3 ? 403 : 200,
      requestId: null,
      diff: null,
      metadata: null,
    }) as unknown as AuditEvent;

  it('plan one notification per event, worded like its row, and one summary beyond five', () => {
    const three = planNotifications([event(1), event(2, 'cordon', 'bob'), event(3)]);
    expect(three.map((n) => n.id)).toEqual(['vigil-event-1', 'vigil-event-2', 'vigil-event-3']);
    expect(three[0]!.title).toBe('alice deleted workspace alice/dev');
    expect(three[1]!.title).toBe('bob cordoned workspace bob/dev');
    expect(three[2]!.title).toBe('alice tried to delete workspace alice/dev — refused'); // the status is in the body
    expect(three[2]!.message.split('\n')[0]).toBe('Refused (HTTP 403) · by alice');
    const many = Array.from({ length: SUMMARY_AFTER + 2 }, (_, i) => event(10 + i, i % 2 ? 'cordon' : 'delete', ['ann', 'ben', 'cy', 'dot', 'ed'][i % 5]));
    const summary = planNotifications(many);
    expect(summary).toHaveLength(1);
    expect(summary[0]!.id).toBe(summaryNotificationId(10, 16));
    expect(summary[0]!.title).toBe('7 sensitive events in the audit log');
    expect(summary[0]!.message).toBe('4 deletes, 3 cordons by ann, ben, cy and 2 others. Click to see them.');
    expect(planNotifications(many.slice(0, SUMMARY_AFTER))).toHaveLength(SUMMARY_AFTER);
  });

  it('fresh events are those after the cursor, once each, in seq order', () => {
    expect(freshEvents([event(5), event(3), event(4), event(5), event(2)], 3).map((e) => e.seq)).toEqual([4, 5]);
  });

  it('notification ids carry what a click opens', () => {
    expect(parseNotificationId(eventNotificationId(42))).toEqual({ kind: 'event', seq: 42 });
    expect(parseNotificationId(summaryNotificationId(7, 19))).toEqual({ kind: 'summary', firstSeq: 7, lastSeq: 19 });
    expect(parseNotificationId('vigil-test')).toEqual({ kind: 'test' });
    expect(parseNotificationId('something-else')).toBeNull();
    expect(fullViewPath('action:cordon,delete', 'abc')).toBe('view.html#q=action%3Acordon%2Cdelete&id=abc');
    expect(fullViewPath(null)).toBe('view.html');
  });

  it('the unseen count badge loses to every problem state', () => {
    expect(UNSEEN_BADGE.text(3)).toBe('3');
    expect(UNSEEN_BADGE.text(12_345)).toBe('999+');
    for (const id of ['notConfigured', 'loggedOut', 'badToken', 'forbidden', 'unreachable', 'offline'] as const) expect(STATES[id].badge.text).not.toBe('');
  });
});

/** The test build's poll period: short, so a stopped worker is woken by its alarm within seconds. */
const POLL_SECONDS = 3;

interface RestartableServer {
  url: string;
  port: number;
  token: string;
  client: VigilClient;
  close(): Promise<void>;
}

/** A real server; given a port and token, the same address and credentials as a previous one (a restart). */
async function startServer(database: TestDatabase, at?: { port: number; token: string }): Promise<RestartableServer> {
  const token = at?.token ?? generateToken();
  const app = createApp({
    db: database.db,
    listen: database.listen,
    adminToken: token,
    signer: generateSigner(),
    secretsKey: processSecretsKey(),
    maxBodyBytes: 16 * 1024 * 1024,
    extensionIds: [TEST_EXTENSION_ID],
  });
  const running = await listen(app, at?.port ?? 0, '127.0.0.1');
  const port = Number(new URL(running.url).port);
  return { url: running.url, port, token, client: createVigilClient({ url: running.url, token }), close: running.close };
}

interface Created {
  at: number;
  title: string;
  message: string;
  times: number;
}

declare const vigilTest: {
  click(id: string): Promise<void>;
  sync(): Promise<void>;
  created(): Record<string, Created>;
  liveKey(): string | null;
  liveStarted(): boolean;
};
declare const chrome: {
  notifications: { getAll(): Promise<Record<string, boolean>>; clear(id: string): Promise<boolean> };
  alarms: { get(name: string): Promise<{ scheduledTime: number; periodInMinutes?: number } | undefined> };
  action: { getTitle(details: object): Promise<string> };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(check: () => Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

describe.skipIf(!chromiumAvailable)('desktop notifications in Chromium', () => {
  let database: TestDatabase;
  let server: RestartableServer;
  let built: BuiltExtension;
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    [database, built] = await Promise.all([createPglite(), buildTestExtension(['chrome'], { pollSeconds: POLL_SECONDS })]);
    server = await startServer(database);
    browser = await launchWithExtension(built.dir);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.destroy();
    await built?.remove();
  });

  const record = async (events: EventInput[]) => (await server.client.events.recordBatch.mutate({ events })).events;
  const sensitive = (action: 'cordon' | 'delete', target: string, username = 'audra'): EventInput => ({
    action,
    resourceType: action === 'cordon' ? 'workspace_provider' : 'workspace',
    resourceTarget: target,
    actor: { username, email: `${username}@example.com` },
  });
  const worker = () => browser.liveWorker();
  const created = () => worker().evaluate(() => vigilTest.created());
  const sync = () => worker().evaluate(() => vigilTest.sync());
  const stored = () => browser.getStorage();
  const badgeCount = async () => {
    const text = await browser.badgeText();
    return /^\d+$/.test(text) ? Number(text) : text === '' ? 0 : text;
  };
  const clearNotifications = () =>
    worker().evaluate(async () => {
      for (const id of Object.keys(await chrome.notifications.getAll())) await chrome.notifications.clear(id);
    });
  /** Waits until these notifications (and no others) show. */
  const expectNotifications = async (ids: string[]) => {
    const want = [...ids].sort();
    let showing: string[] = [];
    await waitFor(async () => JSON.stringify((showing = await browser.notificationIds())) === JSON.stringify(want), `notifications ${want.join(', ')}`).catch(
      (error: Error) => {
        throw new Error(`${error.message}; showing ${showing.join(', ') || 'none'}`);
      },
    );
    // And nothing more arrives after a full poll.
    await sync();
    expect(await browser.notificationIds()).toEqual(want);
  };

  const session = { kind: 'user', user: { id: null, username: 'bootstrap-token', email: null, role: 'site_manager' } };
  /**
   * Each test starts here, whatever ran before: signed in with the default rules, the
   * cursor at the head of the log (a fresh one: nothing before is notified), no unseen
   * events, no notifications, the live socket open.
   */
  const signedInAtHead = async () => {
    await clearNotifications();
    const head = (await server.client.events.since.query({})).nextSeq;
    await browser.setStorage({ serverUrl: server.url, token: server.token, session });
    await worker().evaluate(() => vigilTest.sync());
    await waitFor(async () => ((await stored()).notifyCursor as { seq: number } | undefined)?.seq === head, 'a fresh cursor at the head of the log');
    await expect.poll(() => browser.badgeText()).toBe('');
    await waitFor(() => worker().evaluate(() => vigilTest.liveStarted()), 'the live subscription to start');
    expect(await browser.notificationIds()).toEqual([]);
  };

  it('signing in starts at the head of the log: history is not notified', async () => {
    // Sensitive history before the extension knows the server.
    await record(Array.from({ length: 8 }, (_, i) => sensitive(i % 2 ? 'cordon' : 'delete', `history-${i}`)));
    const head = (await server.client.events.since.query({})).nextSeq;
    await browser.setStorage({
      serverUrl: server.url,
      token: server.token,
      session: { kind: 'user', user: { id: null, username: 'bootstrap-token', email: null, role: 'site_manager' } },
    });
    const cursor = await waitFor(async () => (await stored()).notifyCursor as { seq: number } | undefined, 'the first poll to store a cursor');
    expect(cursor.seq).toBe(head);
    await waitFor(() => worker().evaluate(() => vigilTest.liveKey()), 'the live socket');
    await sync();
    expect(await browser.notificationIds()).toEqual([]);
    expect(await browser.badgeText()).toBe('');
  });

  it('a cordon recorded through the typed client raises a notification and counts on the badge; a login does not', async (context) => {
    await signedInAtHead();
    const started = Date.now();
    const [event] = await record([{ ...sensitive('cordon', 'eu-west-k8s-2', 'ops.maria'), statusCode: 200, ip: '198.51.100.7' }]);
    const id = eventNotificationId(event!.seq);
    await waitFor(async () => (await browser.notificationIds()).includes(id), `notification ${id}`);
    const made = (await created())[id]!;
    await context.annotate(`cordon recorded -> notification created: ${made.at - started} ms (record call included)`);
    // What and where: the target whole in the title; outcome, actor, time and ip in the body.
    expect(made.title).toBe('ops.maria cordoned workspace provider eu-west-k8s-2');
    const [outcome, when] = made.message.split('\n');
    expect(outcome).toBe('Succeeded (HTTP 200) · by ops.maria');
    expect(when).toMatch(/ · from 198\.51\.100\.7$/);
    expect(made.message).not.toContain('A workspace provider stopped accepting new workspaces');
    await expect.poll(() => browser.badgeText()).toBe('1');

    const [login] = await record([{ action: 'login', resourceType: 'user', resourceTarget: 'audra@example.com', actor: { username: 'audra' } }]);
    await sync();
    expect((await stored()).notifyCursor).toMatchObject({ seq: login!.seq }); // seen, not notified
    expect(await browser.notificationIds()).toEqual([id]);
    expect(await browser.badgeText()).toBe('1');
    expect(await browser.liveWorker().evaluate(() => chrome.action.getTitle({}))).toBe('Vigil: 1 new sensitive event');
  });

  it('a refused delete notifies as refused, and its popup row says so', async () => {
    await signedInAtHead();
    const [refused] = await record([{ ...sensitive('delete', 'admin', 'mallory'), resourceType: 'user', statusCode: 403, ip: '203.0.113.9' }]);
    const id = eventNotificationId(refused!.seq);
    await waitFor(async () => (await browser.notificationIds()).includes(id), `notification ${id}`);
    const made = (await created())[id]!;
    expect(made.title).toBe('mallory tried to delete user admin — refused (403)');
    expect(made.message).toMatch(/^Refused \(HTTP 403\) · by mallory\n.+ · from 203\.0\.113\.9$/);

    const popup = await browser.open('popup.html', { width: 500, height: 600 });
    const row = popup.locator(`li.event[data-id="${refused!.id}"]`);
    await row.waitFor();
    expect(await row.locator('.event-text').innerText()).toBe('mallory tried to delete user admin — refused (403)');
    expect(await row.getAttribute('class')).toContain('outcome-refused');
    // Not in the sensitive colour a done delete wears.
    const look = await row.evaluate((li) => {
      const probe = document.createElement('span');
      probe.style.color = 'var(--sensitive)';
      li.append(probe);
      const sensitive = getComputedStyle(probe).color;
      probe.remove();
      return { verb: getComputedStyle(li.querySelector('.verb')!).color, sensitive, edge: getComputedStyle(li).borderLeftStyle };
    });
    expect(look.edge).toBe('dashed');
    expect(look.verb).not.toBe(look.sensitive);
    await popup.close();
    await clearNotifications();
  });

  it('the popup shows the unseen events, as many as the badge (backfilled history is not new), and clears the count', async () => {
    await signedInAtHead();
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
    await record([{ ...sensitive('delete', 'backfilled'), time: dayAgo }, sensitive('delete', 'unseen-popup')]);
    await expect.poll(() => browser.badgeText()).toBe('1');
    await sync();
    expect(await browser.badgeText()).toBe('1');
    const popup = await browser.open('popup.html', { width: 500, height: 600 });
    await popup.waitForSelector('[data-unseen="1"]');
    await expect.poll(() => browser.badgeText()).toBe('');
    expect((await stored()).unseenCount).toBe(0);
    await popup.click('[data-unseen] button');
    await expect.poll(() => popup.inputValue('#q')).toBe('action:cordon,delete');
    await popup.close();
    await clearNotifications();
  });

  it('a stopped worker, woken by its alarm, notifies exactly the 3 deletes it slept through; then exactly 1 more', async () => {
    await signedInAtHead();
    // Stop it just after an alarm, so the three deletes land while it is certainly asleep.
    const alarm = await worker().evaluate(() => chrome.alarms.get('vigil-poll'));
    expect(alarm?.periodInMinutes).toBe(POLL_SECONDS / 60);
    await sleep(Math.max(0, alarm!.scheduledTime - Date.now()) + 100);
    await browser.stopWorker();
    const deletes = await record([1, 2, 3].map((i) => sensitive('delete', `asleep-${i}`)));
    expect(await browser.workerStatus(), 'the worker must still be asleep when the events are recorded').toBe('stopped');

    await browser.workerRunning();
    const ids = deletes.map((e) => eventNotificationId(e.seq));
    await expectNotifications(ids);
    const log = await created();
    expect(Object.keys(log).sort()).toEqual([...ids].sort()); // this worker's whole life: those 3, once each
    expect(Object.values(log).map((c) => c.times)).toEqual([1, 1, 1]);
    expect(await badgeCount()).toBe(3);

    const [one] = await record([sensitive('delete', 'awake-1')]);
    const oneId = eventNotificationId(one!.seq);
    await expectNotifications([...ids, oneId]);
    expect((await created())[oneId]!.times).toBe(1);
    expect(await badgeCount()).toBe(4);
  });

  it('a server restart on the same port and database repeats no notification', async () => {
    await signedInAtHead();
    const shown = await record([sensitive('delete', 'before-restart-1'), sensitive('cordon', 'before-restart-2')]);
    await expectNotifications(shown.map((e) => eventNotificationId(e.seq)));
    expect(await badgeCount()).toBe(2);
    const before = await browser.notificationIds();
    const createdBefore = await created();
    const { port, token } = server;
    await server.close();
    // The next poll cannot reach it: the problem wins over the count.
    await expect.poll(() => browser.badgeText(), { timeout: (POLL_SECONDS + 10) * 1000 }).toBe(STATES.unreachable.badge.text);
    server = await startServer(database, { port, token });
    // Back: the socket reconnects (or the alarm polls) and the count returns.
    await expect.poll(() => browser.badgeText(), { timeout: 30_000 }).toBe('2');
    await waitFor(() => worker().evaluate(() => vigilTest.liveKey()), 'the live socket');
    await sleep(POLL_SECONDS * 1000);
    await sync();
    expect(await browser.notificationIds()).toEqual(before);
    expect(await created()).toEqual(createdBefore);

    // The reconnected path still notifies new events, once.
    const [after] = await record([sensitive('cordon', 'us-east-2')]);
    const afterId = eventNotificationId(after!.seq);
    await expectNotifications([...before, afterId]);
    expect((await created())[afterId]!.times).toBe(1);
    expect(await badgeCount()).toBe(3);
  });

  it('more than 5 events at once make one summary notification', async () => {
    await signedInAtHead();
    const burst = await record(Array.from({ length: 7 }, (_, i) => sensitive(i < 4 ? 'delete' : 'cordon', `burst-${i}`, ['ann', 'ben', 'cy'][i % 3])));
    const id = summaryNotificationId(burst[0]!.seq, burst.at(-1)!.seq);
    await expectNotifications([id]);
    expect((await created())[id]).toMatchObject({ title: '7 sensitive events in the audit log', times: 1 });
    expect(await badgeCount()).toBe(7);
  });

  async function clickOpens(id: string): Promise<Page> {
    const [view] = await Promise.all([browser.context.waitForEvent('page'), worker().evaluate((id) => vigilTest.click(id), id)]);
    await view.waitForURL(/view\.html/);
    await expect.poll(() => browser.notificationIds()).not.toContain(id);
    return view;
  }

  it('clicking a notification opens the full view on that event (a summary: on the rules) and clears it', async () => {
    await signedInAtHead();
    const [event] = await record([sensitive('delete', 'click-me')]);
    const id = eventNotificationId(event!.seq);
    await expectNotifications([id]);
    const view = await clickOpens(id);
    const hash = new URLSearchParams(new URL(view.url()).hash.slice(1));
    expect(hash.get('q')).toBe('action:cordon,delete');
    expect(hash.get('id')).toBe(event!.id);
    await view.waitForSelector(`[data-detail-id="${event!.id}"]`);
    expect(await view.locator(`[data-detail-id="${event!.id}"]`).innerText()).toContain('click-me');
    await view.close();

    const burst = await record(Array.from({ length: 6 }, (_, i) => sensitive('delete', `summary-click-${i}`)));
    const summaryId = summaryNotificationId(burst[0]!.seq, burst.at(-1)!.seq);
    await expectNotifications([summaryId]);
    const summaryView = await clickOpens(summaryId);
    expect(decodeURIComponent(new URL(summaryView.url()).hash)).toBe('#q=action:cordon,delete');
    await summaryView.close();
  });

  it('options: rules are checked, saved and followed; the test notification appears', async () => {
    await signedInAtHead();
    const page = await browser.open('options.html', { width: 900, height: 1000 });
    await page.waitForSelector('[data-rules-query]');
    expect(await page.textContent('[data-rules-query]')).toBe('action:cordon,delete');
    expect(await page.isChecked('[data-notify-action="cordon"]')).toBe(true);
    expect(await page.isChecked('[data-notify-action="login"]')).toBe(false);

    // Logins by carol only, on top of the defaults.
    await page.check('[data-notify-action="login"]');
    await page.fill('#notify-query', 'action:stop');
    await expect.poll(() => page.textContent('[data-rules-error]')).toContain('chooses actions');
    await page.fill('#notify-query', 'username:carol');
    expect(await page.$('[data-rules-error]')).toBeNull();
    expect(await page.textContent('[data-rules-query]')).toBe('action:cordon,delete,login username:carol');
    // And only what happened: her failed logins do not notify.
    expect(await page.isChecked('[data-notify-refusals]')).toBe(true);
    await page.uncheck('[data-notify-refusals]');
    await page.click('#notify-save');
    await page.waitForSelector('#notify-note.ok');
    expect((await stored()).notifyRules).toEqual({ actions: ['cordon', 'delete', 'login'], resourceTypes: [], query: 'username:carol', refusals: false });
    await waitFor(async () => (await worker().evaluate(() => vigilTest.liveKey()))?.endsWith('username:carol'), 'the socket to follow the rules');

    const [bob, carolFailed, carol] = await record([
      { action: 'login', resourceType: 'user', resourceTarget: 'bob@example.com', actor: { username: 'bob' } },
      { action: 'login', resourceType: 'user', resourceTarget: 'carol', actor: { username: 'carol' }, statusCode: 401 },
      { action: 'login', resourceType: 'user', resourceTarget: 'carol', actor: { username: 'carol' }, statusCode: 200 },
    ]);
    await expectNotifications([eventNotificationId(carol!.seq)]);
    expect((await created())[eventNotificationId(carol!.seq)]!.title).toBe('carol logged in');
    expect(await browser.notificationIds()).not.toContain(eventNotificationId(carolFailed!.seq));
    expect(await browser.notificationIds()).not.toContain(eventNotificationId(bob!.seq));

    await page.click('#notify-test');
    await page.waitForSelector('#notify-note.ok');
    await waitFor(async () => (await browser.notificationIds()).includes('vigil-test'), 'the test notification');

    // No actions: notifications are off, and say so.
    await page.click('button:has-text("Defaults")');
    for (const action of ['cordon', 'delete']) await page.uncheck(`[data-notify-action="${action}"]`);
    await page.waitForSelector('[data-rules-off]');
    await page.click('button:has-text("Defaults")');
    await page.click('#notify-save');
    await expect.poll(async () => (await stored()).notifyRules).toEqual(DEFAULT_RULES);
    await page.close();
  });
});
