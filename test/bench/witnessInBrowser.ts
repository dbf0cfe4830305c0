// The extension's verification per sync, in real Chromium: the signed note (WebCrypto
// Ed25519) and the consistency proof (SHA-256) of each sync, as extension/src/witness.ts
// checks them, on heads and proofs of the bench's tree. The server calls are answered
// from memory, so the figure is the browser's work alone.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../support/browser.js';
import type { SyncCase } from './witnessInBrowser.entry.js';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'witnessInBrowser.entry.ts');

/** Milliseconds per sync, in order; the first `warmup` cases run first and are not returned. */
export async function timeSyncsInChromium(cases: SyncCase[], warmup: number): Promise<number[]> {
  const bundle = await build({ entryPoints: [ENTRY], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'chrome120' });
  const script = bundle.outputFiles[0]!.text;
  // A page on http://127.0.0.1 (a secure context: WebCrypto is there, as in the extension).
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>${script}</script>`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    const times = await page.evaluate(
      (all) => (globalThis as unknown as { timeSyncs(c: SyncCase[]): Promise<number[]> }).timeSyncs(all),
      [...cases.slice(0, warmup), ...cases],
    );
    return times.slice(warmup);
  } finally {
    await browser.close();
    server.close();
  }
}
