// Admin settings on every test database: get (secrets masked), update (one `write` event
// per changed field with the catalog's display rules, all in one transaction), history,
// validation naming the setting, atomicity under an invalid value and under a database
// failure, and the OAuth client secret absent from the database, the logs, every answer
// and the export.
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, stat, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS, type SettingKey } from '../../shared/settingsCatalog.js';
import { createContextInner } from '../../server/context.js';
import { openDatabase, queryRows, type Database } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import { generateToken } from '../../server/services/auth.js';
import type { Caller } from '../../server/services/caller.js';
import { generateSecretsKey } from '../../server/services/secretsKey.js';
import { revealSecretSetting } from '../../server/services/settings.js';
import { createVigilClient } from '../../shared/client.js';
import { startChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };
const AUDITOR: Caller = { kind: 'user', userId: null, username: 'audrey', email: null, role: 'auditor', tokenId: null };

const CLIENT_ID = '0fb2c1d3e5f7091b2c3d7a4a';
const POLICY_HASH = 'ed19a8c6f1b24d3e9c0a5b7d8e6f4a2c1b3d5e7f9a0b2c4d6e8f0a1b3c5d843b';

/** Every row of every table (in every schema but Postgres' own), as text: what a database dump holds. */
async function dumpDatabase(db: Database): Promise<{ tables: string[]; text: string }> {
  const tables = await queryRows<{ schema: string; name: string }>(
    db,
    sql`select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2`,
  );
  let text = '';
  for (const { schema, name } of tables) {
    const rows = await queryRows<{ row: string }>(db, sql.raw(`select x::text as row from "${schema}"."${name}" x`));
    text += `${schema}.${name}\n${rows.map((r) => r.row).join('\n')}\n`;
  }
  return { tables: tables.map((t) => `${t.schema}.${t.name}`), text };
}

/** Every byte of every file under a directory (a PGlite data directory, at rest). */
async function filesContain(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = Buffer.from(needle, 'utf8');
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await readFile(file)).includes(bytes)) hits.push(file);
  }
  return hits;
}

describe.each(BACKENDS)('settings on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  let server: TestServer;
  const secretsKey = generateSecretsKey();
  const as = (caller: Caller) =>
    createCaller(createContextInner({ db, caller, secretsKey, request: { ip: '10.0.0.5', userAgent: 'vitest' } }));
  const admin = () => as(ADMIN);

  async function settingsEventCount(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from audit_events where resource_type = 'settings'`);
    return Number(row!.n);
  }
  async function values(): Promise<Record<string, unknown>> {
    return Object.fromEntries((await admin().settings.get()).map((s) => [s.key, s.value]));
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    db = database.db;
    server = await startTestServer(db, { secretsKey });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it('get answers every catalog setting with its default, to auditors too', async () => {
    const all = await as(AUDITOR).settings.get();
    expect(all.map((s) => s.key)).toEqual(Object.keys(SETTINGS));
    expect(all.find((s) => s.key === 'gpuVendor')).toMatchObject({
      label: 'GPU Vendor',
      target: 'infrastructure',
      field: 'gpu vendor',
      display: 'plain',
      value: 'none',
      default: 'none',
      isDefault: true,
      updatedAt: null,
    });
    expect(all.find((s) => s.key === 'oauthClientSecret')).toMatchObject({ display: 'secret', value: '', isDefault: true });
  });

  it('one call changes several settings: one write event per changed field, with the seed display values', async () => {
    const result = await admin().settings.update({
      changes: {
        accessUrl: 'coder.com',
        oauthClientId: CLIENT_ID,
        oauthClientSecret: 'first-secret-value',
        systemBannerColorBg: '#9a4967',
        templatePolicy: POLICY_HASH,
        exectrace: true,
        systemBannerEnabled: true,
      },
    });
    // Applied in the catalog's order, whatever the order of the call.
    expect(result.changed.map((c) => c.key)).toEqual([
      'accessUrl',
      'exectrace',
      'oauthClientId',
      'oauthClientSecret',
      'systemBannerEnabled',
      'systemBannerColorBg',
      'templatePolicy',
    ]);
    const page = await as(AUDITOR).events.list({ q: `request_id:${result.requestId}`, limit: 50 });
    expect(page.items).toHaveLength(7);
    const byTarget = page.items.map((e) => [e.resourceTarget, e.diff]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(byTarget).toEqual(
      [
        ['infrastructure', { 'access URL': { old: '', new: 'coder.com' } }],
        ['oauth configs', { 'client id': { old: '', new: '0fb2...7a4a' } }],
        ['oauth configs', { 'client secret': { secret: true } }],
        ['system banner', { 'color bg': { old: '#000000', new: '#9A4967' } }],
        ['local', { 'commit/file hash': { old: '0000...0000', new: 'ed19...843b' } }],
        ['features', { exectrace: { old: 'disabled', new: 'enabled' } }],
        ['system banner', { enabled: { old: false, new: true } }],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const event of page.items) {
      expect(event).toMatchObject({
        action: 'write',
        resourceType: 'settings',
        actor: { username: 'admin' },
        ip: '10.0.0.5',
        userAgent: 'vitest',
        requestId: result.requestId,
      });
      expect(SETTINGS[event.resourceId as SettingKey].target).toBe(event.resourceTarget);
    }

    const now = await admin().settings.get();
    const get = (key: string) => now.find((s) => s.key === key)!;
    expect(get('accessUrl')).toMatchObject({ value: 'coder.com', isDefault: false, updatedBy: 'admin' });
    expect(get('oauthClientId').value).toBe(CLIENT_ID);
    expect(get('oauthClientSecret')).toMatchObject({ value: '******', isDefault: false });
    expect(get('systemBannerColorBg').value).toBe('#9A4967');
    expect(get('templatePolicy').value).toBe(POLICY_HASH);
  });

  it('unchanged values make no event; only what differs is recorded', async () => {
    const before = await settingsEventCount();
    const same = await admin().settings.update({
      changes: { accessUrl: 'coder.com', oauthClientSecret: 'first-secret-value', systemBannerColorBg: '#9A4967', exectrace: true },
    });
    expect(same).toEqual({ requestId: null, changed: [] });
    // `******` (what get shows) keeps a secret.
    expect((await admin().settings.update({ changes: { oauthClientSecret: '******' } })).changed).toEqual([]);
    expect(await settingsEventCount()).toBe(before);

    const mixed = await admin().settings.update({ changes: { accessUrl: 'coder.com', gpuVendor: 'nvidia', exectrace: true } });
    expect(mixed.changed).toEqual([
      expect.objectContaining({ key: 'gpuVendor', target: 'infrastructure', field: 'gpu vendor', diff: { old: 'none', new: 'nvidia' } }),
    ]);
    expect(await settingsEventCount()).toBe(before + 1);
  });

  it('the template policy is shown from -> to, each change from the last', async () => {
    const next = `${'ab'.repeat(20)}`;
    await admin().settings.update({ changes: { templatePolicy: next } });
    const history = await as(AUDITOR).settings.history({ key: 'templatePolicy' });
    expect(history.items.map((e) => e.diff)).toEqual([
      { 'commit/file hash': { old: 'ed19...843b', new: 'abab...abab' } },
      { 'commit/file hash': { old: '0000...0000', new: 'ed19...843b' } },
    ]);
    expect(history.items.every((e) => e.resourceTarget === 'local')).toBe(true);
  });

  it('history by setting and by target, newest first, paginated', async () => {
    await admin().settings.update({ changes: { extMarketplaceType: 'custom' } });
    await admin().settings.update({ changes: { extMarketplaceType: 'public' } });
    const star = await as(AUDITOR).settings.history({ target: '*' });
    expect(star.items.map((e) => e.diff)).toEqual([
      { 'ext marketplace type': { old: 'custom', new: 'public' } },
      { 'ext marketplace type': { old: 'public', new: 'custom' } },
    ]);
    const oauth = await as(AUDITOR).settings.history({ target: 'oauth configs', limit: 1 });
    expect(oauth.items).toHaveLength(1);
    expect(oauth.count).toEqual({ value: 2, capped: false });
    const rest = await as(AUDITOR).settings.history({ target: 'oauth configs', limit: 1, cursor: oauth.nextCursor! });
    expect(rest.items).toHaveLength(1);
    expect([...oauth.items, ...rest.items].map((e) => Object.keys(e.diff)[0]).sort()).toEqual(['client id', 'client secret']);
    // An event some app recorded about another resource does not show up.
    await admin().events.record({ action: 'write', resourceType: 'workspace', resourceTarget: '*', resourceId: 'extMarketplaceType' });
    expect((await as(AUDITOR).settings.history({ target: '*' })).items).toHaveLength(2);
    expect((await as(AUDITOR).settings.history({ key: 'extMarketplaceType' })).items).toHaveLength(2);

    await expect(as(AUDITOR).settings.history({})).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'key: give either a setting key or a target' });
    await expect(as(AUDITOR).settings.history({ key: 'accessUrl', target: '*' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(as(AUDITOR).settings.history({ key: 'nope' as SettingKey })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^key: unknown setting "nope"; valid settings: accessUrl, /),
    });
  });

  it('only site managers change settings', async () => {
    await expect(as(AUDITOR).settings.update({ changes: { gpuVendor: 'amd' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await values()).gpuVendor).toBe('nvidia');
  });

  it('validation names the setting, over HTTP too', async () => {
    const { status, body } = await rawCall(server, 'settings.update', {
      body: JSON.stringify({ changes: { gpuVendor: 'intel', systemBannerColorBg: 'red' } }),
    });
    expect(status).toBe(400);
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.message).toBe(
      'changes.gpuVendor: GPU Vendor must be one of amd, nvidia, none, got "intel"; ' +
        'changes.systemBannerColorBg: Background color must be a colour like #9A4967, got "red"',
    );
    const unknown = await rawCall(server, 'settings.update', { body: JSON.stringify({ changes: { gpuVendr: 'amd' } }) });
    expect(unknown.body.error.message).toMatch(/^changes: unknown setting "gpuVendr"; valid settings: accessUrl, gpuVendor, /);
  });

  it('five changes where the fifth is invalid change nothing and record nothing', async () => {
    const before = await values();
    const events = await settingsEventCount();
    await expect(
      admin().settings.update({
        changes: {
          accessUrl: 'https://five.example.com',
          gpuVendor: 'amd',
          systemBannerHeader: 'UNCLASSIFIED',
          oauthClientSecret: 'never-stored-secret',
          serviceBannerColorBg: '#18382G',
        },
      }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'changes.serviceBannerColorBg: Background color must be a colour like #9A4967, got "#18382G"',
    });
    expect(await values()).toEqual(before);
    expect(await settingsEventCount()).toBe(events);
  });

  describe('a database failure in the middle leaves settings and events unchanged', () => {
    async function withFailingTrigger(table: 'settings' | 'audit_events', when: string, run: () => Promise<void>) {
      await db.execute(sql`create or replace function vigil_test_fail() returns trigger language plpgsql as $$
        begin raise exception 'injected failure'; end $$`);
      await db.execute(sql.raw(`create trigger vigil_test_fail before insert or update on ${table} for each row when (${when}) execute function vigil_test_fail()`));
      try {
        await run();
      } finally {
        await db.execute(sql.raw(`drop trigger vigil_test_fail on ${table}`));
        await db.execute(sql`drop function vigil_test_fail()`);
      }
    }
    /** The update fails with the injected database error (not some other one). */
    async function expectInjectedFailure(call: Promise<unknown>) {
      const error = await call.then(
        () => expect.fail('the update should have failed'),
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
      const messages: string[] = [];
      for (let e = error as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(String(e.message));
      expect(messages.join(' | ')).toContain('injected failure');
    }
    const changes = {
      accessUrl: 'https://failure.example.com',
      gpuVendor: 'amd',
      oauthClientSecret: 'never-stored-either',
      systemBannerFooter: 'UNCLASSIFIED',
      exectrace: false,
    } as const;

    it('the fourth setting cannot be written', async () => {
      const before = await values();
      const events = await settingsEventCount();
      await withFailingTrigger('settings', `new.key = 'systemBannerFooter'`, async () => {
        await expectInjectedFailure(admin().settings.update({ changes }));
      });
      expect(await values()).toEqual(before);
      expect(await settingsEventCount()).toBe(events);
      expect(await revealSecretSetting(db, secretsKey, 'oauthClientSecret')).toBe('first-secret-value');
    });

    it('the audit events cannot be written (after every setting was)', async () => {
      const before = await values();
      const events = await settingsEventCount();
      await withFailingTrigger('audit_events', `new.resource_target = 'system banner'`, async () => {
        await expectInjectedFailure(admin().settings.update({ changes }));
      });
      expect(await values()).toEqual(before);
      expect(await settingsEventCount()).toBe(events);
      expect(await revealSecretSetting(db, secretsKey, 'oauthClientSecret')).toBe('first-secret-value');
      // Once the failure is gone the same change goes through, and the chain still verifies.
      expect((await admin().settings.update({ changes })).changed).toHaveLength(5);
      expect(await admin().integrity.verify()).toMatchObject({ ok: true });
    });
  });

  it('concurrent changes of one setting are serialised: each diff starts from the last value', async () => {
    const urls = Array.from({ length: 6 }, (_, i) => `https://race-${i}.example.com`);
    await Promise.all(urls.map((accessUrl) => admin().settings.update({ changes: { accessUrl } })));
    const history = (await as(AUDITOR).settings.history({ key: 'accessUrl', limit: 6 })).items.reverse();
    expect(history).toHaveLength(6);
    const diffs = history.map((e) => e.diff['access URL']!);
    for (let i = 1; i < diffs.length; i++) expect(diffs[i]!.old).toBe(diffs[i - 1]!.new);
    expect(new Set(diffs.map((d) => d.new))).toEqual(new Set(urls));
  });

  it('the OAuth client secret is encrypted at rest and in no row, answer or export', async () => {
    const secret = `known-oauth-secret-${randomUUID()}`;
    // Set over HTTP, then walk every path it could leak through.
    const set = await server.client.settings.update.mutate({ changes: { oauthClientSecret: secret, oauthName: 'GitHub' } });
    expect(set.changed.map((c) => c.key)).toEqual(['oauthClientSecret', 'oauthName']);
    expect(JSON.stringify(set)).not.toContain(secret);
    // A refused change holding the secret does not echo it.
    const refused = await rawCall(server, 'settings.update', { body: JSON.stringify({ changes: { oauthClientSecret: secret, gpuVendor: 'x' } }) });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain(secret);
    const tooLong = await rawCall(server, 'settings.update', { body: JSON.stringify({ changes: { oauthClientSecret: secret.repeat(40) } }) });
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body)).not.toContain(secret.slice(0, 20));

    // It is stored, and only Vigil itself can read it back.
    expect(await revealSecretSetting(db, secretsKey, 'oauthClientSecret')).toBe(secret);
    await expect(revealSecretSetting(db, generateSecretsKey(), 'oauthClientSecret')).rejects.toThrow(/encrypted with key/);

    const dump = await dumpDatabase(db);
    expect(dump.tables).toEqual(expect.arrayContaining(['public.audit_events', 'public.settings', 'public.users', 'public.api_tokens']));
    expect(dump.text).toContain('oauthClientSecret');
    expect(dump.text).toContain(CLIENT_ID); // a plain value is there: the dump sees the settings
    expect(dump.text).not.toContain(secret);
    expect(dump.text).not.toContain('first-secret-value');
    expect(dump.text).not.toContain('never-stored');

    const answers = await Promise.all([
      rawCall(server, 'settings.get', { method: 'GET' }),
      rawCall(server, 'settings.history', { method: 'GET', input: { key: 'oauthClientSecret' } }),
      rawCall(server, 'settings.history', { method: 'GET', input: { target: 'oauth configs' } }),
      rawCall(server, 'events.list', { method: 'GET', input: { q: 'resource_type:settings', limit: 200 } }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(secret);
    }
    expect(JSON.stringify(answers[1]!.body)).toContain('"client secret":{"secret":true}');

    for (const format of ['ndjson', 'csv']) {
      const response = await fetch(`${server.url}/export?format=${format}&q=${encodeURIComponent('resource_type:settings')}`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      expect(response.status, format).toBe(200);
      const text = await response.text();
      expect(text, format).toContain('client secret');
      expect(text, format).not.toContain(secret);
    }
  });

  // Two server processes start and stop in turn (a longer time-out: on a loaded machine that alone can take a minute).
  it('a server process: the secret is in no log line, no file of its data directory, and its generated key persists', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-settings-'));
    const token = generateToken();
    const secret = `child-oauth-secret-${randomUUID()}`;
    const env = {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_ADMIN_TOKEN: token,
      LOG_LEVEL: 'trace',
      VIGIL_CHECKPOINT_MINUTES: '0',
      ...(backend === 'postgres' ? { DATABASE_URL: database.url! } : {}),
    };
    let output = '';
    try {
      let child = await startChildServer(env);
      try {
        const client = createVigilClient({ url: child.url, token });
        await client.settings.update.mutate({ changes: { oauthClientSecret: secret, oauthClientId: CLIENT_ID } });
        // The same value again, a refused change and a failing one carrying it, reads and an export.
        expect((await client.settings.update.mutate({ changes: { oauthClientSecret: secret } })).changed).toEqual([]);
        const refused = await rawCall({ url: child.url, token }, 'settings.update', {
          body: JSON.stringify({ changes: { oauthClientSecret: `${secret}-2`, templatePolicy: 'nope' } }),
        });
        expect(refused.status).toBe(400);
        await client.settings.get.query();
        await client.settings.history.query({ target: 'oauth configs' });
        await client.events.list.query({ q: 'resource_type:settings' });
        const exported = await fetch(`${child.url}/export?format=ndjson`, { headers: { authorization: `Bearer ${token}` } });
        expect(exported.status).toBe(200);
        expect(await exported.text()).not.toContain(secret);
        if (backend === 'postgres') {
          // A database failure while the secret is being changed is logged with its query: no secret in it.
          await db.execute(sql`create function vigil_test_fail() returns trigger language plpgsql as $$
            begin raise exception 'injected failure'; end $$`);
          await db.execute(sql`create trigger vigil_test_fail before insert on audit_events for each row
            when (new.resource_target = 'oauth configs') execute function vigil_test_fail()`);
          try {
            const failed = await rawCall({ url: child.url, token }, 'settings.update', {
              body: JSON.stringify({ changes: { oauthClientSecret: `${secret}-failed` } }),
            });
            expect(failed.status).toBe(500);
            expect(JSON.stringify(failed.body)).not.toContain(secret);
          } finally {
            await db.execute(sql`drop trigger vigil_test_fail on audit_events`);
            await db.execute(sql`drop function vigil_test_fail()`);
          }
          await expect.poll(() => child.output()).toContain('injected failure');
        }
      } finally {
        output += child.output();
        await child.stop();
      }

      const keyFile = await stat(path.join(dataDir, 'secrets.key'));
      expect(keyFile.mode & 0o777).toBe(0o600);

      // Restarted on the same data directory, the generated key still opens the secret:
      // setting the same value again is no change.
      child = await startChildServer(env);
      try {
        const client = createVigilClient({ url: child.url, token });
        expect((await client.settings.update.mutate({ changes: { oauthClientSecret: secret } })).changed).toEqual([]);
        expect((await client.settings.update.mutate({ changes: { oauthClientSecret: `${secret}-rotated` } })).changed).toHaveLength(1);
      } finally {
        output += child.output();
        await child.stop();
      }

      // The log: the events were logged (audit_log lines), the secret never.
      expect(output).toContain('"audit_log"');
      expect(output).toContain('client secret');
      expect(output).not.toContain(secret);

      if (backend === 'pglite') {
        // At rest: no file of the data directory holds it (the database files included).
        expect(await filesContain(dataDir, secret)).toEqual([]);
        expect((await filesContain(dataDir, CLIENT_ID)).length).toBeGreaterThan(0); // the scan does see stored values
        const reopened = await openDatabase({ dataDir });
        try {
          expect((await dumpDatabase(reopened.db)).text).not.toContain(secret);
        } finally {
          await reopened.close();
        }
      } else {
        expect((await dumpDatabase(db)).text).not.toContain(secret);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});
