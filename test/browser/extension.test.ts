// The extension in real Chromium against a real server over PGlite with a seeded audit
// trail: the popup, its chips and search box against events.list, infinite scroll, the
// query error, every connection state, the full view, the options page, screenshots.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { ACTION_GROUPS } from '../../extension/src/present.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { buildTestExtension, chromiumAvailable, launchWithExtension, type BuiltExtension, type ExtensionBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { seed } from './seed.js';

// Every run saves its screenshots; VIGIL_SCREENSHOTS=1 saves them where the README shows
// them (docs/screenshots, committed), otherwise under test-results/ (ignored), so a test
// run does not change tracked files.
const SCREENSHOTS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  process.env.VIGIL_SCREENSHOTS === '1' ? '../../docs/screenshots' : '../../test-results/screenshots',
);
const POPUP = { width: 500, height: 600 };
const SEEDED = 330;
const AUDITOR = { username: 'audra', password: 'audit-all-the-things', email: 'audra@example.com' };
const MEMBER = { username: 'mia', password: 'just-a-member-here' };

describe.skipIf(!chromiumAvailable)('the extension in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let built: BuiltExtension;
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    [database, built] = await Promise.all([createPglite(), buildTestExtension()]);
    server = await startTestServer(database.db);
    await seed(server.client, SEEDED);
    await server.client.users.create.mutate({ ...AUDITOR, role: 'auditor' });
    await server.client.users.create.mutate({ ...MEMBER, role: 'member' });
    browser = await launchWithExtension(built.dir);
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.destroy();
    await built?.remove();
  });

  /** Signed in with the server's admin token (a site manager). */
  const signedIn = (extra: Record<string, unknown> = {}) =>
    browser.setStorage({
      serverUrl: server.url,
      token: server.token,
      session: { kind: 'user', user: { id: null, username: 'bootstrap-token', email: null, role: 'site_manager' } },
      ...extra,
    });

  const totalEvents = async () => (await server.client.events.count.query({})).value;

  async function listSettled(page: Page, q: string): Promise<string> {
    const handle = await page.waitForFunction(
      (q) => {
        const main = document.querySelector<HTMLElement>('main.list');
        return main && main.dataset.listQuery === q && main.dataset.state !== 'loading' ? main.dataset.state : null;
      },
      q,
      { timeout: 10_000 },
    );
    return (await handle.jsonValue()) as string;
  }

  const rowIds = (page: Page) => page.$$eval('main.list [data-id]', (els) => els.map((e) => (e as HTMLElement).dataset.id!));

  /** The popup shows exactly what events.list answers for the same query. */
  async function expectSameAsServer(page: Page, q: string, limit = 50) {
    const state = await listSettled(page, q);
    const expected = await server.client.events.list.query({ ...(q ? { q } : {}), limit });
    expect(state, `state for ${JSON.stringify(q)}`).toBe(expected.items.length ? 'ready' : 'empty');
    expect(await rowIds(page), `rows for ${JSON.stringify(q)}`).toEqual(expected.items.map((e) => e.id));
    return expected;
  }

  async function search(page: Page, q: string) {
    await page.fill('#q', q);
    await page.press('#q', 'Enter');
  }

  const queryText = (page: Page) => page.inputValue('#q');

  it('the popup opens on the newest events', async () => {
    await signedIn();
    const page = await browser.open('popup.html', POPUP);
    const expected = await expectSameAsServer(page, '');
    const first = expected.items[0]!;
    const firstRow = page.locator(`[data-id="${first.id}"]`);
    await expect.poll(() => firstRow.textContent()).toContain(first.resourceTarget);
    expect(await firstRow.textContent()).toContain(first.actor?.username ?? 'system');
    expect(await firstRow.locator('time').textContent()).toMatch(/just now|s ago|m ago/);
    // The count follows the rows (events.count, asked for separately).
    const total = await totalEvents();
    await expect.poll(() => page.textContent('[data-count]')).toBe(`${total} events`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'popup-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'popup-dark.png') });
    await page.close();
  });

  it('the list shows its rows without waiting for the count, and the count when it arrives', async () => {
    await signedIn({ lastQuery: '' });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const countCalls = '**/trpc/events.count**';
    await browser.context.route(countCalls, async (route) => {
      asked++;
      await held;
      await route.continue();
    });
    try {
      const page = await browser.open('popup.html', POPUP);
      await expectSameAsServer(page, '');
      await expect.poll(() => asked).toBeGreaterThan(0);
      expect(await page.textContent('[data-count]')).toBe('');
      release();
      const total = await totalEvents();
      await expect.poll(() => page.textContent('[data-count]')).toBe(`${total} events`);
      await page.close();
    } finally {
      release();
      await browser.context.unroute(countCalls);
    }
  });

  it('every action chip, group chip and time chip filters as events.list does', async () => {
    await signedIn({ lastQuery: '' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    const chips = [
      ...AUDIT_ACTIONS.map((a) => [`action:${a}`, `action:${a}`]),
      ...Object.entries(ACTION_GROUPS).map(([g, actions]) => [`group:${g}`, `action:${actions.join(',')}`]),
      ...['15m', '1h', '24h', '7d'].map((r) => [`since:${r}`, `since:${r}`]),
    ];
    for (const [chip, q] of chips) {
      await page.click(`[data-chip="${chip}"]`);
      await expect.poll(() => queryText(page)).toBe(q);
      expect(await page.getAttribute(`[data-chip="${chip}"]`, 'aria-pressed')).toBe('true');
      await expectSameAsServer(page, q!);
      await page.click(`[data-chip="${chip}"]`); // off again
      await expect.poll(() => queryText(page)).toBe('');
      await listSettled(page, '');
    }
    // Chips combine into one query.
    await page.click('[data-chip="action:delete"]');
    await page.click('[data-chip="action:cordon"]');
    await page.click('[data-chip="since:7d"]');
    await expect.poll(() => queryText(page)).toBe('action:delete,cordon since:7d');
    await expectSameAsServer(page, 'action:delete,cordon since:7d');
    await page.close();
  });

  it('the resource type, user and target filters match events.list', async () => {
    await signedIn({ lastQuery: '' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    await page.click('[data-more-filters] summary');
    for (const type of RESOURCE_TYPES) {
      await page.selectOption('#p-type', type);
      await expect.poll(() => queryText(page)).toBe(`resource_type:${type}`);
      await expectSameAsServer(page, `resource_type:${type}`);
    }
    await page.selectOption('#p-type', '');
    await listSettled(page, '');

    await page.fill('#p-user', 'carol');
    await page.press('#p-user', 'Enter');
    await expect.poll(() => queryText(page)).toBe('username:carol');
    const carol = await expectSameAsServer(page, 'username:carol');
    expect(carol.items.every((e) => e.actor?.username === 'carol')).toBe(true);

    await page.fill('#p-target', 'carol/dev-1');
    await page.press('#p-target', 'Enter');
    await expect.poll(() => queryText(page)).toBe('username:carol resource_target:carol/dev-1');
    await expectSameAsServer(page, 'username:carol resource_target:carol/dev-1');

    await page.fill('#p-user', '');
    await page.press('#p-user', 'Enter');
    await page.fill('#p-target', 'audit export');
    await page.press('#p-target', 'Enter');
    await expect.poll(() => queryText(page)).toBe('resource_target:"audit export"');
    await expectSameAsServer(page, 'resource_target:"audit export"');

    // Several targets: the field shows them as a list, and an edited list stays a list.
    await page.fill('#p-target', 'carol/dev-1,audit export');
    await page.press('#p-target', 'Enter');
    await expect.poll(() => queryText(page)).toBe('resource_target:carol/dev-1,"audit export"');
    await page.fill('#p-target', 'carol/dev-1,bob/dev-2');
    await page.press('#p-target', 'Enter');
    await expect.poll(() => queryText(page)).toBe('resource_target:carol/dev-1,bob/dev-2');
    await expectSameAsServer(page, 'resource_target:carol/dev-1,bob/dev-2');
    await page.close();
  });

  it('the search box filters as events.list does, completes keys and values, and is remembered', async () => {
    await signedIn({ lastQuery: '' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    for (const q of ['action:login,ssh -username:alice', 'workspace since:24h', 'email:bob@example.com -action:login', 'request_id:req-000010']) {
      await search(page, q);
      await expectSameAsServer(page, q);
    }
    // The chips follow the typed query.
    await search(page, 'action:stop,cordon');
    await listSettled(page, 'action:stop,cordon');
    expect(await page.getAttribute('[data-chip="action:stop"]', 'aria-pressed')).toBe('true');
    expect(await page.getAttribute('[data-chip="action:delete"]', 'aria-pressed')).toBe('false');

    // Completion: a key, then a value, by keyboard.
    await page.fill('#q', '');
    await page.type('#q', 'act');
    await expect.poll(() => page.locator('#q-suggestions [role=option]').allTextContents()).toEqual([expect.stringContaining('action:')]);
    await page.press('#q', 'ArrowDown');
    await page.press('#q', 'Enter');
    await expect.poll(() => queryText(page)).toBe('action:');
    await page.type('#q', 'de');
    await expect.poll(() => page.locator('#q-suggestions .s-label').allTextContents()).toEqual(['delete']);
    await page.press('#q', 'ArrowDown');
    await page.press('#q', 'Enter');
    await expect.poll(() => queryText(page)).toBe('action:delete');
    await page.press('#q', 'Enter');
    await expectSameAsServer(page, 'action:delete');
    await page.close();

    // Reopening the popup starts from the last query.
    const again = await browser.open('popup.html', POPUP);
    await expect.poll(() => queryText(again)).toBe('action:delete');
    await expectSameAsServer(again, 'action:delete');
    await again.close();
  });

  it('a bad query shows the parser message under the box, and no results, count or chips of another query', async () => {
    await signedIn({ lastQuery: 'action:create' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, 'action:create');
    for (const bad of ['action:explode', 'since:24h date_from:2026-02-30', 'resource_target:"unclosed', 'colour:red']) {
      await search(page, bad);
      const parsed = parseAuditQuery(bad);
      if (parsed.ok) throw new Error(`${bad} should not parse`);
      await expect.poll(() => page.textContent('[data-query-error]')).toBe(formatQueryError(parsed.error));
      expect(await page.getAttribute('#q', 'aria-invalid')).toBe('true');
      expect(await listSettled(page, bad)).toBe('queryError');
      expect(await rowIds(page)).toEqual([]);
      expect(await page.textContent('[data-count]')).toBe('');
      expect(await page.getAttribute('[data-chip="action:create"]', 'aria-pressed')).toBe('false');
    }
    await page.close();
  });

  it('infinite scroll reaches an event 200 rows down, in order', async () => {
    await signedIn({ lastQuery: '' });
    const firstPages = await server.client.events.list.query({ limit: 200 });
    const next = await server.client.events.list.query({ limit: 50, cursor: firstPages.nextCursor! });
    const expected = [...firstPages.items, ...next.items].map((e) => e.id);
    const target = expected[200]!;
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    const row = page.locator(`[data-id="${target}"]`);
    for (let i = 0; i < 60 && !(await row.count()); i++) {
      await page.mouse.move(250, 400);
      await page.mouse.wheel(0, 1500);
      await page.waitForTimeout(100);
    }
    await row.scrollIntoViewIfNeeded();
    expect(await row.isVisible()).toBe(true);
    const ids = await rowIds(page);
    expect(ids.length).toBeGreaterThan(200);
    expect(ids).toEqual(expected.slice(0, ids.length));
    await page.close();
  });

  it('a row expands its diff, secrets masked', async () => {
    await signedIn({ lastQuery: 'action:write' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, 'action:write');
    const row = page.locator('li.event').first();
    await row.locator('.diff-toggle').click();
    const table = row.locator('table.diff');
    await expect.poll(() => table.isVisible()).toBe(true);
    const text = await table.innerText();
    expect(text).toContain('api_key');
    expect(text).toContain('******');
    expect(text).not.toContain('sk-');
    expect(text).toMatch(/image\s+ubuntu:22\.04\s+→\s+ubuntu:24\.04/);
    expect(await row.locator('.diff-toggle').getAttribute('aria-expanded')).toBe('true');
    await page.close();
  });

  it('names the states before and around the data: not configured, logged out, bad token, offline', async () => {
    await browser.setStorage({});
    let page = await browser.open('popup.html', POPUP);
    await page.waitForSelector('[data-state="notConfigured"] .notice');
    expect(await page.textContent('.notice-title')).toBe('Not set up yet');
    await page.close();

    await browser.setStorage({ serverUrl: server.url });
    page = await browser.open('popup.html', POPUP);
    await page.waitForSelector('[data-state="loggedOut"] .notice');
    await page.close();

    await browser.setStorage({ serverUrl: server.url, token: 'vgl_not-a-real-token' });
    page = await browser.open('popup.html', POPUP);
    await page.waitForSelector('[data-state="badToken"] .notice');
    expect(await page.textContent('.notice-title')).toBe('Session expired or token rejected');
    await expect.poll(() => browser.badgeText()).toBe('!');
    await page.close();

    await signedIn({ lastQuery: '' });
    page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    await browser.context.setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('[data-state="offline"] .notice');
    } finally {
      await browser.context.setOffline(false);
    }
    await page.close();
  });

  it('a stopped server shows the unreachable state', async () => {
    const doomed = await startTestServer(database.db);
    await browser.setStorage({ serverUrl: doomed.url, token: doomed.token, session: { kind: 'service' } });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, '');
    await doomed.close();
    await page.reload();
    await page.waitForSelector('[data-state="unreachable"] .notice');
    expect(await page.textContent('.notice-title')).toBe('Server unreachable');
    expect(await page.textContent('.notice-message')).toContain(doomed.url);
    await expect.poll(() => browser.badgeText()).toBe('?');
    await page.close();
  });

  it('the full view: same query from the popup link, table, detail pane, timeline brush, deep link', async () => {
    await signedIn({ lastQuery: 'action:delete,write' });
    const popup = await browser.open('popup.html', POPUP);
    await listSettled(popup, 'action:delete,write');
    const [view] = await Promise.all([browser.context.waitForEvent('page'), popup.click('[data-full-view]')]);
    await view.setViewportSize({ width: 1280, height: 800 });
    await view.waitForURL(/view\.html#q=/);
    expect(decodeURIComponent(new URL(view.url()).hash)).toBe('#q=action:delete,write');
    await expectSameAsServer(view, 'action:delete,write', 100);

    // Detail pane with every field.
    const first = (await server.client.events.list.query({ q: 'action:delete,write', limit: 1 })).items[0]!;
    await view.click(`tr[data-id="${first.id}"]`);
    const detail = view.locator(`[data-detail-id="${first.id}"]`);
    await expect.poll(() => detail.isVisible()).toBe(true);
    const detailText = await detail.innerText();
    for (const value of [first.id, first.requestId!, first.ip!, first.resourceId!, first.userAgent!]) expect(detailText).toContain(value);
    expect(view.url()).toContain(`id=${first.id}`);
    await view.waitForSelector('[data-stats-query="action:delete,write"] .timeline-chart .bar');
    await view.screenshot({ path: path.join(SCREENSHOTS, 'full-view.png') });

    // Keyboard brush: the last three buckets, then Enter.
    await view.click('[data-chip="since:7d"]');
    await listSettled(view, 'action:delete,write since:7d');
    await view.waitForSelector('[data-stats-query="action:delete,write since:7d"] .timeline-chart .bar');
    await view.focus('.timeline-chart');
    await view.keyboard.press('ArrowLeft');
    await view.keyboard.press('Shift+ArrowLeft');
    await view.keyboard.press('Shift+ArrowLeft');
    await view.keyboard.press('Enter');
    await expect.poll(() => queryText(view)).toMatch(/^action:delete,write date_from:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await expectSameAsServer(view, await queryText(view), 100);

    // A deep link opens on its query and event.
    const link = await browser.open(`view.html#q=${encodeURIComponent('username:bob')}&id=${first.id}`, { width: 1280, height: 800 });
    await expectSameAsServer(link, 'username:bob', 100);
    await link.waitForSelector(`[data-detail-id="${first.id}"]`);
    await Promise.all([view.close(), link.close(), popup.isClosed() ? null : popup.close()]);
  });

  it('the full view exports the query as CSV, and the export is recorded', async () => {
    await signedIn({ lastQuery: '' });
    const view = await browser.open(`view.html#q=${encodeURIComponent('action:delete')}`, { width: 1280, height: 800 });
    await expectSameAsServer(view, 'action:delete', 100);
    const [download] = await Promise.all([view.waitForEvent('download'), view.click('[data-export="csv"]')]);
    const { readFile } = await import('node:fs/promises');
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trim().split('\n');
    const expected = (await server.client.events.list.query({ q: 'action:delete', limit: 200 })).items;
    expect(lines[0]).toMatch(/^seq,id,time,/);
    expect(lines.length - 1).toBe(expected.length);
    for (const e of expected) expect(csv).toContain(e.id);
    await expect.poll(() => view.textContent('[data-export-status]')).toBe('Export downloaded.');
    const [recorded] = (await server.client.events.list.query({ q: 'action:read resource_type:audit_log', limit: 1 })).items;
    expect(recorded!.metadata).toMatchObject({ query: 'action:delete', format: 'csv' });
    await view.close();
  });

  it('the popup exports NDJSON that verifies offline', async () => {
    await signedIn({ lastQuery: '' });
    const popup = await browser.open('popup.html', POPUP);
    await listSettled(popup, '');
    const [download] = await Promise.all([popup.waitForEvent('download'), popup.click('[data-export="ndjson"]')]);
    const { readFile } = await import('node:fs/promises');
    const { verifyExportLines } = await import('../../shared/verifyExport.js');
    const text = await readFile((await download.path())!, 'utf8');
    const report = await verifyExportLines(text.trimEnd().split('\n'));
    expect(report).toMatchObject({ ok: true, complete: true, eventsVerified: report.rows });
    expect(report.rows).toBeGreaterThan(300);
    await popup.close();
  });

  it('options: save the server, paste a token, see who it is, log out', async () => {
    await browser.setStorage({});
    const page = await browser.open('options.html', { width: 900, height: 760 });
    await page.waitForSelector('[data-status="notConfigured"]');
    await page.fill('#server', 'ftp://example.com');
    await page.click('button[type=submit]:has-text("Save")');
    await expect.poll(() => page.textContent('#server-note.error')).toBe('The address must start with http:// or https://');
    // The test build holds http://127.0.0.1/* already, so no prompt (headless cannot answer one).
    await page.fill('#server', `${server.url}/`);
    await page.click('button[type=submit]:has-text("Save")');
    await page.waitForSelector('#server-note.ok');
    await page.waitForSelector('[data-status="loggedOut"]');
    await expect.poll(async () => (await browser.getStorage()).serverUrl).toBe(server.url);
    expect(await page.inputValue('#server')).toBe(server.url);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'options.png'), fullPage: true });

    await page.fill('#token', 'vgl_wrong');
    await page.click('button:has-text("Use token")');
    await expect.poll(() => page.textContent('#token-note')).toBe('The server rejected this token.');

    await page.fill('#token', server.token);
    await page.click('button:has-text("Use token")');
    await page.waitForSelector('[data-session]');
    expect(await page.textContent('[data-username]')).toBe('bootstrap-token');
    expect(await page.textContent('[data-role]')).toBe('site manager');
    await page.waitForSelector('[data-status="ready"]');
    expect(await page.textContent('[data-status="ready"]')).toContain(`${await totalEvents()} events`);
    const stored = await browser.getStorage();
    expect(stored.token).toBe(server.token);

    await page.click('button:has-text("Log out")');
    await page.waitForSelector('[data-status="loggedOut"]');
    expect((await browser.getStorage()).token).toBeUndefined();
    await page.close();
  });

  async function optionsLogin(who: { username: string; password: string }) {
    await browser.setStorage({ serverUrl: server.url });
    const page = await browser.open('options.html', { width: 900, height: 760 });
    await page.waitForSelector('[data-status="loggedOut"]');
    await page.fill('#username', who.username);
    await page.fill('#password', who.password);
    await page.click('button:has-text("Log in")');
    return page;
  }

  it('options: log in with a username and password, then log out (the session ends on the server)', async () => {
    const page = await optionsLogin({ username: AUDITOR.username, password: 'not-the-password' });
    await expect.poll(() => page.textContent('#login-note')).toBe('Wrong user name or password.');
    await page.fill('#password', AUDITOR.password);
    await page.click('button:has-text("Log in")');
    await page.waitForSelector('[data-session]');
    expect(await page.textContent('[data-username]')).toBe(AUDITOR.username);
    expect(await page.textContent('[data-role]')).toBe('auditor');
    await page.waitForSelector('[data-status="ready"]');
    const stored = await browser.getStorage();
    expect(stored.session).toMatchObject({ kind: 'user', user: { username: AUDITOR.username, role: 'auditor' } });
    const token = stored.token as string;
    expect(await createVigilClient({ url: server.url, token }).auth.me.query()).toMatchObject({ user: { username: AUDITOR.username } });

    // The auditor reads the audit log in the popup.
    const popup = await browser.open('popup.html', POPUP);
    await expectSameAsServer(popup, '');
    await popup.close();

    await page.click('button:has-text("Log out")');
    await page.waitForSelector('[data-status="loggedOut"]');
    await expect(createVigilClient({ url: server.url, token }).auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await page.close();
  });

  it("a member's login shows the forbidden state", async () => {
    const page = await optionsLogin(MEMBER);
    await page.waitForSelector('[data-session]');
    expect(await page.textContent('[data-role]')).toBe('member');
    await page.waitForSelector('[data-status="forbidden"] .notice');
    const popup = await browser.open('popup.html', POPUP);
    await popup.waitForSelector('[data-state="forbidden"] .notice');
    expect(await popup.textContent('.notice-title')).toBe('Not allowed to read the audit log');
    expect(await popup.textContent('.notice-message')).toContain(`logged in as ${MEMBER.username} with the member role`);
    await expect.poll(() => browser.badgeText()).toBe('!');
    await Promise.all([page.close(), popup.close()]);
  });

  it('every control of the popup is reachable by keyboard', async () => {
    await signedIn({ lastQuery: 'action:write' });
    const page = await browser.open('popup.html', POPUP);
    await listSettled(page, 'action:write');
    const reached = new Set<string>();
    const active = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return { id: el ? el.dataset.chip || el.id || el.className : '', toolbar: !!el?.closest('[role=toolbar]'), summary: el?.tagName === 'SUMMARY' };
      });
    // Tab between stops; arrow keys inside a toolbar; Enter opens "More filters".
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const now = await active();
      reached.add(now.id);
      if (now.summary) await page.keyboard.press('Enter');
      for (let j = 0; now.toolbar && j < 30; j++) {
        await page.keyboard.press('ArrowRight');
        reached.add((await active()).id);
      }
    }
    for (const control of ['q', 'p-type', 'p-user', 'p-target', 'action:delete', 'group:sensitive', 'since:7d', 'diff-toggle']) {
      expect([...reached], control).toContain(control);
    }
    await page.close();
  });
});
