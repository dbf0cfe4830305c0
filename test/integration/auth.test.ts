// Login, tokens, users and the first site manager, on every test database.
import { TEST_EXTENSION_ID } from '../support/testExtension.js';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../../server/context.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { queryRows } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import { ensureFirstSiteManager, hashToken, recordThrottledLogins } from '../../server/services/auth.js';
import type { Caller } from '../../server/services/caller.js';
import { createLoginThrottle } from '../../server/services/loginThrottle.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };

describe.each(BACKENDS)('identity on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const throttle = createLoginThrottle({ recordRefusals: (window) => recordThrottledLogins(new EventWriter(database.db), window) });
  const from = (ip: string, caller: Caller | null = null) =>
    createCaller(createContextInner({ db: database.db, caller, request: { ip, userAgent: 'vitest' }, loginThrottle: throttle }));
  const admin = () => from('10.0.0.1', ADMIN);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db);
    await admin().users.create({ username: 'Carol', email: 'carol@example.com', role: 'auditor', password: 'carol password 1' });
  });
  afterAll(async () => {
    await throttle.flush();
    await server?.close();
    await database?.destroy();
  });

  async function loginEvents(target: string) {
    return (await admin().events.list({ q: `action:login resource_target:${target}`, limit: 200 })).items;
  }

  it('first start creates the site manager admin once', async () => {
    const fresh = await createTestDatabase(backend);
    try {
      const first = await ensureFirstSiteManager(fresh.db, new EventWriter(fresh.db), {});
      expect(first).toMatchObject({ created: true, username: 'admin' });
      const password = (first as { generatedPassword: string }).generatedPassword;
      expect(password.length).toBeGreaterThanOrEqual(16);
      expect(await ensureFirstSiteManager(fresh.db, new EventWriter(fresh.db), {})).toEqual({ created: false });
      const caller = createCaller(createContextInner({ db: fresh.db }));
      const session = await caller.auth.login({ username: 'admin', password });
      expect(session.user.role).toBe('site_manager');
      const withPreset = await createTestDatabase(backend);
      try {
        expect(await ensureFirstSiteManager(withPreset.db, new EventWriter(withPreset.db), { password: 'preset password' })).toEqual({ created: true, username: 'admin' });
        await expect(createCaller(createContextInner({ db: withPreset.db })).auth.login({ username: 'admin', password: 'preset password' })).resolves.toMatchObject({ user: { username: 'admin', role: 'site_manager' } });
      } finally {
        await withPreset.destroy();
      }
    } finally {
      await fresh.destroy();
    }
  });

  it('login returns a token for the user, case-insensitively by username, and records it', async () => {
    const session = await from('10.1.1.1').auth.login({ username: 'carol', password: 'carol password 1' });
    expect(session.user).toMatchObject({ username: 'Carol', email: 'carol@example.com', role: 'auditor' });
    expect(session.token).toMatch(/^vgl_/);
    const me = await rawCall({ url: server.url, token: session.token }, 'auth.me', { method: 'GET' });
    expect(me.body.result.data).toMatchObject({ kind: 'user', user: { username: 'Carol', role: 'auditor' } });
    const [event] = await loginEvents('carol');
    expect(event).toMatchObject({
      action: 'login',
      resourceType: 'user',
      statusCode: 200,
      ip: '10.1.1.1',
      userAgent: 'vitest',
      actor: { username: 'Carol', email: 'carol@example.com' },
    });
  });

  it('failed logins are recorded, unknown usernames too, with one answer for both', async () => {
    await expect(from('10.2.2.2').auth.login({ username: 'carol', password: 'nope' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'wrong username or password',
    });
    await expect(from('10.2.2.2').auth.login({ username: 'mallory', password: 'nope' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'wrong username or password',
    });
    const [wrong] = await loginEvents('carol');
    expect(wrong).toMatchObject({ statusCode: 401, ip: '10.2.2.2', metadata: { outcome: 'wrong_password' } });
    const [unknown] = await loginEvents('mallory');
    expect(unknown).toMatchObject({ statusCode: 401, actor: { username: 'mallory' }, metadata: { outcome: 'unknown_user' } });
    // The attempted password is never recorded.
    const [raw] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from audit_events where metadata::text like '%nope%' or diff::text like '%nope%'`);
    expect(Number(raw!.n)).toBe(0);
  });

  it('1,000 wrong passwords are throttled, the refusals recorded as one event; the right password from another ip still works', async () => {
    await admin().users.create({ username: 'victim', role: 'member', password: 'victim password 1' });
    const attacker = from('203.0.113.9');
    const codes: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      try {
        await attacker.auth.login({ username: 'victim', password: `guess-${i}` });
        codes.OK = (codes.OK ?? 0) + 1;
      } catch (error) {
        const code = (error as { code: string }).code;
        codes[code] = (codes[code] ?? 0) + 1;
      }
    }
    expect(codes.OK).toBeUndefined();
    expect(codes.UNAUTHORIZED).toBe(10);
    expect(codes.TOO_MANY_REQUESTS).toBe(990);
    // Even the right password is refused from the throttled source...
    await expect(attacker.auth.login({ username: 'victim', password: 'victim password 1' })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });
    // ...but the real user, elsewhere, gets in.
    await expect(from('198.51.100.7').auth.login({ username: 'victim', password: 'victim password 1' })).resolves.toMatchObject({
      user: { username: 'victim' },
    });
    await throttle.flush();
    const [counts] = await queryRows<{ throttled: number; failed: number; ok: number }>(
      database.db,
      sql`select count(*) filter (where status_code = 429)::int as throttled,
                 count(*) filter (where status_code = 401)::int as failed,
                 count(*) filter (where status_code = 200)::int as ok
          from audit_events where action = 'login' and resource_target = 'victim'`,
    );
    // 991 refused attempts, one row.
    expect(counts).toEqual({ throttled: 1, failed: 10, ok: 1 });
    const throttled = (await loginEvents('victim')).filter((e) => e.statusCode === 429);
    expect(throttled).toEqual([
      expect.objectContaining({
        actor: { id: null, username: 'victim', email: null },
        ip: '203.0.113.9',
        metadata: expect.objectContaining({ outcome: 'throttled', attempts: 991, addresses: ['203.0.113.9'], addressCount: 1 }),
      }),
    ]);
  });

  it('10 addresses x 10 wrong passwords slow the username down, and the right password from a fresh address gets in', async () => {
    await admin().users.create({ username: 'spread-victim', role: 'member', password: 'spread password 1' });
    const attackers = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
    const codes = (
      await Promise.all(
        attackers.map(async (ip) => {
          const seen: string[] = [];
          for (let j = 0; j < 10; j++) {
            await from(ip)
              .auth.login({ username: 'spread-victim', password: `guess-${ip}-${j}` })
              .then(() => seen.push('OK'), (e: { code: string }) => seen.push(e.code));
          }
          return seen;
        }),
      )
    ).flat();
    expect(codes).toHaveLength(100);
    expect(codes.filter((c) => c !== 'UNAUTHORIZED' && c !== 'TOO_MANY_REQUESTS')).toEqual([]);
    // The real user, from an address that has not failed, gets in.
    const fresh = '127.0.0.12';
    await expect(from(fresh).auth.login({ username: 'spread-victim', password: 'spread password 1' })).resolves.toMatchObject({
      user: { username: 'spread-victim' },
    });
    // The addresses that had failed took turns: some were told to come back instead of being checked.
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS').length).toBeGreaterThan(0);
    // The username is slowed, never closed, for an address that has not failed on it.
    const admission = await throttle.admit('spread-victim', '127.0.0.13');
    expect(admission.refuseMs).toBe(0);
    expect(admission.delayMs).toBeGreaterThan(0);
    await throttle.flush();
    const refusals = (await loginEvents('spread-victim')).filter((e) => e.statusCode === 429);
    expect(refusals.length).toBeLessThanOrEqual(2);
    expect(refusals.reduce((sum, e) => sum + (e.metadata as { attempts: number }).attempts, 0)).toBe(codes.filter((c) => c === 'TOO_MANY_REQUESTS').length);
  });

  it('refused attempts are written as one event when their window closes', async () => {
    const windowed = createLoginThrottle({
      recordRefusals: (window) => recordThrottledLogins(new EventWriter(database.db), window),
      policy: { refusalWindowMs: 300 },
    });
    const guesser = createCaller(createContextInner({ db: database.db, request: { ip: '192.0.2.44', userAgent: null }, loginThrottle: windowed }));
    const refused = async () => (await loginEvents('windowed')).filter((e) => e.statusCode === 429);
    let tooMany = 0;
    for (let i = 0; i < 300; i++) {
      await guesser.auth.login({ username: 'windowed', password: `guess-${i}` }).catch((e: { code: string }) => {
        if (e.code === 'TOO_MANY_REQUESTS') tooMany++;
      });
    }
    expect(tooMany).toBe(290);
    const counted = async () => (await refused()).reduce((sum, e) => sum + (e.metadata as { attempts: number }).attempts, 0);
    // Written by the window's timer: no flush here.
    await eventually(async () => (await counted()) === 290, 'every refused attempt to be recorded');
    // However many windows the loop spanned, far fewer rows than refusals.
    expect((await refused()).length).toBeLessThan(20);
  });

  it('one ip guessing many usernames is stopped too', async () => {
    const sprayer = from('203.0.113.77');
    let throttled = 0;
    for (let i = 0; i < 110; i++) {
      await sprayer.auth.login({ username: `nobody-${i}`, password: 'x' }).catch((e: { code: string }) => {
        if (e.code === 'TOO_MANY_REQUESTS') throttled++;
      });
    }
    expect(throttled).toBe(10);
  });

  it("VIGIL_ADMIN_TOKEN's acts are recorded as bootstrap-token, never as a user", async () => {
    const me = await server.client.auth.me.query();
    expect(me).toMatchObject({ kind: 'user', user: { id: null, username: 'bootstrap-token', role: 'site_manager' } });
    const created = await server.client.users.create.mutate({ username: 'made-by-automation', role: 'member', password: 'automation password 1' });
    const [event] = (await admin().events.list({ q: `action:create resource_id:${created.id}`, limit: 5 })).items;
    expect(event!.actor).toEqual({ id: null, username: 'bootstrap-token', email: null });
    // Nobody can take the name, so the actor stays unambiguous.
    await expect(
      server.client.users.create.mutate({ username: 'Bootstrap-Token', role: 'member', password: 'automation password 1' }),
    ).rejects.toMatchObject({ message: 'username: bootstrap-token is reserved for VIGIL_ADMIN_TOKEN' });
  });

  it('the database holds no usable token', async () => {
    const session = await from('10.3.3.3').auth.login({ username: 'carol', password: 'carol password 1' });
    const service = await admin().tokens.create({ name: 'ci-bot', scopes: ['events:write'] });
    const rows = await queryRows<Record<string, unknown>>(database.db, sql`select * from api_tokens`);
    const dump = JSON.stringify(rows);
    for (const token of [session.token, service.token]) {
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.slice(4));
      expect(dump).toContain(hashToken(token));
      // What is stored does not work as a bearer token.
      const asBearer = await rawCall({ url: server.url, token: hashToken(token) }, 'auth.me', { method: 'GET' });
      expect(asBearer.status).toBe(401);
    }
    // Nor does any audit row carry a token.
    const events = JSON.stringify(await queryRows(database.db, sql`select * from audit_events`));
    expect(events).not.toContain(session.token);
    expect(events).not.toContain(service.token);
    expect(events).not.toContain(hashToken(service.token));
  });

  it('service tokens: created with scopes, last use kept, revoked, each audited', async () => {
    const created = await admin().tokens.create({ name: 'deployer', scopes: ['events:write', 'events:read'], expiresInDays: 30 });
    expect(created.scopes).toEqual(['events:write', 'events:read']);
    expect(Date.parse(created.expiresAt!)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const bot = { url: server.url, token: created.token };
    expect((await rawCall(bot, 'events.list', { method: 'GET', input: { limit: 1 } })).status).toBe(200);
    const listed = (await admin().tokens.list()).find((t) => t.id === created.id)!;
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.token);

    await admin().tokens.revoke({ id: created.id });
    expect((await rawCall(bot, 'events.list', { method: 'GET', input: { limit: 1 } })).status).toBe(401);

    const events = (await admin().events.list({ q: `resource_type:token resource_id:${created.id}` })).items;
    expect(events.map((e) => [e.action, e.diff])).toEqual([
      ['write', { revoked: { old: false, new: true } }],
      [
        'create',
        {
          name: { new: 'deployer' },
          scopes: { new: ['events:write', 'events:read'] },
          expires_at: { new: created.expiresAt },
          token: { secret: true },
        },
      ],
    ]);
    expect(events[0]!.actor).toEqual({ id: null, username: 'admin', email: null });
  });

  it('user changes are audited with diffs; the password never appears', async () => {
    const dave = await admin().users.create({ username: 'dave', email: 'dave@example.com', role: 'member', password: 'dave password 1' });
    await admin().users.setRole({ id: dave.id, role: 'auditor' });
    await admin().users.setDisabled({ id: dave.id, disabled: true });
    await admin().users.setPassword({ id: dave.id, password: 'dave password 2' });
    const events = (await admin().events.list({ q: `resource_type:user resource_id:${dave.id}` })).items;
    expect(events.map((e) => [e.action, e.diff])).toEqual([
      ['write', { password: { secret: true } }],
      ['write', { disabled: { old: false, new: true } }],
      ['write', { role: { old: 'member', new: 'auditor' } }],
      ['create', { username: { new: 'dave' }, email: { new: 'dave@example.com' }, role: { new: 'member' }, password: { secret: true } }],
    ]);
    const dump = JSON.stringify(await queryRows(database.db, sql`select * from audit_events`));
    expect(dump).not.toContain('dave password');
    // A disabled user cannot log in, and the attempt is recorded as such.
    await expect(from('10.4.4.4').auth.login({ username: 'dave', password: 'dave password 2' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await loginEvents('dave'))[0]).toMatchObject({ statusCode: 401, metadata: { outcome: 'disabled' } });
  });

  it('a disabled user loses access at once; re-enabled, the session works again', async () => {
    const erin = await admin().users.create({ username: 'erin', role: 'auditor', password: 'erin password 1' });
    const { token } = await from('10.5.5.5').auth.login({ username: 'erin', password: 'erin password 1' });
    const as = { url: server.url, token };
    expect((await rawCall(as, 'events.list', { method: 'GET', input: {} })).status).toBe(200);
    await admin().users.setDisabled({ id: erin.id, disabled: true });
    expect((await rawCall(as, 'events.list', { method: 'GET', input: {} })).status).toBe(401);
    await admin().users.setDisabled({ id: erin.id, disabled: false });
    expect((await rawCall(as, 'events.list', { method: 'GET', input: {} })).status).toBe(200);
  });

  it("a password reset ends the user's sessions, except the resetter's own", async () => {
    const frida = await admin().users.create({ username: 'frida', role: 'site_manager', password: 'frida password 1' });
    const sessions = [
      await from('10.7.7.1').auth.login({ username: 'frida', password: 'frida password 1' }),
      await from('10.7.7.2').auth.login({ username: 'frida', password: 'frida password 1' }),
    ];
    const me = (token: string) => rawCall({ url: server.url, token }, 'auth.me', { method: 'GET' });
    for (const { token } of sessions) expect((await me(token)).status).toBe(200);
    await admin().users.setPassword({ id: frida.id, password: 'frida password 2' });
    for (const { token } of sessions) expect((await me(token)).status).toBe(401);
    const [reset] = (await admin().events.list({ q: `action:write resource_id:${frida.id}`, limit: 1 })).items;
    expect(reset).toMatchObject({ diff: { password: { secret: true } }, metadata: { sessionsEnded: 2 } });
    // Frida changing her own password keeps the session she does it with, and ends the others.
    const mine = await from('10.7.7.3').auth.login({ username: 'frida', password: 'frida password 2' });
    const elsewhere = await from('10.7.7.4').auth.login({ username: 'frida', password: 'frida password 2' });
    const change = await rawCall({ url: server.url, token: mine.token }, 'users.setPassword', {
      body: JSON.stringify({ id: frida.id, password: 'frida password 3' }),
    });
    expect(change.status).toBe(200);
    expect((await me(mine.token)).status).toBe(200);
    expect((await me(elsewhere.token)).status).toBe(401);
    const [revoked] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from api_tokens where user_id = ${frida.id} and kind = 'session' and revoked_at is not null`,
    );
    expect(Number(revoked!.n)).toBe(3);
  });

  it('logout ends only that session', async () => {
    const one = await from('10.6.6.6').auth.login({ username: 'carol', password: 'carol password 1' });
    const two = await from('10.6.6.6').auth.login({ username: 'carol', password: 'carol password 1' });
    expect((await rawCall({ url: server.url, token: one.token }, 'auth.logout', { body: '' })).body.result.data).toEqual({ loggedOut: true });
    expect((await rawCall({ url: server.url, token: one.token }, 'auth.me', { method: 'GET' })).status).toBe(401);
    expect((await rawCall({ url: server.url, token: two.token }, 'auth.me', { method: 'GET' })).status).toBe(200);
  });

  it('username:me is the caller', async () => {
    const { token } = await from('10.7.7.7').auth.login({ username: 'carol', password: 'carol password 1' });
    const page = await rawCall({ url: server.url, token }, 'events.list', { method: 'GET', input: { q: 'username:me action:login' } });
    expect(page.body.result.data.items.length).toBeGreaterThan(0);
    expect(page.body.result.data.items.every((e: { actor: { username: string } }) => e.actor.username === 'Carol')).toBe(true);
  });

  it('bad input is a clear error and changes nothing', async () => {
    await expect(admin().users.create({ username: 'carol', role: 'member', password: 'long enough 1' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'username: carol is taken',
    });
    await expect(admin().users.create({ username: 'x y', role: 'member', password: 'long enough 1' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('username:'),
    });
    await expect(admin().users.create({ username: 'shorty', role: 'member', password: 'short' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'password: at least 8 characters',
    });
    await expect(admin().users.create({ username: 'rolo', role: 'king' as never, password: 'long enough 1' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('role: unknown role "king"'),
    });
    await expect(admin().tokens.create({ name: 'reader-only', scopes: ['events:read'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('scopes: a service token records events'),
    });
    const names = (await admin().users.list()).map((u) => u.username);
    expect(names).not.toContain('x y');
    expect(names).not.toContain('shorty');
  });

  it('the last active site manager cannot be demoted or disabled', async () => {
    const users = await admin().users.list();
    const managers = users.filter((u) => u.role === 'site_manager' && !u.disabled);
    // Demote all but one, then the last refuses.
    const fresh = await admin().users.create({ username: 'solo-manager', role: 'site_manager', password: 'solo password 1' });
    for (const m of managers) await admin().users.setRole({ id: m.id, role: 'auditor' });
    await expect(admin().users.setRole({ id: fresh.id, role: 'member' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'id: solo-manager is the last active site manager',
    });
    await expect(admin().users.setDisabled({ id: fresh.id, disabled: true })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await admin().users.list()).find((u) => u.id === fresh.id)).toMatchObject({ role: 'site_manager', disabled: false });
  });
});

describe('CORS', () => {
  let database: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    server = await startTestServer(database.db);
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it.each([
    // Vigil's own extension (the test servers allow the test build's id), not any other.
    [`chrome-extension://${TEST_EXTENSION_ID}`, true],
    ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', false],
    ['chrome-extension://not-an-extension-id', false],
    ['moz-extension://4b1e3c52-8a7d-4d3e-9c1f-2a6b7e8d9f00', true],
    ['https://evil.example', false],
    ['http://127.0.0.1:3000', false],
  ])('origin %s allowed: %s', async (origin, allowed) => {
    const response = await fetch(`${server.url}/trpc/events.list`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed ? origin : null);
  });
});
