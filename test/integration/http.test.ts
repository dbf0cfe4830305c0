// The HTTP surface: what a client that sends bad bytes, no token or too much gets back,
// and that the server keeps serving (and keeps what it stored) afterwards.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/database.js';
import { createVigilClient } from '../../shared/client.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';

describe.each(BACKENDS)('HTTP on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const MAX_BODY = 256 * 1024;

  async function storedCount(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from audit_events`);
    return Number(row!.n);
  }

  async function stillServing() {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'reachable' });
    const page = await server.client.events.list.query({ limit: 1 });
    expect(page.count?.value).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db, { maxBodyBytes: MAX_BODY });
    await server.client.events.record.mutate({ action: 'create', resourceType: 'user', resourceTarget: 'kept@example.com' });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it('records and lists through the typed client', async () => {
    const stored = await server.client.events.record.mutate({
      action: 'cordon',
      resourceType: 'workspace_provider',
      resourceTarget: 'eu-west',
      actor: { username: 'ops' },
    });
    const got = await server.client.events.get.query({ id: stored.id });
    expect(got).toMatchObject({ action: 'cordon', resourceTarget: 'eu-west', actor: { username: 'ops' } });
  });

  it.each([
    ['unknown action', { action: 'nuke', resourceType: 'user', resourceTarget: 'x' }, 'action: unknown action "nuke"'],
    ['missing target', { action: 'create', resourceType: 'user' }, 'resourceTarget:'],
    ['empty target', { action: 'create', resourceType: 'user', resourceTarget: '   ' }, 'resourceTarget:'],
    ['unknown resource type', { action: 'create', resourceType: 'planet', resourceTarget: 'x' }, 'resourceType: unknown resource type "planet"'],
    ['oversized metadata', { action: 'create', resourceType: 'user', resourceTarget: 'x', metadata: { blob: 'x'.repeat(9000) } }, 'metadata: larger than 8192 bytes'],
    ['bad time', { action: 'create', resourceType: 'user', resourceTarget: 'x', time: 'yesterday' }, 'time:'],
    ['bad ip', { action: 'create', resourceType: 'user', resourceTarget: 'x', ip: '999.1.1.1' }, 'ip: must be an IPv4 or IPv6 address'],
    ['unknown field', { action: 'create', resourceType: 'user', resourceTarget: 'x', colour: 'red' }, 'colour'],
    ['bad status code', { action: 'login', resourceType: 'user', resourceTarget: 'x', statusCode: 7 }, 'statusCode:'],
  ])('%s is BAD_REQUEST naming the field, and nothing is stored', async (_name, event, message) => {
    const before = await storedCount();
    const { status, body } = await rawCall(server, 'events.record', { body: JSON.stringify(event) });
    expect(status).toBe(400);
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.message).toContain(message);
    expect(body.error.data.issues.length).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain('stack');
    expect(await storedCount()).toBe(before);
    await stillServing();
  });

  it('a batch over 1000 events is BAD_REQUEST and stores nothing', async () => {
    const before = await storedCount();
    const events = Array.from({ length: 1001 }, (_, i) => ({ action: 'login', resourceType: 'user', resourceTarget: `u${i}` }));
    const { status, body } = await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events }) });
    expect(status).toBe(400);
    expect(body.error.message).toContain('events: a batch holds at most 1000 events');
    expect(await storedCount()).toBe(before);
    await stillServing();
  });

  it('a body over the size limit is PAYLOAD_TOO_LARGE', async () => {
    const before = await storedCount();
    const events = Array.from({ length: 400 }, (_, i) => ({
      action: 'write',
      resourceType: 'template',
      resourceTarget: `t${i}`,
      metadata: { note: 'y'.repeat(1000) },
    }));
    const { status, body } = await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events }) });
    expect(status).toBe(413);
    expect(body.error.data.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await storedCount()).toBe(before);
    await stillServing();
  });

  it('malformed JSON is BAD_REQUEST naming the body', async () => {
    const before = await storedCount();
    const { status, body } = await rawCall(server, 'events.record', { body: '{"action": "create", ' });
    expect(status).toBe(400);
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.message).toMatch(/^body: not valid JSON/);
    expect(await storedCount()).toBe(before);
    await stillServing();
  });

  it('a malformed cursor and a bad query are BAD_REQUEST over HTTP too', async () => {
    const cursor = await rawCall(server, 'events.list', { input: { cursor: '%%%' } });
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.message).toContain('cursor: malformed');
    const query = await rawCall(server, 'events.list', { input: { q: 'date_to:2026-13-01' } });
    expect(query.status).toBe(400);
    expect(query.body.error.message).toBe('q: term "date_to:2026-13-01" has an invalid date "2026-13-01"; use YYYY-MM-DD');
    const limit = await rawCall(server, 'events.list', { input: { limit: 500 } });
    expect(limit.status).toBe(400);
    expect(limit.body.error.message).toContain('limit:');
    await stillServing();
  });

  it('without a valid token every procedure is UNAUTHORIZED', async () => {
    for (const token of [null, 'wrong-token', `${server.token}x`]) {
      const list = await rawCall(server, 'events.list', { input: {}, token });
      expect(list.status).toBe(401);
      expect(list.body.error.data.code).toBe('UNAUTHORIZED');
      const before = await storedCount();
      const record = await rawCall(server, 'events.record', {
        body: JSON.stringify({ action: 'create', resourceType: 'user', resourceTarget: 'sneaky' }),
        token,
      });
      expect(record.status).toBe(401);
      expect(await storedCount()).toBe(before);
    }
  });

  it('a client made without a token sends no Authorization header', async () => {
    const seen: (string | null)[] = [];
    const spyingFetch: typeof fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return fetch(input, init);
    };
    const anonymous = createVigilClient({ url: server.url, fetch: spyingFetch });
    await expect(anonymous.events.list.query({})).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const authed = createVigilClient({ url: `${server.url}/`, token: server.token, fetch: spyingFetch });
    await authed.events.list.query({ limit: 1 });
    expect(seen).toEqual([null, `Bearer ${server.token}`]);
  });
});
