// The administration CLI, in-process and as the real command.
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../../server/context.js';
import { CliError, runCli } from '../../server/cli.js';
import { createCaller } from '../../server/routers/_app.js';
import { createPglite, type TestDatabase } from '../support/databases.js';

const run = promisify(execFile);

describe('vigil CLI', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createPglite();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('adds a user who can then log in, and audits it', async () => {
    const out = await runCli(['user', 'add', 'frank', '--role', 'auditor', '--email', 'frank@example.com'], database.db);
    expect(out[0]).toMatch(/^created auditor frank /);
    const password = /password \(shown once\): (\S+)/.exec(out[1]!)![1]!;
    const caller = createCaller(createContextInner({ db: database.db }));
    const session = await caller.auth.login({ username: 'frank', password });
    expect(session.user).toMatchObject({ username: 'frank', role: 'auditor' });
    const admin = createCaller(
      createContextInner({ db: database.db, caller: { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null } }),
    );
    const [created] = (await admin.events.list({ q: 'action:create resource_target:frank' })).items;
    expect(created!.actor!.username).toMatch(/^cli:/);
    expect(JSON.stringify(created)).not.toContain(password);
  });

  it("`user password` ends the user's sessions", async () => {
    await runCli(['user', 'add', 'hugo', '--role', 'member', '--password', 'hugo password 1'], database.db);
    const { authenticateToken } = await import('../../server/services/auth.js');
    const session = await createCaller(createContextInner({ db: database.db })).auth.login({ username: 'hugo', password: 'hugo password 1' });
    expect(await authenticateToken(database.db, session.token, {}, new Date())).toMatchObject({ kind: 'user', username: 'hugo' });
    expect(await runCli(['user', 'password', 'hugo', '--password', 'hugo password 2'], database.db)).toEqual(['password of hugo changed']);
    expect(await authenticateToken(database.db, session.token, {}, new Date())).toBeNull();
  });

  it('creates a service token that works, and revokes it', async () => {
    const out = await runCli(['token', 'create', 'ingest-bot', '--scopes', 'events:write,events:read', '--expires-days', '7'], database.db);
    const token = /token \(shown once\): (\S+)/.exec(out[1]!)![1]!;
    const id = /\(([0-9a-f-]{36})\)/.exec(out[0]!)![1]!;
    const { authenticateToken } = await import('../../server/services/auth.js');
    expect(await authenticateToken(database.db, token, {}, new Date())).toMatchObject({ kind: 'service', name: 'ingest-bot' });
    expect((await runCli(['token', 'list'], database.db)).join('\n')).toContain('ingest-bot');
    await runCli(['token', 'revoke', id], database.db);
    expect(await authenticateToken(database.db, token, {}, new Date())).toBeNull();
  });

  it.each([
    [['user', 'add', 'gina', '--role', 'emperor'], /--role must be one of/],
    [['user', 'add', 'gina', '--role', 'member', '--password', 'short'], /at least 8 characters/],
    [['token', 'create', 'x', '--scopes', 'events:read'], /include events:write/],
    [['token', 'create', 'x', '--expires-days', '0'], /--expires-days/],
    [['frobnicate'], /usage:/],
  ])('%j is refused clearly', async (argv, message) => {
    await expect(runCli(argv, database.db)).rejects.toSatisfy((e: unknown) => e instanceof CliError && message.test((e as Error).message));
  });

  it('runs as `npm run vigil` and refuses a data directory in use', async () => {
    const env = { ...process.env, VIGIL_DATA_DIR: database.dataDir!, DATABASE_URL: '' };
    const failure = await run('npx', ['tsx', 'server/cli.ts', 'user', 'list'], { env }).catch((e: { stderr: string; code: number }) => e);
    expect((failure as { code: number }).code).toBe(2);
    expect((failure as { stderr: string }).stderr).toContain('in use by another Vigil process');
  });
});

// The real command, as an operator types it: no database is made unasked, and stdout is the answer.
describe('vigil CLI as a command', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'vigil-cli-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function vigil(args: string[], dataDir: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_DATA_DIR: dataDir, DATABASE_URL: '' };
    delete env.LOG_LEVEL;
    return run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], { env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }
  const exists = (file: string) => access(file).then(() => true, () => false);
  const jsonLines = (text: string) => text.split('\n').filter((line) => line.trimStart().startsWith('{'));

  it('--help prints the usage, alone or after a command, without touching a data directory', async () => {
    const dataDir = path.join(root, 'never-made');
    const all = await vigil(['--help'], dataDir);
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(all.stdout).toMatch(/^usage: npm run vigil -- <command>/);
    expect(all.stdout).toContain('token revoke <id>');
    expect(all.stdout).toContain('--create');
    const userAdd = await vigil(['user', 'add', '--help'], dataDir);
    expect(userAdd.code).toBe(0);
    expect(userAdd.stdout).toContain('user add <username> --role');
    expect(userAdd.stdout).not.toContain('token revoke');
    expect(await exists(dataDir)).toBe(false);
  }, 300_000);

  it('refuses an empty data directory unless --create, then prints no log lines unless --verbose', async () => {
    const dataDir = path.join(root, 'empty');
    const refused = await vigil(['user', 'add', 'ivy', '--role', 'auditor'], dataDir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`no Vigil database in ${dataDir}`);
    expect(refused.stderr).toContain('--create');
    expect(refused.stdout).toBe('');
    expect(await exists(dataDir)).toBe(false);

    const created = await vigil(['user', 'add', 'ivy', '--role', 'auditor', '--create'], dataDir);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created auditor ivy /);
    expect(created.stdout).toMatch(/password \(shown once\): \S+/);
    expect(jsonLines(created.stdout + created.stderr)).toEqual([]);

    // The database now exists: no --create needed, and --verbose brings the audit line back.
    const verbose = await vigil(['token', 'create', 'ivy-bot', '--verbose'], dataDir);
    expect(verbose.code).toBe(0);
    expect(verbose.stdout).toContain('created service token ivy-bot');
    const logged = jsonLines(verbose.stdout).map((line) => JSON.parse(line) as { msg: string; fields?: { audit_log?: { resource_target?: string } } });
    expect(logged.some((line) => line.msg === 'audit_log' && line.fields?.audit_log?.resource_target === 'ivy-bot')).toBe(true);
  }, 300_000);
});
