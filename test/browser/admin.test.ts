// The full view's Administration section in real Chromium against a real server: a site
// manager creates a user, changes their role, resets their password and disables them,
// creates a service token (the secret shown once works against the server) and revokes it
// (it no longer does); each change is an audit event by that site manager, and the
// server's refusals are shown as it words them. Members and auditors see no such section.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { axeFindings, describeFindings } from '../support/axe.js';
import { chromiumAvailable } from '../support/browser.js';
import { useExtensionFixture } from '../support/extensionFixture.js';

const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/screenshots');
const MANAGER = { username: 'sam', password: 'sam manages vigil' };
const AUDITOR = { username: 'audra', password: 'audra reads the log' };

describe.skipIf(!chromiumAvailable)('administration in the full view', () => {
  const fixture = useExtensionFixture({
    prepare: async (server) => {
      await fixture.server.client.users.create.mutate({ ...MANAGER, role: 'site_manager' });
      await fixture.server.client.users.create.mutate({ ...AUDITOR, role: 'auditor' });
      await mkdir(SCREENSHOTS, { recursive: true });
    },
  });

  const anonymous = () => createVigilClient({ url: fixture.server.url, retry: { attempts: 0 } });
  const logIn = (username: string, password: string) => anonymous().auth.login.mutate({ username, password });

  /** The extension signed in as `who` (through auth.login, as the options page does). */
  async function signInAs(who: { username: string; password: string }) {
    const session = await logIn(who.username, who.password);
    await fixture.browser.setStorage({ serverUrl: fixture.server.url, token: session.token, session: { kind: 'user', user: session.user } });
  }

  const userRow = (page: Page, username: string) => page.locator(`[data-admin="users"] tr[data-user="${username}"]`);
  const serverUser = async (username: string) => (await fixture.server.client.users.list.query()).find((u) => u.username === username);
  const secretShown = async (page: Page) => (await page.locator('[data-secret]').textContent())!.trim();

  it('a site manager manages users and service tokens there, each change audited', async () => {
    await signInAs(MANAGER);
    const page = await fixture.browser.open('view.html');
    await page.click('[data-section-tab="admin"]');
    await userRow(page, MANAGER.username).waitFor();
    expect(await page.locator('main.list').isVisible()).toBe(false);

    // Create: a blank password is generated and shown once; it logs the new user in.
    await page.fill('[data-form="create-user"] input[name="username"]', 'olga');
    await page.fill('[data-form="create-user"] input[name="email"]', 'olga@example.com');
    await page.selectOption('[data-form="create-user"] select[name="role"]', 'auditor');
    await page.click('[data-form="create-user"] button[type="submit"]');
    await userRow(page, 'olga').waitFor();
    const first = await secretShown(page);
    expect((await logIn('olga', first)).user).toMatchObject({ username: 'olga', role: 'auditor', email: 'olga@example.com' });
    const olgaId = (await serverUser('olga'))!.id;

    // Bad input: the server's message names the field, and nothing is created.
    await page.fill('[data-form="create-user"] input[name="username"]', 'no spaces allowed');
    await page.click('[data-form="create-user"] button[type="submit"]');
    await expect.poll(() => page.textContent('[data-outcome="refused"]')).toContain('The server refused: username: letters, digits');
    expect(await serverUser('no spaces allowed')).toBeUndefined();

    // Role.
    await userRow(page, 'olga').locator('select[data-field="role"]').selectOption('member');
    await expect.poll(async () => (await serverUser('olga'))?.role).toBe('member');
    await expect.poll(() => page.textContent('[data-outcome="ok"]')).toContain('olga is now member');

    // Password reset: the new one, shown once, works; the old one no longer does.
    await userRow(page, 'olga').locator('[data-action="reset-password"]').click();
    await expect.poll(() => secretShown(page).catch(() => first)).not.toBe(first);
    const second = await secretShown(page);
    await expect(logIn('olga', first)).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const olgaSession = await logIn('olga', second);

    // Disable: her session and her password stop working.
    await userRow(page, 'olga').locator('[data-action="disable"]').click();
    await expect.poll(() => userRow(page, 'olga').locator('[data-field="status"]').textContent()).toBe('disabled');
    expect((await serverUser('olga'))!.disabled).toBe(true);
    await expect(createVigilClient({ url: fixture.server.url, token: olgaSession.token, retry: { attempts: 0 } }).auth.me.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    await expect(logIn('olga', second)).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });

    // The server's refusal, in its words: the last active site manager keeps the role.
    await userRow(page, MANAGER.username).locator('select[data-field="role"]').selectOption('auditor');
    await expect.poll(() => page.textContent('[data-outcome="refused"]')).toBe('The server refused: id: sam is the last active site manager');
    await expect.poll(() => userRow(page, MANAGER.username).locator('select[data-field="role"]').inputValue()).toBe('site_manager');
    expect((await serverUser(MANAGER.username))!.role).toBe('site_manager');

    // A service token: its secret, shown once, records and reads events.
    await page.fill('[data-form="create-token"] input[name="name"]', 'ingest-bot');
    await page.check('[data-form="create-token"] input[name="read"]');
    await page.fill('[data-form="create-token"] input[name="days"]', '30');
    await page.click('[data-form="create-token"] button[type="submit"]');
    const secret = await page.locator('[data-secret]').textContent().then((t) => t!.trim());
    expect(secret).toMatch(/^vgl_/);
    expect(await page.locator('.once-secret button', { hasText: 'Copy' }).count()).toBe(1);
    const bot = createVigilClient({ url: fixture.server.url, token: secret, retry: { attempts: 0 } });
    const recorded = await bot.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'bot-ws-1' });
    expect((await bot.events.get.query({ id: recorded.id })).resourceTarget).toBe('bot-ws-1');
    const token = (await fixture.server.client.tokens.list.query()).find((t) => t.name === 'ingest-bot')!;
    expect(token.scopes).toEqual(['events:write', 'events:read']);
    const row = page.locator(`[data-admin="tokens"] tr[data-token="${token.id}"]`);
    await expect.poll(() => row.locator('[data-field="status"]').textContent()).toBe('active');

    // Revoke (confirmed): the token no longer works.
    await row.locator('[data-action="revoke"]').click();
    await row.locator('[data-action="confirm-revoke"]').click();
    await expect.poll(() => row.locator('[data-field="status"]').textContent()).toBe('revoked');
    await expect(bot.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'bot-ws-2' })).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    expect(await page.locator('[data-secret]').count()).toBe(1); // until dismissed
    await page.click('.once-secret button:has-text("Done")');
    expect(await page.locator('[data-secret]').count()).toBe(0);

    // Every change, on record as sam's, secrets never in it.
    const { items } = await fixture.server.client.events.list.query({ q: `username:${MANAGER.username} action:create,write resource_type:user,token`, limit: 50 });
    const changes = items.map((e) => ({ action: e.action, target: e.resourceTarget, diff: e.diff })).reverse();
    expect(changes).toEqual([
      { action: 'create', target: 'olga', diff: { username: { new: 'olga' }, email: { new: 'olga@example.com' }, role: { new: 'auditor' }, password: { secret: true } } },
      { action: 'write', target: 'olga', diff: { role: { old: 'auditor', new: 'member' } } },
      { action: 'write', target: 'olga', diff: { password: { secret: true } } },
      { action: 'write', target: 'olga', diff: { disabled: { old: false, new: true } } },
      { action: 'create', target: 'ingest-bot', diff: expect.objectContaining({ name: { new: 'ingest-bot' }, scopes: { new: ['events:write', 'events:read'] }, token: { secret: true } }) },
      { action: 'write', target: 'ingest-bot', diff: { revoked: { old: false, new: true } } },
    ]);
    expect(items.every((e) => e.actor?.username === MANAGER.username)).toBe(true);
    expect(JSON.stringify(items)).not.toContain(secret);
    expect(JSON.stringify(items)).not.toContain(second);
    expect(items.find((e) => e.resourceTarget === 'olga')!.resourceId).toBe(olgaId);

    await page.screenshot({ path: path.join(SCREENSHOTS, 'full-view-admin.png'), fullPage: true });
    expect(describeFindings(await axeFindings(page))).toEqual([]);

    // Enable again, for the record.
    await userRow(page, 'olga').locator('[data-action="enable"]').click();
    await expect.poll(async () => (await serverUser('olga'))?.disabled).toBe(false);
    await page.close();
  });

  it('auditors see no Administration section, and the server refuses them anyway', async () => {
    await signInAs(AUDITOR);
    const page = await fixture.browser.open('view.html');
    await page.locator('main.list').waitFor();
    await expect.poll(() => page.locator('main.list').getAttribute('data-state')).not.toBe('loading');
    expect(await page.locator('[data-section-tab]').count()).toBe(0);
    expect(await page.locator('[data-section="admin"]').count()).toBe(0);
    const session = await logIn(AUDITOR.username, AUDITOR.password);
    const auditor = createVigilClient({ url: fixture.server.url, token: session.token, retry: { attempts: 0 } });
    await expect(auditor.users.list.query()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await expect(auditor.tokens.create.mutate({ name: 'x', scopes: ['events:write'] })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await page.close();
  });
});
