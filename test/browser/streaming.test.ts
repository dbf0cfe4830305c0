// The options page's "Streaming" section in real Chromium: a site manager logged in through
// the page adds a webhook sink to a receiver run by the test, tests it, sees its delivered
// count rise and its lag fall to nothing as events are recorded, edits its filter, sees the
// error once the receiver is gone, and deletes it. Other roles do not see the section.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { axeFindings, describeFindings } from '../support/axe.js';
import { chromiumAvailable } from '../support/browser.js';
import { useExtensionFixture } from '../support/extensionFixture.js';
import { startHttpReceiver, type HttpReceiver } from '../support/sinkReceivers.js';
import { eventually } from '../support/waiting.js';

const MANAGER = { username: 'sam', password: 'streams-the-trail', email: 'sam@example.com' };
const AUDITOR = { username: 'ava', password: 'reads-the-trail-only', email: 'ava@example.com' };
/** Fast timings: a failure shows within a second. */
const DELIVERY = { pollMs: 100, flushMs: 100, leaseMs: 3000, timeoutMs: 1500, backoff: { initialMs: 100, maxMs: 500 } };

describe.skipIf(!chromiumAvailable)('the options page streaming section, in Chromium', () => {
  const fixture = useExtensionFixture({
    server: () => ({ sinkDelivery: DELIVERY }),
    prepare: async (server) => {
      await fixture.server.client.users.create.mutate({ ...MANAGER, role: 'site_manager' });
      await fixture.server.client.users.create.mutate({ ...AUDITOR, role: 'auditor' });
    },
  });
  let receiver: HttpReceiver;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver?.close().catch(() => {});
  });

  const record = async (prefix: string, n: number) =>
    (
      await fixture.server.client.events.recordBatch.mutate({
        events: Array.from({ length: n }, (_, i) => ({ action: 'delete' as const, resourceType: 'workspace' as const, resourceTarget: `${prefix}-${i}`, actor: { username: 'ops' } })),
      })
    ).events.map((e) => e.id);
  const delivered = () => receiver.accepted().flatMap((r) => r.body.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));

  it('a site manager adds, tests, watches, edits and deletes a webhook sink', async () => {
    await fixture.browser.setStorage({ serverUrl: fixture.server.url });
    const page = await fixture.browser.open('options.html', { width: 900, height: 900 });
    await page.waitForSelector('[data-status="loggedOut"]');
    expect(await page.$('[data-streaming]')).toBeNull();
    await page.fill('#username', MANAGER.username);
    await page.fill('#password', MANAGER.password);
    await page.click('button:has-text("Log in")');
    await page.waitForSelector('[data-sinks-none]');

    // Add: a bad URL is refused naming the field, then the good one is created.
    await page.click('[data-sink-add]');
    await page.fill('#sink-name', 'siem');
    await page.selectOption('#sink-kind', 'webhook');
    await page.fill('#sink-url', 'tcp://127.0.0.1:9');
    await page.fill('#sink-secret', 'whsec-browser-test');
    await page.click('[data-sink-save]');
    await expect.poll(() => page.textContent('#streaming-note')).toMatch(/^The server refused: url: /);
    await page.fill('#sink-url', `${receiver.url}/hook`);
    await page.click('[data-sink-save]');
    await page.waitForSelector('[data-sink="siem"]');
    expect(await page.textContent('#streaming-note')).toContain('Sink siem added');
    const sink = page.locator('[data-sink="siem"]');
    // The section as shown (a sink, the add button) passes axe-core's checks.
    expect(describeFindings(await axeFindings(page, { selector: '[data-streaming]', impacts: ['minor', 'moderate', 'serious', 'critical'] }))).toEqual([]);
    expect(await sink.locator('[data-sink-kind]').textContent()).toBe('webhook');
    expect(await sink.locator('[data-sink-url]').textContent()).toBe(`${receiver.url}/hook`);
    expect(await sink.locator('[data-sink-format]').textContent()).toBe('vigil');
    expect(await sink.locator('[data-sink-filter]').textContent()).toBe('all events');
    expect(await sink.locator('[data-sink-last-delivery]').textContent()).toBe('never');
    const [listed] = await fixture.server.client.sinks.list.query();
    expect(listed).toMatchObject({ name: 'siem', kind: 'webhook', hasSecret: true });

    // Test: the receiver's answer is shown.
    await sink.locator('[data-sink-test]').click();
    await expect.poll(() => page.textContent('#streaming-note')).toMatch(/^Test message to siem: HTTP 200 \(\d+ ms\)\.$/);

    // Events recorded: the delivered count rises, the lag falls to nothing, without a reload.
    const ids = await record('browser', 25);
    await eventually(async () => Number(await sink.locator('[data-sink-delivered]').getAttribute('data-sink-delivered')) >= 25, 'the delivered count to rise', 20_000);
    await eventually(async () => (await sink.locator('[data-sink-lag]').getAttribute('data-sink-lag')) === '0', 'the lag to fall to 0', 20_000);
    expect(await sink.locator('[data-sink-lag]').textContent()).toBe('none');
    expect(await sink.locator('[data-sink-last-delivery]').textContent()).not.toBe('never');
    expect(delivered()).toEqual(expect.arrayContaining(ids));

    // Edit: a filter; the secret left empty keeps the stored one.
    await sink.locator('[data-sink-edit]').click();
    await page.fill('#sink-q', 'action:delete');
    await page.click('[data-sink-save]');
    await expect.poll(() => sink.locator('[data-sink-filter]').textContent()).toBe('action:delete');
    expect(await fixture.server.client.sinks.list.query()).toMatchObject([{ name: 'siem', q: 'action:delete', hasSecret: true }]);

    // The receiver gone: the error and the lag show.
    await receiver.close();
    await record('unreachable', 3);
    await eventually(async () => ((await sink.locator('[data-sink-last-error]').getAttribute('data-sink-last-error')) ?? '') !== '', 'the error to show', 20_000);
    expect(await sink.locator('[data-sink-last-error]').textContent()).toMatch(/ECONNREFUSED|fetch failed/);
    expect(await sink.getAttribute('data-sink-state')).toBe('failing');
    expect(Number(await sink.locator('[data-sink-lag]').getAttribute('data-sink-lag'))).toBeGreaterThanOrEqual(3);

    // Delete, confirmed.
    await sink.locator('[data-sink-delete]').click();
    await page.click('[data-sink-confirm-delete]');
    await page.waitForSelector('[data-sinks-none]');
    expect(await page.textContent('#streaming-note')).toBe('Sink siem deleted.');
    expect(await fixture.server.client.sinks.list.query()).toEqual([]);
    await page.close();

    // An auditor does not see the section.
    const login = await createVigilClient({ url: fixture.server.url }).auth.login.mutate({ username: AUDITOR.username, password: AUDITOR.password });
    await fixture.browser.setStorage({ serverUrl: fixture.server.url, token: login.token, session: { kind: 'user', user: login.user } });
    const other = await fixture.browser.open('options.html', { width: 900, height: 900 });
    await other.waitForSelector('[data-status="ready"], [data-status="empty"]');
    expect(await other.$('[data-streaming]')).toBeNull();
    await other.close();
  });
});
