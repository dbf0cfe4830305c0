// Real-browser tests in Debian's firefox-esr, driven over WebDriver BiDi by
// puppeteer-core (nothing is downloaded). Without Firefox the suites skip, unless
// VIGIL_REQUIRE_FIREFOX=1 (CI), which makes a missing Firefox fail the run.
//
// WebDriver may not navigate a tab to a moz-extension:// page, but a page may follow a link
// to one the extension exposes: the test build exposes its pages to loopback pages, and a
// tiny launcher page links to them. The add-on's internal UUID is fixed by a preference, so
// its pages' addresses are known in advance.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.VIGIL_FIREFOX_PATH || '/usr/bin/firefox-esr';
export const firefoxAvailable = existsSync(FIREFOX_PATH);

if (!firefoxAvailable && process.env.VIGIL_REQUIRE_FIREFOX === '1') {
  throw new Error(`VIGIL_REQUIRE_FIREFOX=1 but ${FIREFOX_PATH} does not exist: Firefox is required here (apt-get install firefox-esr)`);
}

const ADDON_UUID = '6f1c2a7e-0b1d-4c8e-9a55-7e11d0c0ffee';
const PAGES = ['popup.html', 'view.html', 'options.html'];

export interface FirefoxExtensionBrowser {
  browser: Browser;
  url(page: string): string;
  /** Opens an extension page in a new tab. */
  open(page: string, viewport?: { width: number; height: number }): Promise<Page>;
  setStorage(values: Record<string, unknown>): Promise<void>;
  getStorage(): Promise<Record<string, unknown>>;
  badgeText(): Promise<string>;
  notificationIds(): Promise<string[]>;
  /** Runs `vigilTest.<name>()` in the background page (test builds only). */
  background<T>(name: string): Promise<T>;
  close(): Promise<void>;
}

/** Lets loopback pages link to the test build's pages (the launcher below needs it). */
async function exposePagesToLoopback(firefoxBuildDir: string): Promise<void> {
  const file = path.join(firefoxBuildDir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (!manifest.host_permissions) throw new Error(`${firefoxBuildDir} is not a test build`);
  manifest.web_accessible_resources = [{ resources: PAGES, matches: ['http://127.0.0.1/*'] }];
  await writeFile(file, JSON.stringify(manifest, null, 2));
}

export async function launchFirefoxWithExtension(firefoxBuildDir: string): Promise<FirefoxExtensionBrowser> {
  await exposePagesToLoopback(firefoxBuildDir);
  const addonId = (JSON.parse(await readFile(path.join(firefoxBuildDir, 'manifest.json'), 'utf8')) as { browser_specific_settings: { gecko: { id: string } } })
    .browser_specific_settings.gecko.id;
  const url = (page: string) => `moz-extension://${ADDON_UUID}/${page}`;
  const launcher = http.createServer((req, res) => {
    const page = (req.url ?? '/').slice(1);
    res.setHeader('content-type', 'text/html');
    res.end(PAGES.includes(page) ? `<!doctype html><a id="go" href="${url(page)}">${page}</a>` : 'no such page');
  });
  await new Promise<void>((resolve) => launcher.listen(0, '127.0.0.1', resolve));
  const launcherUrl = `http://127.0.0.1:${(launcher.address() as AddressInfo).port}`;

  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [addonId]: ADDON_UUID }),
      // The container has no desktop notification service: Firefox's own notifications.
      'alerts.useSystemBackend': false,
    },
  });
  try {
    await browser.installExtension(firefoxBuildDir);
    const open = async (page: string, viewport?: { width: number; height: number }) => {
      const tab = await browser.newPage();
      if (viewport) await tab.setViewport(viewport);
      await tab.goto(`${launcherUrl}/${page}`);
      await tab.click('#go');
      await tab.waitForFunction((want: string) => location.href === want && document.readyState === 'complete', { timeout: 15_000 }, url(page));
      return tab;
    };
    // One extension page stays open to reach the extension's APIs (storage, action, notifications).
    const control = await open('options.html');
    const call = <T>(fn: (arg: any) => Promise<T>, arg?: unknown): Promise<T> => control.evaluate(fn as any, arg) as Promise<T>;
    return {
      browser,
      url,
      open,
      setStorage: (values) =>
        call(async (v) => {
          const b = (globalThis as any).browser;
          await b.storage.local.clear();
          await b.storage.local.set(v);
        }, values),
      getStorage: () => call(() => (globalThis as any).browser.storage.local.get(null)),
      badgeText: () => call(() => (globalThis as any).browser.action.getBadgeText({})),
      notificationIds: async () => Object.keys(await call<Record<string, unknown>>(() => (globalThis as any).browser.notifications.getAll())).sort(),
      background: <T>(name: string) =>
        call<T>(async (n: string) => {
          const page = await (globalThis as any).browser.runtime.getBackgroundPage();
          return page.vigilTest[n]();
        }, name),
      async close() {
        await browser.close();
        await new Promise((resolve) => launcher.close(resolve));
      },
    };
  } catch (error) {
    await browser.close();
    launcher.close();
    throw error;
  }
}
