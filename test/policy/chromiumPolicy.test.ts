// A fleet rollout in real Chromium: a policy file (as IT would deploy it) force-installs the
// CRX3 from the server's updates.xml and presets the server address, locked; the installed
// extension's options show that address read-only. Policy files affect every Chromium on
// the machine, so this file runs alone (its own vitest project, after the others), under a
// unique name that it removes.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../extension/build/config.js';
import { loadExtensionKey } from '../../server/services/extensionKey.js';
import { packExtension, type ExtensionPackages } from '../../server/services/extensionPackages.js';
import { chromiumAvailable, CHROMIUM_PATH } from '../support/browser.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/waiting.js';

const POLICY_DIR = '/etc/chromium/policies/managed';

describe.skipIf(!chromiumAvailable)('Chromium force-installs the extension by policy', () => {
  let work: string;
  let db: TestDatabase;
  let server: TestServer;
  let packages: ExtensionPackages;
  let policyFile: string;
  let context: BrowserContext;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vigil-policy-'));
    await buildExtension({ outBase: path.join(work, 'dist') });
    packages = await packExtension(path.join(work, 'dist'), await loadExtensionKey({ dataDir: path.join(work, 'data') }));
    db = await createPglite();
    server = await startTestServer(db.db, { extensionPackages: packages });
    await mkdir(POLICY_DIR, { recursive: true });
    policyFile = path.join(POLICY_DIR, `vigil-test-${randomBytes(6).toString('hex')}.json`);
    await writeFile(
      policyFile,
      JSON.stringify({
        ExtensionInstallForcelist: [`${packages.extensionId};${server.url}/extension/updates.xml`],
        '3rdparty': { extensions: { [packages.extensionId]: { serverUrl: server.url, lockServerUrl: true } } },
        // Lets DevTools (playwright) attach to a policy-installed extension's pages.
        DeveloperToolsAvailability: 1,
      }),
    );
    context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      // The extension updater needs background networking; it only reaches the loopback server.
      ignoreDefaultArgs: ['--disable-extensions', '--disable-background-networking', '--disable-component-extensions-with-background-pages'],
      args: ['--no-sandbox', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    if (policyFile) await rm(policyFile, { force: true });
    await context?.close();
    await server?.close();
    await db?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Opens a page of the extension once the policy has installed it. */
  async function openInstalled(page: string, timeoutMs = 90_000): Promise<Page> {
    const tab = await context.newPage();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const loaded = await tab.goto(`chrome-extension://${packages.extensionId}/${page}`).then(
        () => true,
        () => false,
      );
      if (loaded && (await tab.locator('#server').count()) > 0) return tab;
      if (Date.now() > deadline) throw new Error(`the extension ${packages.extensionId} was not installed by policy within ${timeoutMs} ms`);
      await sleep(1000);
    }
  }

  it('installs the served CRX and shows the managed server address, read-only', async () => {
    const options = await openInstalled('options.html');
    await expect.poll(() => options.inputValue('#server'), { timeout: 10_000 }).toBe(server.url);
    expect(await options.locator('#server').evaluate((input) => (input as HTMLInputElement).readOnly)).toBe(true);
    expect(await options.locator('[data-managed="locked"]').first().textContent()).toBe('Set by your organization.');
    expect(await options.locator('form:has(#server) button').count()).toBe(0);
    // The user only logs in: the login form is there for the managed server.
    expect(await options.locator('#username').count()).toBe(1);
    // What Chrome itself reports for the policy's values.
    const managed = await options.evaluate(() => (globalThis as any).chrome.storage.managed.get(null));
    expect(managed).toEqual({ serverUrl: server.url, lockServerUrl: true });
  });
});
