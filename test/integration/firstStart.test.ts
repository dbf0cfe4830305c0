// `npm start` on an empty data directory: the first site manager is created and how to
// log in is printed once; the next start prints nothing of the kind.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';

describe('first start', () => {
  let dataDir: string;
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the site manager admin and prints how to log in, once', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-first-'));
    const env = { VIGIL_DATA_DIR: dataDir, DATABASE_URL: '', VIGIL_ADMIN_TOKEN: '', LOG_LEVEL: 'info' };
    server = await startChildServer(env);
    const deadline = Date.now() + 20_000;
    while (!/First start/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const printed = /Log in .* with username admin and password (\S+)/.exec(server.output());
    expect(printed, server.output()).not.toBeNull();
    const session = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'admin', password: printed![1]! });
    expect(session.user).toMatchObject({ username: 'admin', role: 'site_manager' });
    // The password is shown on the console only, never in a JSON log line.
    expect(server.output().split('\n').filter((l) => l.startsWith('{') && l.includes(printed![1]!))).toEqual([]);
    await server.stop();

    server = await startChildServer(env);
    await new Promise((r) => setTimeout(r, 1000));
    expect(server.output()).not.toContain('First start');
    const again = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'admin', password: printed![1]! });
    expect(again.user.username).toBe('admin');
  });
});
