// The `vigil` CLI while a server runs on the embedded database: the data directory is the
// server's (one process at a time), so the commands go through that server with the local
// credential it wrote, and their changes are the server's, audited as `cli:<account>`.
// The embedded database only: on Postgres the CLI opens the database itself.
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { eventually } from '../support/waiting.js';

const run = promisify(execFile);
const ADMIN_PASSWORD = 'admin password 1';
const ACTOR = `cli:${os.userInfo().username}`;

describe('vigil CLI through a running server', () => {
  let dataDir: string;
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function vigil(...args: string[]) {
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_DATA_DIR: dataDir, DATABASE_URL: '' };
    delete env.LOG_LEVEL;
    return run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], { env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }
  const jsonLines = (text: string) => text.split('\n').filter((line) => line.trimStart().startsWith('{'));
  const credentialFile = () => path.join(dataDir, 'cli-credential');
  const readCredential = async () => JSON.parse(await readFile(credentialFile(), 'utf8')) as { url: string; token: string };
  const start = () => startChildServer({ VIGIL_DATA_DIR: dataDir, DATABASE_URL: '', VIGIL_ADMIN_TOKEN: '', VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD });

  it('adds and lists users, creates and revokes tokens through the server, each audited as the CLI', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-cli-server-'));
    server = await start();
    expect((await stat(credentialFile())).mode & 0o777).toBe(0o600);
    const credential = await readCredential();
    expect(credential.url).toBe(server.url);
    const { token } = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'admin', password: ADMIN_PASSWORD });
    const admin = createVigilClient({ url: server.url, token });

    const added = await vigil('user', 'add', 'nora', '--role', 'auditor', '--email', 'nora@example.com');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created auditor nora /);
    expect(added.stderr).toContain(`through the server at ${server.url}`);
    expect(jsonLines(added.stdout + added.stderr)).toEqual([]);
    const password = /password \(shown once\): (\S+)/.exec(added.stdout)![1]!;
    // The server's own database has her: she logs in there.
    const nora = await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'nora', password });
    expect(nora.user).toMatchObject({ username: 'nora', role: 'auditor' });

    // The server's refusal, as it words it.
    const taken = await vigil('user', 'add', 'nora', '--role', 'member', '--password', 'another password');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('username: nora is taken');

    // As the first start's message advises: a new password, and her session ends.
    const changed = await vigil('user', 'password', 'nora', '--password', 'nora password 2');
    expect(changed).toMatchObject({ code: 0, stdout: 'password of nora changed\n' });
    await expect(createVigilClient({ url: server.url, token: nora.token, retry: { attempts: 0 } }).auth.me.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    await createVigilClient({ url: server.url }).auth.login.mutate({ username: 'nora', password: 'nora password 2' });

    const listed = await vigil('user', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['admin\tsite_manager\t', 'nora\tauditor\tnora@example.com']));

    const created = await vigil('token', 'create', 'ci-bot', '--scopes', 'events:write,events:read');
    expect(created.code).toBe(0);
    const tokenId = /\(([0-9a-f-]{36})\)/.exec(created.stdout)![1]!;
    const secret = /token \(shown once\): (\S+)/.exec(created.stdout)![1]!;
    const bot = createVigilClient({ url: server.url, token: secret, retry: { attempts: 0 } });
    await bot.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'ci-dev-1' });
    expect((await admin.tokens.list.query()).find((t) => t.id === tokenId)).toMatchObject({ name: 'ci-bot', revokedAt: null });

    const revoked = await vigil('token', 'revoke', tokenId);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked ci-bot (${tokenId})`);
    await expect(bot.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'ci-dev-2' })).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });

    const byCli = (await admin.events.list.query({ q: `username:"${ACTOR}"` })).items.map((e) => ({
      action: e.action,
      target: e.resourceTarget,
      userAgent: e.userAgent,
    }));
    expect(byCli).toEqual(
      expect.arrayContaining([
        { action: 'create', target: 'nora', userAgent: 'vigil-cli' },
        { action: 'write', target: 'nora', userAgent: 'vigil-cli' },
        { action: 'create', target: 'ci-bot', userAgent: 'vigil-cli' },
        { action: 'write', target: 'ci-bot', userAgent: 'vigil-cli' },
      ]),
    );
    expect(JSON.stringify(byCli)).not.toContain(secret);

    // verify through the server: the chain, then the Merkle tree and its latest head, as the server checks them.
    const verified = await vigil('verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^ok: checked \d+ events/);
    expect(verified.stdout).toMatch(/\ntree ok: \d+ leaves: \d+ recomputed from their events/);

    // verify-export needs neither the database nor the server: files and the pinned key.
    // The server signs its first tree head within a second of start-up.
    await eventually(() => admin.integrity.treeHead.query().then(() => true, () => false), 'a signed tree head');
    const head = await admin.integrity.treeHead.query();
    const note = await (await fetch(`${server.url}/checkpoint`, { headers: { authorization: `Bearer ${token}` } })).text();
    const exported = await (await fetch(`${server.url}/export?format=csv`, { headers: { authorization: `Bearer ${token}` } })).text();
    await writeFile(path.join(dataDir, 'checkpoint.txt'), note);
    await writeFile(path.join(dataDir, 'events.csv'), exported);
    const offline = await vigil('verify-export', '--export', path.join(dataDir, 'events.csv'), '--checkpoint', path.join(dataDir, 'checkpoint.txt'), '--key', head.verifierKey);
    expect(offline).toMatchObject({ code: 0, stderr: '' });
    expect(offline.stdout).toMatch(/^ok: \d+ events \(csv\) against the head of \d+ events/);
    const other = await vigil('verify-export', '--export', path.join(dataDir, 'events.csv'), '--checkpoint', path.join(dataDir, 'checkpoint.txt'), '--key', head.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('the checkpoint does not verify with the given key');
  }, 300_000);

  it('is made anew at each start: the last one stops working, the file is gone while no server runs', async () => {
    const before = await readCredential();
    const asCli = (token: string) => createVigilClient({ url: server!.url, token, retry: { attempts: 0 } });
    expect(await asCli(before.token).auth.me.query()).toMatchObject({ kind: 'user', user: { username: ACTOR, role: 'site_manager' } });
    await server!.stop();
    server = undefined;
    expect(await access(credentialFile()).then(() => true, () => false)).toBe(false);

    server = await start();
    const after = await readCredential();
    expect(after.token).not.toBe(before.token);
    await expect(asCli(before.token).auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const listed = await vigil('user', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('nora\tauditor');
  }, 300_000);
});
