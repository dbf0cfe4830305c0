// The extension packages this server hands out: the production build it was started
// with (dist/ from `vite build`), zipped for Chrome and Firefox, and a CRX3 signed with
// the server's extension key for Chrome's force-install policy. Packed once at start-up
// and served from memory.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crx3 from 'crx3';
import yazl from 'yazl';
import type { ExtensionKey } from './extensionKey.js';

export interface ExtensionPackages {
  /** The Chrome extension id (derived from the key; stable across builds). */
  extensionId: string;
  /** Firefox's add-on id (browser_specific_settings.gecko.id). */
  firefoxId: string;
  /** The manifest's version. */
  version: string;
  chromeZip: Buffer;
  firefoxZip: Buffer;
  crx: Buffer;
}

/** Every file below dir, as paths relative to it with forward slashes, sorted. */
export async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

async function zipDirectory(dir: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of await filesOf(dir)) zip.addFile(path.join(dir, file), file, { mtime: new Date(0) });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function manifestOf(dir: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, any>;
}

/**
 * Packs `<distDir>/chrome` and `<distDir>/firefox`. Refuses a test build (one that grants
 * host permissions up front): what the server hands to a fleet is the production build.
 */
export async function packExtension(distDir: string, key: ExtensionKey): Promise<ExtensionPackages> {
  const chromeDir = path.join(distDir, 'chrome');
  const firefoxDir = path.join(distDir, 'firefox');
  const [chrome, firefox] = await Promise.all([manifestOf(chromeDir), manifestOf(firefoxDir)]);
  if (chrome.host_permissions || firefox.host_permissions) {
    throw new Error(`${distDir} holds a test build (it grants host permissions); build with \`npm run build\``);
  }
  const work = await mkdtemp(path.join(os.tmpdir(), 'vigil-crx-'));
  try {
    const keyPath = path.join(work, 'key.pem');
    await writeFile(keyPath, key.privateKeyPem, { mode: 0o600 });
    const crxPath = path.join(work, 'vigil.crx');
    const info = (await crx3((await filesOf(chromeDir)).map((f) => path.join(chromeDir, f)), { keyPath, crxPath })) as { appId?: string };
    if (info.appId && info.appId !== key.extensionId) {
      throw new Error(`the CRX packer derived id ${info.appId}, not ${key.extensionId}`);
    }
    return {
      extensionId: key.extensionId,
      firefoxId: String(firefox.browser_specific_settings?.gecko?.id ?? ''),
      version: String(chrome.version),
      chromeZip: await zipDirectory(chromeDir),
      firefoxZip: await zipDirectory(firefoxDir),
      crx: await readFile(crxPath),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Chrome's update manifest (gupdate, protocol 2.0) pointing at this server's CRX. */
export function updateManifest(packages: Pick<ExtensionPackages, 'extensionId' | 'version'>, crxUrl: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<gupdate xmlns="http://www.google.com/update2/response" protocol="2.0">\n` +
    `  <app appid="${xmlEscape(packages.extensionId)}">\n` +
    `    <updatecheck codebase="${xmlEscape(crxUrl)}" version="${xmlEscape(packages.version)}" />\n` +
    `  </app>\n` +
    `</gupdate>\n`
  );
}
