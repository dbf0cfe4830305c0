// A real Postgres server is stopped and started again under a running Vigil server:
// crashed (pg_ctl stop -m immediate) during batch ingest, shut down (-m fast) under live
// subscribers. Clients get a retryable SERVICE_UNAVAILABLE (503) while it is down and
// /healthz says degraded; the Vigil server reconnects by itself; every acknowledged event
// is stored exactly once (retried batches included) and the hash chain verifies; live
// subscribers end with every stored event once, in seq order, and a first subscription
// refused during the outage works once the database is back. The cluster is a private
// one (test/support/privatePostgres.ts), never the shared Postgres other suites use.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { openDatabase, queryRows, type DatabaseHandle } from '../../server/db/database.js';
import type { AppRouter } from '../../server/routers/_app.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { privatePostgresMissing, startPrivatePostgres, type PrivatePostgres } from '../support/privatePostgres.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';
import { eventually, sleep } from '../support/waiting.js';

async function health(server: TestServer): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/healthz`);
  return { status: response.status, body: await response.json() };
}

/** What a client hears while the database is down: a retryable 503, never a 500. */
function expectUnavailable(answer: { status: number; body: any }): void {
  expect(answer.status).toBe(503);
  expect(answer.body.error.data.code).toBe('SERVICE_UNAVAILABLE');
  expect(answer.body.error.message).toBe('the database is unavailable; retry shortly');
}

function batchOf(prefix: string, size: number, resourceType: EventInput['resourceType'] = 'workspace'): (EventInput & { id: string })[] {
  return Array.from({ length: size }, (_, i) => ({
    id: randomUUID(),
    time: new Date().toISOString(),
    action: 'connect',
    resourceType,
    resourceTarget: `${prefix}-${i}`,
    ip: '10.1.2.3',
  }));
}

type Stored = { id: string; seq: number; duplicate: boolean };

/** Whether the server's LISTEN connection (a backend of its own) is listening again. */
async function listening(handle: DatabaseHandle): Promise<boolean> {
  const [row] = await queryRows<{ n: number }>(
    handle.db,
    sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen %'`,
  );
  return row!.n > 0;
}

async function maxSeq(handle: DatabaseHandle): Promise<number> {
  const [row] = await queryRows<{ max: number }>(handle.db, sql`select coalesce(max(seq), 0)::int as max from audit_events`);
  return row!.max;
}

describe.skipIf(privatePostgresMissing !== null)('a real Postgres restart (a private cluster)', () => {
  let pg: PrivatePostgres;
  let handle: DatabaseHandle;
  let server: TestServer;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    handle = await openDatabase({ databaseUrl: pg.url });
    // The hub's safety-net poll is pushed out of the test's reach: live events after the
    // restart can only arrive through a LISTEN the server re-established by itself.
    server = await startTestServer(handle.db, { listen: handle.listen, livePollMs: 600_000 });
  });
  afterAll(async () => {
    await server?.close();
    await handle?.close().catch(() => {});
    await pg?.destroy();
  });

  it('a crash (stop -m immediate) during batch ingest: 503s, self-recovery, every acknowledged event once', async () => {
    const acknowledged = new Map<string, number>(); // id -> seq
    const ackedBatches: { events: EventInput[]; answer: Stored[] }[] = [];
    const unexpected: unknown[] = [];
    let unavailable = 0;
    let retriedDuplicates = 0;
    let stop = false;
    const deadline = Date.now() + 40_000;

    const acknowledge = (events: EventInput[], answer: Stored[]) => {
      if (answer.map((e) => e.id).join() !== events.map((e) => e.id).join()) unexpected.push({ answerNotInOrder: answer });
      for (const e of answer) {
        const seen = acknowledged.get(e.id);
        if (seen !== undefined && seen !== e.seq) unexpected.push({ id: e.id, seq: e.seq, earlierSeq: seen });
        acknowledged.set(e.id, e.seq);
      }
      ackedBatches.push({ events, answer });
    };

    // Plain HTTP workers: each sends a batch with its own ids and sends that same batch
    // again until it is acknowledged.
    const rawWorker = async (w: number) => {
      for (let n = 0; !stop && Date.now() < deadline; n++) {
        const events = batchOf(`crash-${w}-${n}`, 50);
        for (let attempt = 0; Date.now() < deadline; attempt++) {
          let answer: { status: number; body: any };
          try {
            answer = await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events }) });
          } catch (error) {
            unexpected.push({ network: String(error) }); // the Vigil server itself never goes away
            await sleep(100);
            continue;
          }
          if (answer.status === 200) {
            const stored: Stored[] = answer.body.result.data.events;
            if (attempt > 0) retriedDuplicates += stored.filter((e) => e.duplicate).length;
            else if (stored.some((e) => e.duplicate)) unexpected.push({ duplicateOnFirstAttempt: stored });
            acknowledge(events, stored);
            break;
          }
          if (answer.status === 503 && answer.body?.error?.data?.code === 'SERVICE_UNAVAILABLE') unavailable++;
          else unexpected.push({ status: answer.status, body: answer.body });
          await sleep(100);
        }
      }
    };
    // The typed client: it stamps ids and retries 503s itself, so its calls just succeed.
    const typedWorker = async () => {
      for (let n = 0; !stop && Date.now() < deadline; n++) {
        const events = batchOf(`crash-typed-${n}`, 50).map(({ id: _id, ...e }) => e);
        try {
          const { events: stored } = await server.client.events.recordBatch.mutate({ events });
          for (const e of stored) acknowledged.set(e.id, e.seq);
        } catch (error) {
          unexpected.push({ typedClient: String(error) });
          await sleep(100);
        }
      }
    };
    const workers = Promise.all([rawWorker(0), rawWorker(1), rawWorker(2), typedWorker()]);

    try {
      await eventually(() => acknowledged.size >= 500, 'ingest to get going');
      await server.client.integrity.checkpoint.mutate();

      // The crash, in the middle of ingest.
      const ackedBeforeCrash = acknowledged.size;
      await pg.stop('immediate');
      const downAt = Date.now();
      expectUnavailable(await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events: batchOf('probe', 1) }) }));
      expectUnavailable(await rawCall(server, 'events.list', { input: {} }));
      expect(await health(server)).toEqual({ status: 503, body: { status: 'degraded', database: 'unreachable' } });
      await eventually(() => unavailable > 0, 'the ingest workers to be told SERVICE_UNAVAILABLE');
      await sleep(Math.max(0, 2500 - (Date.now() - downAt)));
      // Nothing is acknowledged while the database is down.
      const ackedWhileDown = acknowledged.size;
      expect(await health(server)).toMatchObject({ status: 503 });

      await pg.start();
      const upAt = Date.now();
      // The Vigil server was not restarted: it reconnects on its own.
      await eventually(async () => (await health(server)).status === 200, '/healthz to recover', 15_000);
      expect(await health(server)).toEqual({ status: 200, body: { status: 'ok', database: 'reachable' } });
      await eventually(() => acknowledged.size >= ackedWhileDown + 500, 'ingest to resume after the restart');
      console.info(
        `postgres crash: ${ackedBeforeCrash} acknowledged before, ${unavailable} SERVICE_UNAVAILABLE answers while down, ` +
          `healthy again ${Date.now() - upAt} ms after start (outage ${upAt - downAt} ms)`,
      );
    } finally {
      stop = true;
      await workers;
    }
    expect(unexpected).toEqual([]);
    expect(unavailable).toBeGreaterThan(0);

    // Retrying acknowledged batches (same ids) stores nothing twice: every event is a
    // duplicate, answered with the seq it was first stored at.
    for (const { events, answer } of [ackedBatches[0]!, ackedBatches.at(-1)!]) {
      const again = await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events }) });
      expect(again.status).toBe(200);
      expect(again.body.result.data.events).toEqual(answer.map((e) => ({ ...e, duplicate: true })));
    }

    // Every acknowledged event is stored exactly once, at the seq it was acknowledged
    // with; nothing else is (every batch was retried until acknowledged).
    const stored = await queryRows<{ id: string; seq: string | number }>(
      handle.db,
      sql`select id::text, seq from audit_events where resource_target like 'crash-%' order by seq`,
    );
    expect(new Set(stored.map((r) => r.id)).size).toBe(stored.length);
    expect(new Map(stored.map((r) => [r.id, Number(r.seq)]))).toEqual(acknowledged);
    const [probes] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from audit_events where resource_target like 'probe-%'`);
    expect(probes!.n).toBe(0);

    await server.client.integrity.checkpoint.mutate();
    const report = await server.client.integrity.verify.query();
    expect(report).toMatchObject({ ok: true, checkpointsVerified: 2 });
    expect(report.checked).toBeGreaterThanOrEqual(acknowledged.size);
    console.info(`postgres crash: ${acknowledged.size} events stored once, ${retriedDuplicates} found already stored on retry, chain verified`);
  });

  it('a shutdown (stop -m fast) under live subscribers: they resume with no gap and no repeat', async () => {
    const q = 'resource_type:job';
    // Subscribed from the current head (as a client resuming from its last event does):
    // everything recorded from here on must reach both subscribers.
    const from = await maxSeq(handle);
    const subscribers = (['ws', 'sse'] as const).map((transport) => {
      const live = createVigilLiveClient({ url: server.url, token: server.token, transport, WebSocket, EventSource });
      const state = { transport, live, received: [] as AuditEvent[], started: false, errors: [] as unknown[] };
      const sub = live.client.events.live.subscribe(
        { q, lastEventId: String(from) },
        {
          onStarted: () => (state.started = true),
          onData: ({ data }) => state.received.push(data as AuditEvent),
          onError: (error) => state.errors.push(error),
        },
      );
      return Object.assign(state, {
        close: () => {
          sub.unsubscribe();
          live.close();
        },
      });
    });
    const storedJobs = async () =>
      (await queryRows<{ id: string; seq: string | number }>(handle.db, sql`select id::text, seq from audit_events where resource_type = 'job' order by seq`)).map(
        (r) => ({ id: r.id, seq: Number(r.seq) }),
      );
    const caughtUp = async (what: string, ms = 20_000) => {
      const expected = (await storedJobs()).map((r) => r.id);
      await eventually(() => subscribers.every((s) => s.received.length >= expected.length), what, ms);
    };

    try {
      await eventually(() => subscribers.every((s) => s.started), 'the subscriptions to start');

      const before = await server.client.events.recordBatch.mutate({ events: batchOf('live-before', 20, 'job') });
      expect(before.events).toHaveLength(20);
      await caughtUp('the subscribers to see the events recorded before the restart', 10_000);

      await pg.stop('fast');
      const downAt = Date.now();
      // A batch attempted during the outage is refused as retryable...
      const refused = batchOf('live-during', 10, 'job');
      expectUnavailable(await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events: refused }) }));
      expect(await health(server)).toEqual({ status: 503, body: { status: 'degraded', database: 'unreachable' } });
      // ...and the typed client, started now, rides the outage out with its retries.
      const riding = server.client.events.recordBatch.mutate({ events: batchOf('live-riding', 10, 'job') });
      await sleep(2000);

      await pg.start();
      const upAt = Date.now();
      await eventually(async () => (await health(server)).status === 200, '/healthz to recover', 15_000);
      const rode = await riding;
      expect(rode.events.every((e) => !e.duplicate)).toBe(true);
      // The refused batch, sent again with the same ids, is stored now (once).
      const retried = await rawCall(server, 'events.recordBatch', { body: JSON.stringify({ events: refused }) });
      expect(retried.status).toBe(200);
      expect(retried.body.result.data.events.map((e: Stored) => e.id)).toEqual(refused.map((e) => e.id));
      // The server LISTENs again by itself.
      await eventually(() => listening(handle), 'the server to LISTEN again after the restart', 15_000);
      const after = await server.client.events.recordBatch.mutate({ events: batchOf('live-after', 20, 'job') });
      expect(after.events).toHaveLength(20);

      // Only NOTIFY can wake the hub here (its poll is out of reach).
      await caughtUp('the subscribers to receive the events recorded after the restart');
      const deliveredMs = Date.now() - upAt;
      await sleep(500); // room for a repeat to show up

      const expected = await storedJobs();
      expect(expected).toHaveLength(60);
      for (const s of subscribers) {
        expect({ transport: s.transport, errors: s.errors }).toEqual({ transport: s.transport, errors: [] });
        expect({ transport: s.transport, ids: s.received.map((e) => e.id) }).toEqual({ transport: s.transport, ids: expected.map((e) => e.id) });
        expect(s.received.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
      }
      console.info(`postgres shutdown: outage ${upAt - downAt} ms; subscribers had every event ${deliveredMs} ms after start`);
    } finally {
      for (const s of subscribers) s.close();
    }
  });

  it('a first live subscription while the database is down is refused as retryable; the typed client opens it again once it is back', async () => {
    // A server that has had no live subscriber yet: its hub starts with the first one.
    const fresh = await startTestServer(handle.db, { listen: handle.listen, livePollMs: 600_000 });
    // The server's own answer, through a bare tRPC client that does not retry.
    const bareSocket = createWSClient({ url: `${fresh.url.replace(/^http/, 'ws')}/trpc`, WebSocket: WebSocket as never, connectionParams: { token: fresh.token } });
    const bare = createTRPCClient<AppRouter>({ links: [wsLink({ client: bareSocket })] });
    const live = createVigilLiveClient({ url: fresh.url, token: fresh.token, transport: 'ws', WebSocket, EventSource });
    try {
      await pg.stop('fast');
      const refused = await new Promise<any>((resolve) => {
        const sub = bare.events.live.subscribe(
          { q: 'resource_type:template' },
          {
            onData: () => resolve(new Error('an event while the database is down')),
            onError: (error) => {
              sub.unsubscribe();
              resolve(error);
            },
          },
        );
      });
      expect(refused.data?.code).toBe('SERVICE_UNAVAILABLE');
      expect(refused.message).toBe('the database is unavailable; retry shortly');

      // The typed client, subscribed while the database is still down, is not told of it.
      const received: AuditEvent[] = [];
      const errors: unknown[] = [];
      const sub = live.client.events.live.subscribe(
        { q: 'resource_type:template' },
        { onData: ({ data }) => received.push(data as AuditEvent), onError: (e) => errors.push(e) },
      );
      await sleep(1000);
      await pg.start();
      await eventually(async () => (await health(fresh)).status === 200, '/healthz to recover', 15_000);
      await eventually(() => listening(handle), 'the server to LISTEN again after the restart', 15_000);
      // "From now" starts wherever the reopened stream finds the head: record until events arrive.
      const recorded: string[] = [];
      await eventually(
        async () => {
          const { events } = await fresh.client.events.recordBatch.mutate({ events: batchOf(`template-${recorded.length}`, 1, 'template') });
          recorded.push(events[0]!.id);
          return received.length > 0 || errors.length > 0;
        },
        'an event on the reopened subscription',
        20_000,
        500,
      );
      await sleep(500);
      expect(errors).toEqual([]);
      // Those it gets are the last ones recorded, each once, in order.
      expect(received.map((e) => e.id)).toEqual(recorded.slice(recorded.length - received.length));
      sub.unsubscribe();
    } finally {
      bareSocket.close();
      live.close();
      await fresh.close();
    }
  });
});
