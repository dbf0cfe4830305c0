// The extension build, without a browser: both manifests, only the permissions it needs,
// no inline scripts, `web-ext lint` clean on the Firefox build, and the popup's size budget.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../extension/build/config.js';
import { bundleSizes } from './popupTiming.js';

const run = promisify(execFile);
const WEB_EXT = path.resolve('node_modules/web-ext/bin/web-ext.js');

describe('the extension build', () => {
  let base: string;
  const manifest = async (target: string) => JSON.parse(await readFile(path.join(base, target, 'manifest.json'), 'utf8'));

  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'vigil-build-'));
    await buildExtension({ outBase: base });
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('writes a Chrome manifest with a module service worker', async () => {
    const m = await manifest('chrome');
    expect(m.manifest_version).toBe(3);
    expect(m.background).toEqual({ service_worker: 'background.js', type: 'module' });
    expect(m.action.default_popup).toBe('popup.html');
    expect(m.options_ui).toEqual({ page: 'options.html', open_in_tab: true });
    expect(m.browser_specific_settings).toBeUndefined();
  });

  it('writes a Firefox manifest with background.scripts and browser_specific_settings', async () => {
    const m = await manifest('firefox');
    expect(m.background).toEqual({ scripts: ['background.js'], type: 'module' });
    expect(m.browser_specific_settings.gecko.id).toMatch(/@/);
    const chromeFiles = (await readdir(path.join(base, 'chrome'), { recursive: true })).sort();
    expect((await readdir(path.join(base, 'firefox'), { recursive: true })).sort()).toEqual(chromeFiles);
  });

  it('asks only for what it needs: storage, alarms, notifications, and the server chosen at run time', async () => {
    for (const target of ['chrome', 'firefox']) {
      const m = await manifest(target);
      expect(m.permissions).toEqual(['storage', 'alarms', 'notifications']);
      expect(m.optional_host_permissions).toEqual(['http://*/*', 'https://*/*']);
      expect(m.host_permissions).toBeUndefined();
      expect(m.content_scripts).toBeUndefined();
    }
  });

  it('lets Firefox pages open ws:// to an http:// server (no upgrade-insecure-requests)', async () => {
    expect((await manifest('chrome')).content_security_policy).toBeUndefined();
    const csp = (await manifest('firefox')).content_security_policy.extension_pages as string;
    expect(csp).toBe("script-src 'self'; object-src 'self'");
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
  });

  it('declares the schema of what policies may set (storage.managed)', async () => {
    const m = await manifest('chrome');
    expect(m.storage).toEqual({ managed_schema: 'managed_schema.json' });
    const schema = JSON.parse(await readFile(path.join(base, 'chrome', 'managed_schema.json'), 'utf8'));
    expect(Object.keys(schema.properties).sort()).toEqual(['lockNotificationRules', 'lockServerUrl', 'notificationRules', 'serverUrl']);
  });

  it('has no inline scripts and no eval', async () => {
    const dir = path.join(base, 'chrome');
    for (const page of ['popup.html', 'view.html', 'options.html']) {
      const html = await readFile(path.join(dir, page), 'utf8');
      const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [tag, body] of scripts) {
        expect(tag).toMatch(/src="\.\/assets\//);
        expect(body!.trim()).toBe('');
      }
      expect(html).not.toMatch(/\son[a-z]+=/i);
    }
    const files = (await readdir(path.join(dir, 'assets'))).filter((f) => f.endsWith('.js'));
    for (const file of [...files.map((f) => `assets/${f}`), 'background.js']) {
      const code = await readFile(path.join(dir, file), 'utf8');
      expect(code, file).not.toMatch(/\beval\(|new Function\(/);
      expect(code, file).not.toMatch(/\bimport\(/); // a module service worker may not import() dynamically
    }
  });

  it('passes web-ext lint on the Firefox build without errors or warnings', async () => {
    let stdout: string;
    try {
      ({ stdout } = await run(process.execPath, [WEB_EXT, 'lint', '--source-dir', path.join(base, 'firefox'), '--output', 'json'], { timeout: 60_000 }));
    } catch (error) {
      stdout = (error as { stdout?: string }).stdout ?? '';
      if (!stdout) throw error;
    }
    const report = JSON.parse(stdout);
    expect(report.errors, JSON.stringify(report.errors, null, 2)).toEqual([]);
    expect(report.summary.errors).toBe(0);
    // No warning either: no code that compiles at run time (zod stays out of the worker),
    // no innerHTML write (extension/build/noRawHtml.ts).
    expect(report.warnings, JSON.stringify(report.warnings, null, 2)).toEqual([]);
    expect(report.summary.warnings).toBe(0);
  });

  it('keeps the popup under 40 kB gzipped, without the witness\'s hashing', async () => {
    const sizes = await bundleSizes(path.join(base, 'chrome'));
    expect(sizes.popup.files).toContain('popup.html');
    // 61 kB while the pages loaded zod through the client; they never parse with it.
    expect(sizes.popup.gzipBytes).toBeLessThan(40 * 1024);
    expect(sizes.popup.files.some((f) => f.includes('noble'))).toBe(false);
    // The background never loads Preact.
    expect(sizes.background.files.some((f) => f.includes('preact'))).toBe(false);
  });
});
