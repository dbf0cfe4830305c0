// Real-browser tests: Debian's Chromium (never a downloaded browser) driven by
// playwright-core, with the extension built in its loopback-granting test variant.
// Without Chromium the browser suites skip, unless VIGIL_REQUIRE_CHROMIUM=1 (CI), which
// makes a missing Chromium fail the run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { buildExtension } from '../../extension/build/config.js';

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

/** Builds the extension (test variant) into a fresh temporary directory. */
export async function buildTestExtension(targets: ('chrome' | 'firefox')[] = ['chrome']): Promise<BuiltExtension> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'vigil-ext-'));
  await buildExtension({ outBase: base, targets, grantLoopback: true });
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
};
