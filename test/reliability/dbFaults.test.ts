// The database goes away and comes back. Clients get a retryable SERVICE_UNAVAILABLE,
// /healthz says degraded, the server reconnects by itself, nothing acknowledged is lost
// and a live subscriber resumes with no gap and no repeat. Postgres only: the server
// reaches it through a proxy the test cuts, so the Postgres other suites use stays up.
import { randomUUID } from 'node:crypto';
import { EventSource } from 'eventsource';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AuditEvent } from '../../shared/event.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { openDatabase, queryRows, type DatabaseHandle } from '../../server/db/database.js';
import { BACKENDS, createPostgres, type TestDatabase } from '../support/databases.js';
import { generateToken } from '../../server/services/auth.js';
import { startChildServer } from '../support/childServer.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { eventually, sleep } from '../support/waiting.js';

// Retried: on a loaded machine an outage can land in a window a test does not expect, and
// the next test shares the server it left behind.
describe.runIf(BACKENDS.includes('postgres'))('database outage (Postgres)', { retry: 2 }, () => {
  let direct: TestDatabase;
  let proxy: TcpProxy;
  let proxied: DatabaseHandle;
  let server: TestServer;
  let writer: TestServer;

  beforeAll(async () => {
    direct = await createPostgres();
    const url = new URL(direct.url!);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    proxied = await openDatabase({ databaseUrl: url.toString() });
    server = await startTestServer(proxied.db, { listen: proxied.listen, livePollMs: 500 });
    // A second server that keeps its database throughout, like another replica would.
    writer = await startTestServer(direct.db, { listen: direct.listen });
  });
  afterAll(async () => {
    await server?.close();
    await writer?.close();
    await proxied?.close().catch(() => {});
    await proxy?.close();
    await direct?.destroy();
  });

  it('answers SERVICE_UNAVAILABLE while the database is away, and recovers by itself', async () => {
    // This attempt's events only (the block is retried on the same database and servers).
    const run = randomUUID().slice(0, 8);
    const acknowledged: string[] = [];
    const record = (target: string) =>
      rawCall(server, 'events.record', { body: JSON.stringify({ action: 'create', resourceType: 'job', resourceTarget: `${run}-${target}` }) });

    const before = await record('before');
    expect(before.status).toBe(200);
    acknowledged.push(before.body.result.data.id);

    const live = createVigilLiveClient({ url: server.url, token: server.token, transport: 'ws', WebSocket, EventSource });
    const received: AuditEvent[] = [];
    let started = false;
    const sub = live.client.events.live.subscribe(
      { q: 'resource_type:job' },
      { onStarted: () => (started = true), onData: ({ data }) => (data as AuditEvent).resourceTarget.startsWith(`${run}-`) && received.push(data as AuditEvent) },
    );
    await eventually(() => started, 'the subscription');

    proxy.cut();
    const during = await record('during');
    expect(during.status).toBe(503);
    expect(during.body.error.data.code).toBe('SERVICE_UNAVAILABLE');
    expect(during.body.error.message).toBe('the database is unavailable; retry shortly');
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'degraded', database: 'unreachable' });

    // Meanwhile another replica records events this server cannot see yet.
    const elsewhere = await writer.client.events.recordBatch.mutate({
      events: Array.from({ length: 20 }, (_, i) => ({ action: 'enqueue', resourceType: 'job', resourceTarget: `${run}-elsewhere-${i}` })),
    });
    acknowledged.push(...elsewhere.events.map((e) => e.id));
    await sleep(1000);

    proxy.restore();
    await eventually(async () => (await fetch(`${server.url}/healthz`)).status === 200, 'healthz to recover');
    const after = await record('after');
    expect(after.status).toBe(200);
    acknowledged.push(after.body.result.data.id);

    // The subscriber resumes: every acknowledged event once, in order, none lost.
    await eventually(() => received.length >= acknowledged.length - 1, 'the subscriber to catch up');
    await sleep(1000);
    const ids = received.map((e) => e.id);
    expect(ids).toEqual(acknowledged.slice(1));
    const seqs = received.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    sub.unsubscribe();
    live.close();

    const stored = await queryRows<{ id: string }>(direct.db, sql`select id from audit_events where resource_type = 'job' and resource_target like ${`${run}-%`}`);
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(acknowledged));
  });

  it('a subscriber still replaying when the database goes away waits for it instead of ending', async () => {
    const recorded = await writer.client.events.recordBatch.mutate({
      events: Array.from({ length: 5 }, (_, i) => ({ action: 'create', resourceType: 'template', resourceTarget: `replayed-${i}` })),
    });
    const live = createVigilLiveClient({ url: server.url, token: server.token, transport: 'ws', WebSocket, EventSource });
    const errors: string[] = [];
    // A first stream on the socket: the hub runs and the token is watched, so the next
    // subscription starts without the database and its first read is the replay.
    let first = false;
    const holder = live.client.events.live.subscribe({ q: 'resource_type:resource_pool' }, { onStarted: () => (first = true) });
    await eventually(() => first, 'the first subscription');
    await sleep(500);

    proxy.cut();
    const received: AuditEvent[] = [];
    const sub = live.client.events.live.subscribe(
      { q: 'resource_type:template', lastEventId: '0' },
      { onData: ({ data }) => received.push(data as AuditEvent), onError: (err) => errors.push(`${err.data?.code}: ${err.message}`) },
    );
    await sleep(1500);
    proxy.restore();

    await eventually(() => received.length >= recorded.events.length || errors.length > 0, 'the replaying subscriber to catch up');
    await sleep(500);
    expect(errors).toEqual([]);
    expect(received.map((e) => e.id)).toEqual(recorded.events.map((e) => e.id));
    sub.unsubscribe();
    holder.unsubscribe();
    live.close();
  });

  it('a "from now" stream whose first read meets the outage is opened again by the client, and gets what is recorded after', async () => {
    // A server whose hub has not started: the stream's first read is the head of the log.
    const fresh = await startTestServer(proxied.db, { listen: proxied.listen, livePollMs: 500 });
    const live = createVigilLiveClient({ url: fresh.url, token: fresh.token, transport: 'ws', WebSocket, EventSource });
    try {
      const errors: string[] = [];
      const received: AuditEvent[] = [];
      proxy.cut();
      const sub = live.client.events.live.subscribe(
        { q: 'resource_type:image_tag' },
        { onData: ({ data }) => received.push(data), onError: (err) => errors.push(`${err.data?.code}: ${err.message}`) },
      );
      await sleep(2000);
      proxy.restore();
      await eventually(async () => (await fetch(`${fresh.url}/healthz`)).status === 200, 'healthz to recover');
      // "From now" starts wherever the reopened stream finds the head: record until one arrives.
      const recorded: string[] = [];
      await eventually(
        async () => {
          const { events } = await writer.client.events.recordBatch.mutate({
            events: [{ action: 'create', resourceType: 'image_tag', resourceTarget: `after-${recorded.length}` }],
          });
          recorded.push(events[0]!.id);
          return received.length > 0 || errors.length > 0;
        },
        'an event on the reopened stream',
        20_000,
        500,
      );
      await sleep(1000);
      expect(errors).toEqual([]);
      // Those it gets are the last ones recorded, each once, in order.
      expect(received.map((e) => e.id)).toEqual(recorded.slice(recorded.length - received.length));
      sub.unsubscribe();
    } finally {
      proxy.restore();
      live.close();
      await fresh.close();
    }
  });

  it("a 503's request log line names the request and the status, with no made-up error stack", async () => {
    // A server in its own process, so its log (stdout) can be read.
    const url = new URL(direct.url!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const token = generateToken();
    const child = await startChildServer({ DATABASE_URL: url.toString(), VIGIL_ADMIN_TOKEN: token, VIGIL_CHECKPOINT_MINUTES: '0' });
    try {
      proxy.cut();
      const answer = await fetch(`${child.url}/trpc/events.list?input=${encodeURIComponent('{}')}`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(503);
      const requestId = answer.headers.get('x-request-id');
      await eventually(() => child.output().includes(`"id":"${requestId}"`), 'the request log line');
      const line = child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, any>)
        .find((l) => l.req?.id === requestId)!;
      expect(line).toMatchObject({ level: 50, msg: 'GET /trpc/events.list 503', res: { statusCode: 503 } });
      expect(line.err).toBeUndefined();
      expect(JSON.stringify(line)).not.toContain('failed with status code');
    } finally {
      proxy.restore();
      await child.stop();
    }
  });
});

describe.runIf(BACKENDS.includes('postgres'))('a database connection that silently loses bytes (Postgres)', () => {
  // Short time-outs, so the test waits seconds: statement 1 s, so a silent connection is
  // dropped after 3 s (statement_timeout plus the grace).
  const timeouts = { statementMs: 1_000, lockMs: 500, connectMs: 1_000 };
  let direct: TestDatabase;
  let proxy: TcpProxy;
  let proxied: DatabaseHandle;
  let server: TestServer;
  let proxiedUrl: string;

  beforeAll(async () => {
    direct = await createPostgres();
    const url = new URL(direct.url!);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    proxiedUrl = url.toString();
    proxied = await openDatabase({ databaseUrl: proxiedUrl, timeouts });
    server = await startTestServer(proxied.db, { listen: proxied.listen, livePollMs: 500 });
  });
  afterAll(async () => {
    await server?.close();
    await proxied?.close().catch(() => {});
    await proxy?.close();
    await direct?.destroy();
  });

  const record = (target: string) =>
    rawCall(server, 'events.record', { body: JSON.stringify({ action: 'create', resourceType: 'job', resourceTarget: target }) });

  it('writes fail fast with SERVICE_UNAVAILABLE, /healthz says degraded within 1 s, and all recovers when the path comes back', async () => {
    const acknowledged: string[] = [];
    const before = await record('stall-before');
    expect(before.status).toBe(200);
    acknowledged.push(before.body.result.data.id);

    proxy.stall();
    const started = Date.now();
    const writes = await Promise.all(Array.from({ length: 6 }, (_, i) => record(`stall-during-${i}`)));
    const waited = Date.now() - started;
    for (const write of writes) {
      expect(write.status).toBe(503);
      expect(write.body.error.data.code).toBe('SERVICE_UNAVAILABLE');
    }
    // Dropped after the answer time-out (3 s), not after TCP's ~15 minutes.
    expect(waited).toBeLessThan(15_000);

    for (let i = 0; i < 3; i++) {
      const asked = Date.now();
      const health = await fetch(`${server.url}/healthz`);
      expect(Date.now() - asked).toBeLessThanOrEqual(1_000);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'degraded', database: 'unreachable' });
    }

    proxy.restore();
    await eventually(async () => (await fetch(`${server.url}/healthz`)).status === 200, 'healthz to recover', 30_000);
    await eventually(async () => (await record('stall-after')).status === 200, 'writes to recover', 30_000);
    const after = await record('stall-after-2');
    expect(after.status).toBe(200);
    acknowledged.push(after.body.result.data.id);

    // Acknowledged events are stored; what was refused with 503 may be retried (ids are idempotency keys).
    const stored = await queryRows<{ id: string }>(direct.db, sql`select id from audit_events where resource_target like 'stall-%'`);
    expect(stored.map((r) => r.id)).toEqual(expect.arrayContaining(acknowledged));
    const verified = await server.client.integrity.verify.query();
    expect(verified.ok).toBe(true);
  }, 120_000);

  it('SIGTERM ends the process within its bound while the database does not answer', async () => {
    const token = generateToken();
    proxy.restore();
    const child = await startChildServer({
      DATABASE_URL: proxiedUrl,
      VIGIL_ADMIN_TOKEN: token,
      VIGIL_CHECKPOINT_MINUTES: '0',
      // The database may take its time (no help from the answer time-out); the shutdown may not.
      VIGIL_DB_STATEMENT_TIMEOUT_MS: '600000',
      VIGIL_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    try {
      proxy.stall();
      const hanging = fetch(`${child.url}/trpc/events.record`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'create', resourceType: 'job', resourceTarget: 'stall-sigterm' }),
      }).catch(() => null);
      await sleep(500);
      const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
      const signalled = Date.now();
      child.process.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'still running' as const)]);
      expect(code).not.toBe('still running');
      expect(Date.now() - signalled).toBeLessThan(15_000);
      // Either everything closed in time, or the bound cut the hanging work short.
      if (code !== 0) expect(child.output()).toContain('shutdown took too long; exiting now');
      await hanging;
    } finally {
      proxy.restore();
      await child.stop();
    }
  }, 120_000);
});
