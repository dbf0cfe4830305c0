// `npm start` on an empty data directory: the first site manager is created and how to
// log in is printed once; the next start prints nothing of the kind.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { firstStartMessage } from '../../server/services/firstPassword.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';

describe('first start', () => {
  let dataDir: string;
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the site manager admin, writes its password to an owner-only file and says where, once', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-first-'));
    const env = { VIGIL_DATA_DIR: dataDir, DATABASE_URL: '', VIGIL_ADMIN_TOKEN: '', LOG_LEVEL: 'info' };
    server = await startChildServer(env);
    const deadline = Date.now() + 20_000;
    while (!/First start/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const file = path.join(dataDir, 'first-admin-password');
    expect(server.output()).toContain(`Log in at ${server.url} (extension options page) with username admin and the password in ${file}`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const password = (await readFile(file, 'utf8')).trim();
    expect(password).toMatch(/^\S{12,}$/);
    const session = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'admin', password });
    expect(session.user).toMatchObject({ username: 'admin', role: 'site_manager' });
    // Standard output is not a terminal here: the password itself is printed nowhere.
    expect(server.output()).not.toContain(password);
    const printed = [undefined, password];
    await server.stop();

    server = await startChildServer(env);
    const again = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'admin', password: printed![1]! });
    expect(again.user.username).toBe('admin');
    // The message would have been printed as the server began to listen, before it answered the login.
    expect(server.output()).not.toContain('First start');
  });

  it('shows the password itself only on a terminal', () => {
    const base = { username: 'admin', url: 'http://127.0.0.1:8080', passwordFile: '/data/first-admin-password', password: 'pw-123456789' };
    expect(firstStartMessage({ ...base, terminal: true })).toContain('password pw-123456789 (also in /data/first-admin-password');
    expect(firstStartMessage({ ...base, terminal: false })).not.toContain('pw-123456789');
    expect(firstStartMessage({ ...base, passwordFile: undefined, terminal: true })).toContain('the password in VIGIL_ADMIN_PASSWORD');
  });
});
