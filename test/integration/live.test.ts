// Live events over WebSocket and SSE, on every test database.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { createVigilLiveClient, type VigilLiveClient } from '../../shared/liveClient.js';
import { EVENTS_CHANNEL } from '../../server/db/eventWriter.js';
import { generateToken } from '../../server/services/auth.js';
import { startChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Collects a subscription's events; `until(n)` waits for at least n. */
function collect(live: VigilLiveClient, input: { q?: string; lastEventId?: string | null }) {
  const events: { id: string; data: AuditEvent }[] = [];
  const errors: { code?: string; message: string }[] = [];
  let started = false;
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  const sub = live.client.events.live.subscribe(input, {
    onStarted: () => {
      started = true;
      notify();
    },
    onData: (tracked) => {
      events.push(tracked as { id: string; data: AuditEvent });
      notify();
    },
    onError: (error) => {
      errors.push({ code: (error as { data?: { code?: string } }).data?.code, message: error.message });
      notify();
    },
  });
  const waitFor = async (check: () => boolean, what: string, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; have ${events.length} events, errors ${JSON.stringify(errors)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return {
    events,
    errors,
    started: () => waitFor(() => started, 'the subscription to start'),
    until: (n: number) => waitFor(() => events.length >= n, `${n} events`),
    failed: () => waitFor(() => errors.length > 0, 'an error'),
    stop: () => sub.unsubscribe(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('live events on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const clients: VigilLiveClient[] = [];
  /** A live client; `token: null` makes an anonymous one. */
  const liveClient = (transport: 'ws' | 'sse', token: string | null = server.token) => {
    const c = createVigilLiveClient({ url: server.url, ...(token ? { token } : {}), transport, WebSocket, EventSource });
    clients.push(c);
    return c;
  };
  const record = (events: EventInput[]) => server.client.events.recordBatch.mutate({ events });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db, { listen: database.listen });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
    await database?.destroy();
  });

  it.each(['ws', 'sse'] as const)('%s: new matching events arrive, others do not', async (transport) => {
    const sub = collect(liveClient(transport), { q: 'action:cordon,delete' });
    await sub.started();
    await record([
      { action: 'login', resourceType: 'user', resourceTarget: `${transport}-login` },
      { action: 'cordon', resourceType: 'workspace_provider', resourceTarget: `${transport}-provider` },
      { action: 'delete', resourceType: 'workspace', resourceTarget: `${transport}-ws` },
    ]);
    await sub.until(2);
    await sleep(300);
    expect(sub.events.map((e) => e.data.resourceTarget)).toEqual([`${transport}-provider`, `${transport}-ws`]);
    expect(sub.events.map((e) => e.id)).toEqual(sub.events.map((e) => String(e.data.seq)));
    sub.stop();
  });

  it('the live filter agrees with events.list for every kind of query', async () => {
    const queries = [
      'action:login',
      '-action:login',
      'resource_type:workspace,image',
      'resource_target:Alpha',
      'username:BOB',
      '-username:bob',
      'email:bob@example.com',
      'request_id:r-1',
      'resource_id:ID-9',
      'workspace -action:delete username:bob,carol',
    ];
    const live = liveClient('ws');
    const subs = queries.map((q) => collect(live, { q }));
    for (const s of subs) await s.started();
    const tag = `agree-${Date.now()}`;
    const fixture: EventInput[] = [
      { action: 'login', resourceType: 'user', resourceTarget: 'alpha', actor: { username: 'Bob', email: 'bob@example.com' }, requestId: 'R-1' },
      { action: 'delete', resourceType: 'workspace', resourceTarget: 'ALPHA', resourceId: 'id-9', actor: { username: 'carol' } },
      { action: 'create', resourceType: 'image', resourceTarget: 'beta', actor: { username: 'bob' } },
      { action: 'auto_off', resourceType: 'workspace', resourceTarget: 'gamma' },
      { action: 'connect', resourceType: 'workspace', resourceTarget: 'delta', actor: { username: 'carol', email: 'c@example.com' }, requestId: 'r-2' },
    ].map((e) => ({ ...e, metadata: { tag } })) as EventInput[];
    const stored = (await record(fixture)).events;
    const ours = new Set(stored.map((e) => e.id));
    await sleep(1500);
    for (const [i, q] of queries.entries()) {
      const listed = (await server.client.events.list.query({ q, limit: 200 })).items.filter((e) => ours.has(e.id)).map((e) => e.id).reverse();
      const delivered = subs[i]!.events.map((e) => e.data.id).filter((id) => ours.has(id));
      expect(delivered, q).toEqual(listed);
      subs[i]!.stop();
    }
  });

  it('resumes after lastEventId with no gap and no repeat while writers keep writing', async () => {
    const live = liveClient('ws');
    const q = 'resource_type:job';
    const first = collect(live, { q });
    await first.started();
    const batch = (n: number, from: number): EventInput[] =>
      Array.from({ length: n }, (_, i) => ({ action: 'enqueue', resourceType: 'job', resourceTarget: `job-${from + i}` }));
    await record(batch(5, 0));
    await first.until(5);
    first.stop();
    const lastEventId = first.events.at(-1)!.id;

    // Missed while disconnected; then, while the new subscription replays, more arrive.
    await record(batch(300, 5));
    const second = collect(live, { q, lastEventId });
    const writers = Promise.all([0, 1, 2].map(async (w) => {
      for (let b = 0; b < 5; b++) await record(batch(20, 1000 + w * 100 + b * 20));
    }));
    await writers;
    await second.until(300 + 300);
    await sleep(500);
    const seqs = second.events.map((e) => e.data.seq);
    expect(seqs.length).toBe(600);
    expect(new Set(seqs).size).toBe(600);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs[0]).toBeGreaterThan(Number(lastEventId));
    const all = (await server.client.events.count.query({ q })).value;
    expect(all).toBe(605);
    second.stop();
  });

  it('needs a token, and the right role', async () => {
    for (const transport of ['ws', 'sse'] as const) {
      const anonymous = collect(liveClient(transport, null), {});
      await anonymous.failed();
      expect(anonymous.errors[0]!.code).toBe('UNAUTHORIZED');
      anonymous.stop();
    }
    const wrong = collect(liveClient('ws', 'vgl_not-a-real-token'), {});
    await wrong.failed();
    expect(wrong.errors[0]!.code).toBe('UNAUTHORIZED');
    wrong.stop();
    const bad = collect(liveClient('ws'), { q: 'action:nuke' });
    await bad.failed();
    expect(bad.errors[0]).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('unknown action "nuke"') });
    bad.stop();
  });

  it('events.since catches up from a cursor in pages, oldest first, skipping what does not match', async () => {
    const { nextSeq: start } = await server.client.events.since.query({ q: 'resource_type:dev_url' });
    expect((await server.client.events.since.query({ q: 'resource_type:dev_url', afterSeq: start })).items).toEqual([]);
    const stored = (
      await record(
        Array.from({ length: 12 }, (_, i) => ({
          action: i % 3 === 0 ? 'login' : 'create',
          resourceType: i % 3 === 0 ? 'user' : 'dev_url',
          resourceTarget: `since-${i}`,
        })) as EventInput[],
      )
    ).events;
    const expected = stored.filter((_, i) => i % 3 !== 0).map((e) => e.seq);
    const seen: number[] = [];
    let cursor = start;
    for (let pages = 0; pages < 10; pages++) {
      const page = await server.client.events.since.query({ q: 'resource_type:dev_url', afterSeq: cursor, limit: 3 });
      seen.push(...page.items.map((e) => e.seq));
      expect(page.nextSeq).toBeGreaterThanOrEqual(cursor);
      cursor = page.nextSeq;
      if (!page.more) break;
    }
    expect(seen).toEqual(expected);
    // Up to date: the cursor stands at the head, past the non-matching events too.
    expect(cursor).toBe(Math.max(...stored.map((e) => e.seq)));
  });

  it('a batch is announced with one notification', async () => {
    const payloads: string[] = [];
    const unlisten = await database.listen(EVENTS_CHANNEL, (p) => payloads.push(p));
    const stored = await record(Array.from({ length: 250 }, (_, i) => ({ action: 'view', resourceType: 'secret', resourceTarget: `s${i}` })));
    await sleep(500);
    await unlisten();
    expect(payloads).toEqual([String(Math.max(...stored.events.map((e) => e.seq)))]);
  });

  it.runIf(backend === 'postgres')('an event recorded through another server process reaches this one at once', async () => {
    const token = generateToken();
    const other = await startChildServer({ DATABASE_URL: database.url!, VIGIL_ADMIN_TOKEN: token });
    // This server's safety poll is off: only LISTEN/NOTIFY can bring the event here.
    const quiet = await startTestServer(database.db, { listen: database.listen, livePollMs: 3_600_000 });
    try {
      const live = createVigilLiveClient({ url: quiet.url, token: quiet.token, transport: 'ws', WebSocket });
      clients.push(live);
      const sub = collect(live, { q: 'resource_target:from-the-other-process' });
      await sub.started();
      const { createVigilClient } = await import('../../shared/client.js');
      await createVigilClient({ url: other.url, token }).events.record.mutate({
        action: 'cordon',
        resourceType: 'workspace_provider',
        resourceTarget: 'from-the-other-process',
      });
      await sub.until(1);
      expect(sub.events[0]!.data.action).toBe('cordon');
      sub.stop();
    } finally {
      await quiet.close();
      await other.stop();
    }
  });
});
