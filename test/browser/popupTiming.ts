// The popup benchmark: popup open to first rendered row (median and p95 over N opens)
// and the gzipped size of what each extension page and the background load.
//
//   import { runPopupBenchmark } from '../browser/popupTiming.js';
//   const result = await runPopupBenchmark({ opens: 20 });   // builds, seeds, launches
//   console.log(formatPopupBenchmark(result));               // markdown for BENCHMARKS.md
//
// or from the shell: npx tsx test/browser/popupTiming.ts [opens]
//
// "Open" is a fresh document of popup.html, as a click on the toolbar button makes. The
// time is the popup's own `vigil:first-row` performance mark, measured from the start of
// navigation: reading storage, asking the server for the newest events, rendering them.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ExtensionBrowser } from '../support/browser.js';

export interface PopupTiming {
  opens: number;
  /** Navigation start to the first event row, per open (ms). */
  samplesMs: number[];
  medianMs: number;
  p95Ms: number;
  /** Wall clock from the test asking for the page to the row being in the DOM (includes DevTools round trips). */
  wallMedianMs: number;
  wallP95Ms: number;
  /** Medians of the popup's own marks: settings read, first page answered, first row painted. */
  phasesMedianMs: { settings: number; firstPage: number; firstRow: number };
}

export interface BundleSize {
  files: string[];
  rawBytes: number;
  gzipBytes: number;
}

export interface BundleSizes {
  popup: BundleSize;
  view: BundleSize;
  options: BundleSize;
  background: BundleSize;
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Opens the popup `opens` times (each a new tab, closed after) with the extension's
 * storage already pointing at a server with events, and times the first row.
 */
export async function measurePopupOpen(browser: ExtensionBrowser, opens = 20): Promise<PopupTiming> {
  const samples: number[] = [];
  const wall: number[] = [];
  const settingsAt: number[] = [];
  const pageAt: number[] = [];
  // One unmeasured open: the first page of a fresh profile pays for code caching.
  for (let i = -1; i < opens; i++) {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 500, height: 600 });
    const started = performance.now();
    await page.goto(browser.url('popup.html'));
    await page.waitForFunction(() => performance.getEntriesByName('vigil:first-row').length > 0, undefined, { polling: 5 });
    const ended = performance.now();
    const [mark, settings, firstPage] = await page.evaluate(() =>
      ['vigil:first-row', 'vigil:settings', 'vigil:first-page'].map((name) => performance.getEntriesByName(name)[0]?.startTime ?? Number.NaN),
    );
    if (!(await page.$('main.list [data-id]'))) throw new Error('the popup marked a first row but shows none');
    await page.close();
    if (i < 0) continue;
    samples.push(mark!);
    settingsAt.push(settings!);
    pageAt.push(firstPage!);
    wall.push(ended - started);
  }
  return {
    opens,
    samplesMs: samples.map(round),
    medianMs: round(percentile(samples, 50)),
    p95Ms: round(percentile(samples, 95)),
    wallMedianMs: round(percentile(wall, 50)),
    wallP95Ms: round(percentile(wall, 95)),
    phasesMedianMs: {
      settings: round(percentile(settingsAt, 50)),
      firstPage: round(percentile(pageAt, 50)),
      firstRow: round(percentile(samples, 50)),
    },
  };
}

async function closure(dir: string, entries: string[]): Promise<BundleSize> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.js')) continue;
    const code = await readFile(path.join(dir, file), 'utf8');
    for (const m of code.matchAll(/(?:import|export)[^'"`]*?from\s*["'`](\.{1,2}\/[^"'`]+)["'`]|import\s*["'`](\.{1,2}\/[^"'`]+)["'`]/g)) {
      const spec = m[1] ?? m[2]!;
      queue.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
    }
  }
  const files = [...seen].sort();
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const bytes = await readFile(path.join(dir, file));
    rawBytes += bytes.length;
    gzipBytes += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, rawBytes, gzipBytes };
}

async function pageEntries(dir: string, html: string): Promise<string[]> {
  const text = await readFile(path.join(dir, html), 'utf8');
  const refs = [...text.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
  return [html, ...refs];
}

/** Everything each page (HTML, scripts, styles) and the background script load, gzipped. */
export async function bundleSizes(extensionDir: string): Promise<BundleSizes> {
  if (!(await readdir(extensionDir)).includes('manifest.json')) throw new Error(`${extensionDir} is not a built extension`);
  return {
    popup: await closure(extensionDir, await pageEntries(extensionDir, 'popup.html')),
    view: await closure(extensionDir, await pageEntries(extensionDir, 'view.html')),
    options: await closure(extensionDir, await pageEntries(extensionDir, 'options.html')),
    background: await closure(extensionDir, ['background.js']),
  };
}

export interface PopupBenchmark {
  timing: PopupTiming;
  bundles: BundleSizes;
  events: number;
}

/**
 * The whole benchmark on its own: a PGlite database with `events` seeded events, a real
 * server, the test build of the extension, headless Chromium. Cleans up after itself.
 */
export async function runPopupBenchmark(options: { opens?: number; events?: number } = {}): Promise<PopupBenchmark> {
  const { createPglite } = await import('../support/databases.js');
  const { startTestServer } = await import('../support/server.js');
  const { buildTestExtension, launchWithExtension } = await import('../support/browser.js');
  const { seed } = await import('./seed.js');
  const events = options.events ?? 1000;
  const database = await createPglite();
  try {
    const server = await startTestServer(database.db);
    try {
      await seed(server.client, events);
      const built = await buildTestExtension();
      try {
        const browser = await launchWithExtension(built.dir);
        try {
          await browser.setStorage({ serverUrl: server.url, token: server.token, lastQuery: '' });
          const timing = await measurePopupOpen(browser, options.opens ?? 20);
          return { timing, bundles: await bundleSizes(built.dir), events };
        } finally {
          await browser.close();
        }
      } finally {
        await built.remove();
      }
    } finally {
      await server.close();
    }
  } finally {
    await database.destroy();
  }
}

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

/** A markdown section for BENCHMARKS.md. */
export function formatPopupBenchmark(result: PopupBenchmark): string {
  const { timing, bundles } = result;
  const rows = (['popup', 'view', 'options', 'background'] as const).map(
    (name) => `| ${name} | ${bundles[name].files.length} | ${kB(bundles[name].rawBytes)} | ${kB(bundles[name].gzipBytes)} |`,
  );
  return [
    '## Extension popup',
    '',
    `Popup open to first rendered row, ${timing.opens} opens, ${result.events} events on the server (target: p95 < 200 ms):`,
    '',
    '| median | p95 | wall-clock median | wall-clock p95 |',
    '| --- | --- | --- | --- |',
    `| ${timing.medianMs} ms | ${timing.p95Ms} ms | ${timing.wallMedianMs} ms | ${timing.wallP95Ms} ms |`,
    '',
    `Medians from navigation start: settings read ${timing.phasesMedianMs.settings} ms, first page answered ` +
      `${timing.phasesMedianMs.firstPage} ms, first row painted ${timing.phasesMedianMs.firstRow} ms.`,
    '',
    'What each page loads (HTML, scripts, styles), gzipped (target: popup < 60 kB):',
    '',
    '| page | files | raw | gzipped |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The server is imported lazily (in runPopupBenchmark), so this quiets its log.
  process.env.LOG_LEVEL ||= 'warn';
  const opens = Number(process.argv[2] ?? 20);
  runPopupBenchmark({ opens }).then(
    (result) => console.log(formatPopupBenchmark(result)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
