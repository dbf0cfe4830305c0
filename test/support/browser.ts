// Real-browser tests: Debian's Chromium (never a downloaded browser) driven by
// playwright-core, with the extension built in its loopback-granting test variant.
// Without Chromium the browser suites skip, unless VIGIL_REQUIRE_CHROMIUM=1 (CI), which
// makes a missing Chromium fail the run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { buildExtension } from '../../extension/build/config.js';
import { TEST_EXTENSION_KEY } from './testExtension.js';

export { TEST_EXTENSION_ID } from './testExtension.js';

export const CHROMIUM_PATH = process.env.VIGIL_CHROMIUM_PATH || '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM_PATH);

if (!chromiumAvailable && process.env.VIGIL_REQUIRE_CHROMIUM === '1') {
  throw new Error(`VIGIL_REQUIRE_CHROMIUM=1 but ${CHROMIUM_PATH} does not exist: Chromium is required here (apt-get install chromium)`);
}


export interface BuiltExtension {
  /** The unpacked Chrome build (manifest grants http://127.0.0.1/*). */
  dir: string;
  /** The build's root, holding chrome/ (and firefox/ when asked for). */
  base: string;
  remove(): Promise<void>;
}

/**
 * Builds the extension (test variant: loopback granted, `globalThis.vigilTest` in the
 * worker) into a fresh temporary directory. `pollSeconds` shortens the background's poll
 * alarm (unpacked extensions may go below Chrome's 30 s).
 */
export async function buildTestExtension(
  targets: ('chrome' | 'firefox')[] = ['chrome'],
  options: { pollSeconds?: number } = {},
): Promise<BuiltExtension> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'vigil-ext-'));
  await buildExtension({ outBase: base, targets, grantLoopback: true, testHooks: true, manifestKey: TEST_EXTENSION_KEY, ...options });
  return { dir: path.join(base, 'chrome'), base, remove: () => rm(base, { recursive: true, force: true }) };
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  /** The extension's service worker, for chrome.* calls (storage, action badge). */
  worker: Worker;
  url(page: string): string;
  /** Opens an extension page in a new tab, at the given viewport size. */
  open(page: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** Replaces everything in storage.local. */
  setStorage(values: Record<string, unknown>): Promise<void>;
  getStorage(): Promise<Record<string, unknown>>;
  badgeText(): Promise<string>;
  /** The live service worker (after a restart, the Worker object that now reaches it). */
  liveWorker(): Worker;
  /** The extension's notification ids now showing (chrome.notifications.getAll). */
  notificationIds(): Promise<string[]>;
  /** The worker's state as DevTools reports it: 'running', 'stopped', 'starting', 'stopping'. */
  workerStatus(): Promise<string>;
  /** Stops the service worker through DevTools (ServiceWorker.stopWorker), as Chrome does after 30 s idle. */
  stopWorker(): Promise<void>;
  /** Waits until the worker runs again (woken by an alarm, a message, a storage change...). */
  workerRunning(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium with the unpacked extension loaded (ANCHORS.md recipe). */
export async function launchWithExtension(extensionDir: string): Promise<ExtensionBrowser> {
  const context = await chromium.launchPersistentContext('', {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    let [worker] = context.serviceWorkers();
    worker ??= await context.waitForEvent('serviceworker', { timeout: 15_000 });
    const extensionId = new URL(worker.url()).host;
    const url = (page: string) => `chrome-extension://${extensionId}/${page}`;
    // The worker may have been replaced (stopped and restarted); always ask for the live one.
    const live = () => context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${extensionId}/`)) ?? worker!;

    // DevTools' view of the worker, through a blank page's session (the ServiceWorker
    // domain is not on the browser session).
    let devtools: Promise<{ session: CDPSession; status: () => { versionId: string; status: string } | null }> | null = null;
    const serviceWorkerDomain = () =>
      (devtools ??= (async () => {
        const page = await context.newPage();
        const session = await context.newCDPSession(page);
        const versions = new Map<string, { scriptURL: string; runningStatus: string }>();
        session.on('ServiceWorker.workerVersionUpdated', (e: { versions: { versionId: string; scriptURL: string; runningStatus: string }[] }) => {
          for (const v of e.versions) versions.set(v.versionId, v);
        });
        await session.send('ServiceWorker.enable');
        const status = () => {
          const ours = [...versions.entries()].filter(([, v]) => v.scriptURL.startsWith(`chrome-extension://${extensionId}/`));
          const last = ours.at(-1);
          return last ? { versionId: last[0], status: last[1].runningStatus } : null;
        };
        for (let i = 0; i < 100 && !status(); i++) await new Promise((r) => setTimeout(r, 50));
        return { session, status };
      })());
    const workerStatus = async () => (await serviceWorkerDomain()).status()?.status ?? 'unknown';
    const waitForStatus = async (wanted: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while ((await workerStatus()) !== wanted) {
        if (Date.now() > deadline) throw new Error(`the service worker did not become ${wanted} within ${timeoutMs} ms (it is ${await workerStatus()})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    return {
      context,
      extensionId,
      worker,
      url,
      async open(page, viewport) {
        const tab = await context.newPage();
        if (viewport) await tab.setViewportSize(viewport);
        await tab.goto(url(page));
        return tab;
      },
      async setStorage(values) {
        await live().evaluate(async (v) => {
          await chrome.storage.local.clear();
          await chrome.storage.local.set(v);
        }, values);
      },
      async getStorage() {
        return live().evaluate(() => chrome.storage.local.get(null));
      },
      async badgeText() {
        return live().evaluate(() => chrome.action.getBadgeText({}));
      },
      liveWorker: live,
      async notificationIds() {
        return Object.keys(await live().evaluate(() => chrome.notifications.getAll())).sort();
      },
      workerStatus,
      async stopWorker() {
        const { session, status } = await serviceWorkerDomain();
        const version = status();
        if (!version) throw new Error('DevTools reports no service worker for the extension');
        await session.send('ServiceWorker.stopWorker', { versionId: version.versionId });
        await waitForStatus('stopped', 10_000);
      },
      workerRunning: (timeoutMs = 15_000) => waitForStatus('running', timeoutMs),
      close: () => context.close(),
    };
  } catch (error) {
    await context.close();
    throw error;
  }
}

declare const chrome: {
  storage: { local: { clear(): Promise<void>; set(v: Record<string, unknown>): Promise<void>; get(k: null): Promise<Record<string, unknown>> } };
  action: { getBadgeText(details: object): Promise<string> };
  notifications: { getAll(): Promise<Record<string, boolean>> };
};
