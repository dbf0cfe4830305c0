// Sink delivery on its own thread (server/services/sinkDeliveryThread.ts), as a server on
// Postgres runs it: events recorded through the API reach the receiver from the thread,
// each once and in order, the thread's counts show in this process's /metrics, and
// closing the server ends the thread and hands the sink's lease back. No thread runs while
// there is no sink (it costs about 100 MB). A thread that dies (here: its database refused
// at start) is started again and delivers from the cursor. Postgres only:
// PGlite lives in the server's thread, and delivery with it.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { eventInputSchema, type EventInput } from '../../shared/event.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { queryRows } from '../../server/db/database.js';
import { parseSecretsKey } from '../../server/services/secretsKey.js';
import { SinkDeliveryThread } from '../../server/services/sinkDeliveryThread.js';
import { BACKENDS, createPostgres, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startHttpReceiver, type HttpReceiver } from '../support/sinkReceivers.js';
import { startTcpProxy } from '../support/tcpProxy.js';
import { eventually, sleep } from '../support/waiting.js';

const METRICS_TOKEN = 'metrics-token-for-the-sink-thread';

describe.runIf(BACKENDS.includes('postgres'))('sink delivery on its own thread (Postgres)', () => {
  let database: TestDatabase;
  let receiver: HttpReceiver;
  let server: TestServer | null = null;
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
    await database?.destroy();
  });

  it('delivers from the thread, each event once and in order; counts in /metrics; stops with the server and releases the lease', { timeout: 60_000 }, async () => {
    database = await createPostgres();
    receiver = await startHttpReceiver();
    // The thread loads the key as the server did: from the same source.
    const key = randomBytes(32).toString('base64');
    server = await startTestServer(database.db, {
      listen: database.listen,
      secretsKey: parseSecretsKey(key),
      metricsToken: METRICS_TOKEN,
      sinkDelivery: { pollMs: 50, flushMs: 100, thread: { databaseUrl: database.url!, secretsKey: { key, dataDir: '/nonexistent' } } },
    });
    const { id } = await server.client.sinks.create.mutate({ name: 'threaded', kind: 'webhook', url: `${receiver.url}/in`, secret: 'thread-secret', q: 'resource_type:workspace', batchSize: 30 });
    const recorded: number[] = [];
    for (let b = 0; b < 5; b++) {
      const events: EventInput[] = Array.from({ length: 20 }, (_, i) => ({ action: 'write', resourceType: 'workspace', resourceTarget: `w-${b}-${i}` }));
      recorded.push(...(await server.client.events.recordBatch.mutate({ events })).events.map((e) => e.seq));
    }
    const delivered = () => receiver.accepted().flatMap((r) => r.body.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq));
    await eventually(() => delivered().length >= recorded.length, 'every event delivered', 20_000);
    expect(delivered()).toEqual(recorded);
    // Signed with the secret the thread decrypted with the server's key.
    expect(receiver.accepted()[0]!.headers['x-vigil-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    const [row] = await queryRows<{ lease_owner: string | null }>(database.db, sql`select lease_owner from sinks where id = ${id}`);
    expect(Number(row!.lease_owner!.split(':')[1])).toBe(process.pid);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(metrics).toContain(`vigil_sink_delivered_total{sink="threaded"} ${recorded.length}`);

    await server.close();
    server = null;
    const [after] = await queryRows<{ lease_owner: string | null }>(database.db, sql`select lease_owner from sinks where id = ${id}`);
    expect(after!.lease_owner).toBeNull();
  });

  it('starts no thread while there is no sink, and one once a sink exists', { timeout: 30_000 }, async () => {
    const empty = await createPostgres();
    const thread = new SinkDeliveryThread(empty.db, { databaseUrl: empty.url!, secretsKey: { key: randomBytes(32).toString('base64'), dataDir: '/nonexistent' }, delivery: { pollMs: 50 } }).start();
    try {
      await sleep(500);
      expect(thread.running).toBe(false);
      await empty.db.execute(sql`insert into sinks (id, name, kind, url, format, batch_size, cursor_seq, created_at, updated_at) values (gen_random_uuid(), 'late', 'webhook', 'http://127.0.0.1:9/x', 'vigil', 500, 0, now(), now())`);
      await eventually(() => thread.running, 'the thread to start', 10_000);
    } finally {
      await thread.stop();
      expect(thread.running).toBe(false);
      await empty.destroy();
    }
  });

  it('a thread that dies is started again and delivers from the cursor', { timeout: 60_000 }, async () => {
    const db = await createPostgres();
    const hook = await startHttpReceiver();
    // The thread reaches the database through a proxy that refuses it at first: its start
    // fails (its own connections cannot open), the thread ends, and is started again.
    const url = new URL(db.url!);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    proxy.cut();
    url.host = `127.0.0.1:${proxy.port}`;
    await db.db.execute(
      sql`insert into sinks (id, name, kind, url, format, batch_size, cursor_seq, created_at, updated_at) values (gen_random_uuid(), 'phoenix', 'webhook', ${`${hook.url}/in`}, 'vigil', 500, 0, now(), now())`,
    );
    const thread = new SinkDeliveryThread(db.db, { databaseUrl: url.href, secretsKey: { key: randomBytes(32).toString('base64'), dataDir: '/nonexistent' }, delivery: { pollMs: 50, flushMs: 50 } }).start();
    try {
      await eventually(() => thread.restarts >= 1, 'the thread started again after it ended', 20_000);
      expect(hook.accepted()).toHaveLength(0);
      proxy.restore();
      const [event] = await recordEvents(new EventWriter(db.db), [eventInputSchema.parse({ action: 'write', resourceType: 'workspace', resourceTarget: 'after-the-restart' })]);
      const delivered = () => hook.accepted().flatMap((r) => r.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number; resourceTarget: string }));
      await eventually(() => delivered().some((e) => e.resourceTarget === 'after-the-restart'), 'the event delivered by the restarted thread', 20_000);
      expect(delivered().filter((e) => e.resourceTarget === 'after-the-restart').map((e) => e.seq)).toEqual([event!.seq]);
      expect(thread.running).toBe(true);
    } finally {
      await thread.stop();
      await proxy.close();
      await hook.close();
      await db.destroy();
    }
  });
});
