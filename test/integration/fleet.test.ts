// What a fleet rollout needs from the server: a landing page, the production extension
// packages (zips equal to the build, a CRX3 whose id is the key's), Chrome's update
// manifest naming that id, and a refusal to start with a key that is not RSA.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../extension/build/config.js';
import { extensionIdOf, loadExtensionKey, parseExtensionKey } from '../../server/services/extensionKey.js';
import { filesOf, packExtension, type ExtensionPackages } from '../../server/services/extensionPackages.js';
import { readCrx3 } from '../support/crx.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { startChildServer } from '../support/childServer.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { unzip } from '../support/zip.js';

describe('fleet rollout: landing page and extension packages', () => {
  let buildBase: string;
  let dataDir: string;
  let db: TestDatabase;
  let server: TestServer;
  let packages: ExtensionPackages;

  beforeAll(async () => {
    buildBase = await mkdtemp(path.join(os.tmpdir(), 'vigil-fleet-build-'));
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-fleet-data-'));
    await buildExtension({ outBase: buildBase });
    packages = await packExtension(buildBase, await loadExtensionKey({ dataDir }));
    db = await createPglite();
    server = await startTestServer(db.db, { extensionPackages: packages });
    await server.client.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: 'secret-target-7f3a', actor: { username: 'mallory' } });
  });
  afterAll(async () => {
    await server?.close();
    await db?.destroy();
    await rm(buildBase, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the extension key in the data directory, mode 0600, and the same id on every load', async () => {
    const file = path.join(dataDir, 'extension-key.pem');
    const { mode } = await import('node:fs/promises').then((fs) => fs.stat(file));
    expect(mode & 0o777).toBe(0o600);
    expect((await loadExtensionKey({ dataDir })).extensionId).toBe(packages.extensionId);
    expect(packages.extensionId).toMatch(/^[a-p]{32}$/);
  });

  it('serves a landing page without login and without event data', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('Vigil');
    expect(page).toContain('healthy');
    expect(page).toContain(packages.extensionId);
    expect(page).toContain(`${packages.extensionId};${server.url}/extension/updates.xml`);
    expect(page).toContain(packages.firefoxId);
    expect(page).toContain('/extension/vigil-chrome.zip');
    expect(page).not.toContain('secret-target-7f3a');
    expect(page).not.toContain('mallory');
  });

  it('serves zips whose contents equal the build', async () => {
    for (const target of ['chrome', 'firefox'] as const) {
      const response = await fetch(`${server.url}/extension/vigil-${target}.zip`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/zip');
      const files = await unzip(Buffer.from(await response.arrayBuffer()));
      const built = await filesOf(path.join(buildBase, target));
      expect([...files.keys()].sort()).toEqual(built);
      for (const file of built) expect(files.get(file)!.equals(await readFile(path.join(buildBase, target, file)))).toBe(true);
      const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
      expect(manifest.host_permissions).toBeUndefined();
    }
  });

  it('serves a signed CRX3 whose id is the key\'s and the update manifest\'s appid', async () => {
    const response = await fetch(`${server.url}/extension/vigil.crx`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-chrome-extension');
    const crx = readCrx3(Buffer.from(await response.arrayBuffer()));
    expect(crx.signatureValid).toBe(true);
    expect(crx.extensionId).toBe(packages.extensionId);
    expect(crx.signedId).toBe(packages.extensionId);
    const files = await unzip(crx.archive);
    expect([...files.keys()].sort()).toEqual(await filesOf(path.join(buildBase, 'chrome')));

    const xml = await fetch(`${server.url}/extension/updates.xml`);
    expect(xml.status).toBe(200);
    expect(xml.headers.get('content-type')).toMatch(/^application\/xml/);
    const text = await xml.text();
    expect(text).toContain('xmlns="http://www.google.com/update2/response" protocol="2.0"');
    expect(/appid="([a-p]{32})"/.exec(text)?.[1]).toBe(crx.extensionId);
    expect(/codebase="([^"]+)"/.exec(text)?.[1]).toBe(`${server.url}/extension/vigil.crx`);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(/<updatecheck [^>]*version="([^"]+)"/.exec(text)?.[1]).toBe(manifest.version);
  });

  it('derives the id from the key as Chrome does, and refuses keys that are not RSA', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(parseExtensionKey(pem).extensionId).toBe(extensionIdOf(publicKey.export({ type: 'spki', format: 'der' })));
    expect(parseExtensionKey(Buffer.from(pem).toString('base64')).extensionId).toBe(parseExtensionKey(pem).extensionId);
    expect(() => parseExtensionKey('not a key')).toThrow(/VIGIL_EXTENSION_KEY must be an RSA private key/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parseExtensionKey(ed)).toThrow(/VIGIL_EXTENSION_KEY must be an RSA private key \(PEM\), not ed25519/);
  });

  it('refuses to pack a test build', async () => {
    const testBase = await mkdtemp(path.join(os.tmpdir(), 'vigil-fleet-testbuild-'));
    try {
      await buildExtension({ outBase: testBase, grantLoopback: true });
      await expect(packExtension(testBase, await loadExtensionKey({ dataDir }))).rejects.toThrow(/holds a test build/);
    } finally {
      await rm(testBase, { recursive: true, force: true });
    }
  });
});

describe('a server started with a VIGIL_EXTENSION_KEY that is not an RSA private key', () => {
  it('refuses to start, naming the variable', async () => {
    await expect(startChildServer({ VIGIL_EXTENSION_KEY: 'definitely-not-a-key' })).rejects.toThrow(/VIGIL_EXTENSION_KEY must be an RSA private key/);
  });
});
