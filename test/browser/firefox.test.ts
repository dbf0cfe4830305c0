// The extension's core scenarios in real Firefox (Debian's firefox-esr over WebDriver
// BiDi): log in from the options page, the popup lists the trail as events.list does, and
// a cordon recorded through the typed client reaches the background over the live socket
// (an http:// server: Firefox's default page policy would have upgraded ws:// to wss://),
// raising a desktop notification and counting on the badge.
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventNotificationId } from '../../extension/src/notifyPlan.js';
import { buildTestExtension, type BuiltExtension } from '../support/browser.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { firefoxAvailable, launchFirefoxWithExtension, type FirefoxExtensionBrowser } from '../support/firefox.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';
import { seed } from './seed.js';

const AUDITOR = { username: 'fiona', password: 'firefox-auditor-pass', email: 'fiona@example.com' };
const POPUP = { width: 500, height: 600 };

describe.skipIf(!firefoxAvailable)('the extension in Firefox', () => {
  let database: TestDatabase;
  let server: TestServer;
  let built: BuiltExtension;
  let firefox: FirefoxExtensionBrowser;

  beforeAll(async () => {
    // The default 30 s poll: an alert within seconds can only have come over the live socket.
    [database, built] = await Promise.all([createPglite(), buildTestExtension(['chrome', 'firefox'])]);
    server = await startTestServer(database.db);
    await seed(server.client, 40);
    await server.client.users.create.mutate({ ...AUDITOR, role: 'auditor' });
    firefox = await launchFirefoxWithExtension(`${built.base}/firefox`);
  });
  afterAll(async () => {
    await firefox?.close();
    await server?.close();
    await database?.destroy();
    await built?.remove();
  });

  const rowIds = (page: Page) => page.$$eval('main.list [data-id]', (els) => els.map((e) => (e as HTMLElement).dataset.id!));

  it('options: log in with a username and password', async () => {
    await firefox.setStorage({ serverUrl: server.url });
    const page = await firefox.open('options.html', { width: 900, height: 760 });
    await page.waitForSelector('[data-status="loggedOut"]');
    await page.type('#username', AUDITOR.username);
    await page.type('#password', AUDITOR.password);
    await page.click('button::-p-text(Log in)');
    await page.waitForSelector('[data-session]');
    expect(await page.$eval('[data-username]', (e) => e.textContent)).toBe(AUDITOR.username);
    expect(await page.$eval('[data-role]', (e) => e.textContent)).toBe('auditor');
    const stored = await firefox.getStorage();
    expect(stored.session).toMatchObject({ kind: 'user', user: { username: AUDITOR.username, role: 'auditor' } });
    await page.close();
  });

  it('the popup lists the newest events as events.list does', async () => {
    const page = await firefox.open('popup.html', POPUP);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('main.list')?.dataset.state === 'ready', { timeout: 15_000 });
    const expected = await server.client.events.list.query({ limit: 50 });
    expect(await rowIds(page)).toEqual(expected.items.map((e) => e.id));
    await page.close();
  });

  it('a cordon recorded through the typed client raises a notification over the live socket and counts on the badge', async () => {
    await eventually(async () => Boolean((await firefox.getStorage()).notifyCursor), 'the first poll to store a cursor');
    await eventually(async () => Boolean(await firefox.background<string | null>('liveKey')), 'the live socket');
    const event = await server.client.events.record.mutate({
      action: 'cordon',
      resourceType: 'workspace_provider',
      resourceTarget: 'eu-west-ff',
      actor: { username: 'audra' },
    });
    const id = eventNotificationId(event.seq);
    // Well inside the 30 s poll: delivered live.
    await eventually(async () => (await firefox.notificationIds()).includes(id), `notification ${id}`, 10_000);
    const created = await firefox.background<Record<string, { title: string }>>('created');
    expect(created[id]!.title).toContain('eu-west-ff');
    await eventually(async () => (await firefox.badgeText()) === '1', 'the badge to count 1', 10_000);
  });
});
