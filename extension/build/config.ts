// The extension build: one multi-page `vite build` (popup, full view, options and the
// background script) into dist/chrome, then a copy into dist/firefox with Firefox's
// manifest. Building once and copying keeps `npm run build` to about a second.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type UserConfig } from 'vite';
import { drawIcon } from './icons.js';
import { createManifest, ICON_SIZES, type BrowserTarget } from './manifest.js';

const extensionRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(extensionRoot, '..');

export interface ExtensionBuildOptions {
  /** Where `chrome/` and `firefox/` go; default `<repo>/dist`. */
  outBase?: string;
  /** Which browsers to write; the first is the one Vite builds into. Default both. */
  targets?: BrowserTarget[];
  /** Grant http://127.0.0.1/* in the manifest (real-browser tests only). */
  grantLoopback?: boolean;
}

function manifestPlugin(outBase: string, targets: BrowserTarget[], grantLoopback: boolean): Plugin {
  return {
    name: 'vigil-extension-manifest',
    apply: 'build',
    generateBundle() {
      for (const size of ICON_SIZES) {
        this.emitFile({ type: 'asset', fileName: `icons/vigil-${size}.png`, source: drawIcon(size) });
      }
    },
    async closeBundle() {
      const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
      const [first, ...others] = targets;
      const firstDir = path.join(outBase, first!);
      for (const target of others) {
        const dir = path.join(outBase, target);
        await rm(dir, { recursive: true, force: true });
        await cp(firstDir, dir, { recursive: true });
      }
      for (const target of targets) {
        const manifest = createManifest(target, { version: pkg.version, grantLoopback });
        await writeFile(path.join(outBase, target, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      }
    },
  };
}

export function extensionBuildConfig(options: ExtensionBuildOptions = {}): UserConfig {
  const outBase = options.outBase ?? path.join(repoRoot, 'dist');
  const targets = options.targets ?? ['chrome', 'firefox'];
  return {
    root: extensionRoot,
    base: './',
    publicDir: false,
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
          background: path.join(extensionRoot, 'src/background.ts'),
        },
        output: {
          // The manifest names background.js; everything else is content-hashed.
          entryFileNames: (chunk) => (chunk.name === 'background' ? 'background.js' : 'assets/[name]-[hash].js'),
          chunkFileNames: 'assets/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]',
          // Named library chunks; the background loads `vendor` (tRPC, polyfill), never Preact.
          codeSplitting: {
            groups: [
              { name: 'preact', test: /node_modules[\\/]preact[\\/]/ },
              { name: 'vendor', test: /node_modules[\\/]/ },
            ],
          },
        },
      },
    },
    plugins: [manifestPlugin(outBase, targets, options.grantLoopback ?? false)],
  };
}

/** Builds the extension outside the CLI (the real-browser tests build a loopback variant). */
export async function buildExtension(options: ExtensionBuildOptions = {}): Promise<void> {
  await build({ ...extensionBuildConfig(options), configFile: false, logLevel: 'warn' });
}
