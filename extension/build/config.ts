// The extension build: one multi-page `vite build` (popup, full view, options) into
// dist/chrome, then the background script as a second, self-contained bundle, then a
// copy into dist/firefox with Firefox's manifest. Building once and copying keeps
// `npm run build` to about a second.
//
// The background is bundled on its own so that what only it needs (tRPC's WebSocket and
// SSE links, the notifier) never lands in a chunk the pages share (the popup has a size
// budget), and so a waking service worker loads one file.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig, type Plugin, type UserConfig } from 'vite';
import { drawIcon } from './icons.js';
import { MANAGED_SCHEMA_FILE, managedSchema } from './managedSchema.js';
import { createManifest, ICON_SIZES, type BrowserTarget } from './manifest.js';
import { noRawHtml } from './noRawHtml.js';

const extensionRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(extensionRoot, '..');

export interface ExtensionBuildOptions {
  /** Where `chrome/` and `firefox/` go; default `<repo>/dist`. */
  outBase?: string;
  /** Which browsers to write; the first is the one Vite builds into. Default both. */
  targets?: BrowserTarget[];
  /** Grant http://127.0.0.1/* in the manifest (real-browser tests only). */
  grantLoopback?: boolean;
  /**
   * The background's poll period in seconds (build-time constant; default 30, the least
   * Chrome allows a packed extension). Tests use a few seconds: unpacked extensions may.
   */
  pollSeconds?: number;
  /** Expose `globalThis.vigilTest` in the service worker (real-browser tests only). */
  testHooks?: boolean;
  /** Chrome manifest `key` (base64 DER public key), fixing an unpacked build's id (real-browser tests only). */
  manifestKey?: string;
}

/** The background script: one file, no chunks shared with the pages. */
function backgroundBuildConfig(outDir: string, define: Record<string, string>): InlineConfig {
  return {
    root: extensionRoot,
    base: './',
    publicDir: false,
    configFile: false,
    logLevel: 'warn',
    define,
    build: {
      outDir,
      emptyOutDir: false,
      target: ['chrome116', 'firefox140'],
      modulePreload: false,
      reportCompressedSize: false,
      sourcemap: false,
      rolldownOptions: {
        checks: { bundlerTimings: false },
        input: { background: path.join(extensionRoot, 'src/background.ts') },
        output: { entryFileNames: 'background.js', codeSplitting: false },
      },
    },
  };
}

function manifestPlugin(outBase: string, targets: BrowserTarget[], grantLoopback: boolean, define: Record<string, string>, manifestKey?: string): Plugin {
  return {
    name: 'vigil-extension-manifest',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MANAGED_SCHEMA_FILE, source: `${JSON.stringify(managedSchema, null, 2)}\n` });
      for (const size of ICON_SIZES) {
        this.emitFile({ type: 'asset', fileName: `icons/vigil-${size}.png`, source: drawIcon(size) });
      }
    },
    async closeBundle() {
      const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
      const [first, ...others] = targets;
      const firstDir = path.join(outBase, first!);
      await build(backgroundBuildConfig(firstDir, define));
      for (const target of others) {
        const dir = path.join(outBase, target);
        await rm(dir, { recursive: true, force: true });
        await cp(firstDir, dir, { recursive: true });
      }
      for (const target of targets) {
        const manifest = createManifest(target, { version: pkg.version, grantLoopback, ...(manifestKey ? { key: manifestKey } : {}) });
        await writeFile(path.join(outBase, target, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      }
    },
  };
}

export function extensionBuildConfig(options: ExtensionBuildOptions = {}): UserConfig {
  const outBase = options.outBase ?? path.join(repoRoot, 'dist');
  const targets = options.targets ?? ['chrome', 'firefox'];
  const pollSeconds = options.pollSeconds ?? 30;
  if (!(pollSeconds >= 1)) throw new Error(`pollSeconds must be at least 1, not ${pollSeconds}`);
  // Build-time constants (extension/src/buildFlags.ts).
  const define = {
    __VIGIL_POLL_SECONDS__: JSON.stringify(pollSeconds),
    __VIGIL_TEST_HOOKS__: JSON.stringify(options.testHooks ?? false),
  };
  return {
    root: extensionRoot,
    base: './',
    publicDir: false,
    define,
    build: {
      outDir: path.join(outBase, targets[0]!),
      emptyOutDir: true,
      target: ['chrome116', 'firefox140'],
      // Extension pages load every chunk from disk: no preload polyfill, no inline code.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      reportCompressedSize: false,
      sourcemap: false,
      rolldownOptions: {
        // Timings are noise when a test builds while other work shares the event loop.
        checks: { bundlerTimings: false },
        input: {
          popup: path.join(extensionRoot, 'popup.html'),
          view: path.join(extensionRoot, 'view.html'),
          options: path.join(extensionRoot, 'options.html'),
        },
        output: {
          // Content-hashed; background.js (named by the manifest) comes from its own build.
          entryFileNames: 'assets/[name]-[hash].js',
          chunkFileNames: 'assets/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]',
          // Named library chunks for the pages.
          codeSplitting: {
            groups: [
              { name: 'preact', test: /node_modules[\\/]preact[\\/]/ },
              // Hashing for the witness (options, background): kept out of the popup's chunks.
              { name: 'noble', test: /node_modules[\\/]@noble[\\/]/ },
              // zod: the pages and the worker load only its configuration (jitless.ts).
              { name: 'zod', test: /node_modules[\\/]zod[\\/]/ },
              { name: 'vendor', test: /node_modules[\\/]/ },
            ],
          },
        },
      },
    },
    plugins: [noRawHtml(), manifestPlugin(outBase, targets, options.grantLoopback ?? false, define, options.manifestKey)],
  };
}

/** Builds the extension outside the CLI (the real-browser tests build a loopback variant). */
export async function buildExtension(options: ExtensionBuildOptions = {}): Promise<void> {
  await build({ ...extensionBuildConfig(options), configFile: false, logLevel: 'warn' });
}
