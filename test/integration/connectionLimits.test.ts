// Bounded memory per connection: clients that never read, too many subscriptions on one
// socket, batches with too many calls, and a hub that reads nothing when nobody listens.
// Memory is measured by counting the bytes the server has queued for its WebSocket
// clients (the benchmark measures RSS).
import http from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createApp, listen, type RunningServer } from '../../server/app.js';
import { procedureDuration } from '../../server/metrics.js';
import { LIVE_MESSAGE_CHARS, type LiveBatch } from '../../server/services/liveBatch.js';
import { LiveHub } from '../../server/services/liveHub.js';
import { generateToken } from '../../server/services/auth.js';
import { processSecretsKey } from '../../server/services/secretsKey.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { CALLS_PER_BATCH } from '../../shared/limits.js';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rawSocket } from '../support/rawSocket.js';
import { rawCall } from '../support/server.js';
import { eventually } from '../support/waiting.js';

const SEND_BUFFER = 64 * 1024;
const SUBSCRIPTIONS = 4;

const targetsOf = (batch: LiveBatch) => (JSON.parse(batch.json) as AuditEvent[]).map((e) => e.resourceTarget);

describe.each(BACKENDS)('bounded memory per connection on %s', (backend) => {
  let database: TestDatabase;
  let running: RunningServer;
  let admin: VigilClient;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    token = generateToken();
    const app = createApp({
      db: database.db,
      listen: database.listen,
      signer: generateSigner(),
      secretsKey: processSecretsKey(),
      adminToken: token,
      maxBodyBytes: 16 * 1024 * 1024,
      limits: { sendBufferBytes: SEND_BUFFER },
    });
    running = await listen(app, 0, '127.0.0.1');
    admin = createVigilClient({ url: running.url, token });
  });
  afterAll(async () => {
    await running?.close();
    await database?.destroy();
  });

  it('a client that stops reading: the server queues at most the send buffer, and the client later gets every event once, in order', async () => {
    const { ws, messages } = await rawSocket(running.url, token);
    for (let id = 1; id <= SUBSCRIPTIONS; id++) {
      ws.send(JSON.stringify({ id, method: 'subscription', params: { path: 'events.live', input: { q: 'resource_type:workspace' } } }));
    }
    await eventually(() => messages.filter((m) => m.result?.type === 'started').length === SUBSCRIPTIONS, 'the subscriptions to start');
    ws.pause(); // reads nothing more: the kernel's buffers fill, then the server's

    const metadata = { blob: 'x'.repeat(4000) };
    const total = 1200;
    let most = 0;
    for (let b = 0; b < total / 200; b++) {
      const events = Array.from({ length: 200 }, (_, i): EventInput => ({ action: 'delete', resourceType: 'workspace', resourceTarget: `slow-${b * 200 + i}`, metadata }));
      await admin.events.recordBatch.mutate({ events });
      most = Math.max(most, running.webSocketBufferedBytes());
    }
    // What the server holds for this client keeps well under what it was sent (~20 MB).
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      most = Math.max(most, running.webSocketBufferedBytes());
      await new Promise((r) => setTimeout(r, 50));
    }
    // Each subscription may add one message past the limit before it waits (a message is
    // a batch of events, quoted: a little over LIVE_MESSAGE_CHARS).
    expect(most).toBeLessThanOrEqual(SEND_BUFFER + SUBSCRIPTIONS * 2 * LIVE_MESSAGE_CHARS);

    ws.resume();
    // A message's data is the JSON text of its events.
    const delivered = (id?: number) =>
      messages
        .filter((m) => (id === undefined || m.id === id) && m.result?.type === 'data')
        .flatMap((m) => JSON.parse(m.result.data.data) as AuditEvent[]);
    await eventually(() => delivered().length >= SUBSCRIPTIONS * total, `${SUBSCRIPTIONS * total} deliveries`, 60_000);
    for (let id = 1; id <= SUBSCRIPTIONS; id++) {
      const targets = delivered(id).map((e) => e.resourceTarget);
      expect(targets).toEqual(Array.from({ length: total }, (_, i) => `slow-${i}`));
    }
    ws.close();
  });

  it('an SSE client that stops reading: the server queues a bounded amount, and the client later gets every event once, in order', async () => {
    const input = encodeURIComponent(JSON.stringify({ q: 'resource_type:image' }));
    const request = http.get(`${running.url}/trpc/events.live?input=${input}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    expect(response.statusCode).toBe(200);
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    await eventually(() => text.includes('event: connected'), 'the stream to open');
    response.pause(); // reads nothing more: the kernel's buffers fill, then the server's

    const metadata = { blob: 'z'.repeat(4000) };
    const total = 4000;
    let most = 0;
    for (let b = 0; b < total / 200; b++) {
      const events = Array.from({ length: 200 }, (_, i): EventInput => ({ action: 'delete', resourceType: 'image', resourceTarget: `sse-slow-${b * 200 + i}`, metadata }));
      await admin.events.recordBatch.mutate({ events });
      most = Math.max(most, running.bufferedBytes());
    }
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      most = Math.max(most, running.bufferedBytes());
      await new Promise((r) => setTimeout(r, 50));
    }
    // ~16 MB were sent. The stream stops writing while the response's buffer is past its
    // mark (16 kB): what it holds is that, one message (a little over LIVE_MESSAGE_CHARS)
    // and a ping.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(SEND_BUFFER + 2 * LIVE_MESSAGE_CHARS);

    response.resume();
    // Each event: its data line (the JSON text of the batch's events, as a JSON string) and its id.
    // The text after the last blank line is an event still arriving.
    const delivered = () =>
      text
        .split('\n\n')
        .slice(0, -1)
        .map((block) => block.replace(/^\n+/, ''))
        .filter((block) => block.startsWith('data: "'))
        .map((block) => ({ events: JSON.parse(JSON.parse(block.slice(6, block.indexOf('\n')))) as AuditEvent[], id: /\nid: (\d+)/.exec(block)?.[1] }));
    await eventually(() => delivered().reduce((n, m) => n + m.events.length, 0) >= total, `${total} deliveries`, 60_000);
    const messages = delivered();
    expect(messages.flatMap((m) => m.events.map((e) => e.resourceTarget))).toEqual(Array.from({ length: total }, (_, i) => `sse-slow-${i}`));
    expect(messages.map((m) => m.id)).toEqual(messages.map((m) => String(m.events.at(-1)!.seq)));
    request.destroy();
  });

  it('a client that sends calls without reading the answers: the server queues a bounded amount, and answers them all later', async () => {
    const metadata = { blob: 'y'.repeat(4000) };
    await admin.events.recordBatch.mutate({
      events: Array.from({ length: 40 }, (_, i): EventInput => ({ action: 'create', resourceType: 'template', resourceTarget: `unread-${i}`, metadata })),
    });
    const input = { q: 'resource_type:template', limit: 20 };
    const answerBytes = JSON.stringify(await admin.events.list.query(input)).length;
    const { ws, messages } = await rawSocket(running.url, token);
    ws.send(JSON.stringify({ id: 999_999, method: 'query', params: { path: 'auth.me' } }));
    await eventually(() => messages.length === 1, 'the socket to answer');
    messages.length = 0;
    ws.pause();
    const frames = 16;
    for (let f = 0; f < frames; f++) {
      ws.send(JSON.stringify(Array.from({ length: CALLS_PER_BATCH }, (_, i) => ({ id: f * CALLS_PER_BATCH + i + 1, method: 'query', params: { path: 'events.list', input } }))));
    }
    // The server answers until the client's buffer is full, then stops working for it.
    const answered = async () =>
      (await procedureDuration.get()).values.filter((v) => v.metricName?.endsWith('_count') && v.labels.procedure === 'events.list').reduce((n, v) => n + v.value, 0);
    const before = await answered();
    let most = 0;
    let last = 0;
    let stableSince = Date.now();
    const giveUp = Date.now() + 90_000;
    // Until the server has answered some and then stopped for 3 s (or answered everything).
    while (Date.now() < giveUp && (last === 0 || Date.now() - stableSince < 3000)) {
      most = Math.max(most, running.webSocketBufferedBytes());
      const now = (await answered()) - before;
      if (now !== last) stableSince = Date.now();
      last = now;
      if (now >= frames * CALLS_PER_BATCH) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan((frames * CALLS_PER_BATCH) / 2);
    // The buffer, plus the calls running when it filled.
    expect(most).toBeLessThanOrEqual(SEND_BUFFER + CALLS_PER_BATCH * answerBytes * 1.2);
    ws.resume();
    await eventually(() => messages.length >= frames * CALLS_PER_BATCH, 'every answer', 60_000);
    expect(messages.every((m) => m.result?.data?.items?.length === 20)).toBe(true);
    ws.close();
  });

  it('a socket carries a limited number of subscriptions, with a clear error past it', async () => {
    const live = createVigilLiveClient({ url: running.url, token, transport: 'ws', WebSocket });
    const outcomes: string[] = [];
    const subs = Array.from({ length: 33 }, () =>
      live.client.events.live.subscribe(
        { q: 'action:cordon' },
        {
          onStarted: () => outcomes.push('started'),
          onError: (e) => outcomes.push(`${(e as { data?: { code?: string } }).data?.code}: ${e.message}`),
        },
      ),
    );
    await eventually(() => outcomes.filter((o) => o !== 'started').length >= 1 && outcomes.filter((o) => o === 'started').length >= 32, 'the subscriptions to settle');
    const refusals = outcomes.filter((o) => o !== 'started');
    expect(refusals).toEqual(['TOO_MANY_REQUESTS: at most 32 live subscriptions per connection; stop one first']);
    // A slot frees when a subscription stops.
    subs[0]!.unsubscribe();
    let again = false;
    await eventually(async () => {
      const sub = live.client.events.live.subscribe({ q: 'action:cordon' }, { onStarted: () => (again = true), onError: () => sub.unsubscribe() });
      await new Promise((r) => setTimeout(r, 200));
      if (!again) sub.unsubscribe();
      return again;
    }, 'a new subscription after one stopped', 5000);
    for (const s of subs) s.unsubscribe();
    live.close();
  });

  it(`an HTTP batch carries at most ${CALLS_PER_BATCH} calls, GET or POST, with a clear error`, async () => {
    const batch = (n: number, procedure: string) => Array.from({ length: n }, () => procedure).join(',');
    const inputs = (n: number, input: unknown) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, input])));
    const okGet = await fetch(`${running.url}/trpc/${batch(CALLS_PER_BATCH, 'events.list')}?batch=1&input=${encodeURIComponent(inputs(CALLS_PER_BATCH, { limit: 1 }))}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(okGet.status).toBe(200);
    // As many calls as fit a URL (no input: the default page of 50 events each).
    const tooMany = await fetch(`${running.url}/trpc/${batch(1000, 'events.list')}?batch=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(tooMany.status).toBe(400);
    const body = JSON.stringify(await tooMany.json());
    expect(body).toContain(`a batch may carry at most ${CALLS_PER_BATCH} calls`);
    expect(body.length).toBeLessThan(100_000);

    const post = await fetch(`${running.url}/trpc/${batch(CALLS_PER_BATCH + 1, 'events.record')}?batch=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: inputs(CALLS_PER_BATCH + 1, { action: 'create', resourceType: 'workspace', resourceTarget: 'refused-batch' }),
    });
    expect(post.status).toBe(400);
    expect(JSON.stringify(await post.json())).toContain(`at most ${CALLS_PER_BATCH} calls`);
    // Nothing of the refused batch was stored, and the typed client splits large batches itself.
    const found = await admin.events.list.query({ q: 'resource_target:refused-batch' });
    expect(found.count?.value).toBe(0);
    const many = await Promise.all(Array.from({ length: 120 }, () => admin.events.list.query({ limit: 1 })));
    expect(many).toHaveLength(120);
    expect((await rawCall({ url: running.url, token }, 'auth.me', { method: 'GET' })).status).toBe(200);
  });

  it(`one WebSocket frame carries at most ${CALLS_PER_BATCH} calls; every call of a larger one gets the error`, async () => {
    const { ws, messages } = await rawSocket(running.url, token);
    const frame = (n: number, from: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: from + i, method: 'query', params: { path: 'auth.me' } })));
    ws.send(frame(5000, 1));
    await eventually(() => messages.length >= 5000, 'an answer to every call of the big frame');
    expect(messages.every((m) => m.error?.data?.code === 'BAD_REQUEST' && m.error.message === `a batch may carry at most ${CALLS_PER_BATCH} calls; split it`)).toBe(true);
    messages.length = 0;
    ws.send(frame(CALLS_PER_BATCH, 10_000));
    await eventually(() => messages.length >= CALLS_PER_BATCH, 'the allowed frame');
    expect(messages.every((m) => m.result?.data?.kind === 'user')).toBe(true);
    ws.close();
  });

  it('the live hub reads nothing while nobody listens, and starts again at the head', async () => {
    const hub = new LiveHub(database.db, database.listen);
    try {
      const stop = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        for await (const batch of hub.subscribe({ fields: {} }, await hub.currentPosition(), stop.signal)) seen.push(...targetsOf(batch));
      })();
      await eventually(() => hub.active, 'the hub to start');
      await admin.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'while-listening' });
      await eventually(() => seen.includes('while-listening'), 'the event');
      stop.abort();
      await reading;
      await admin.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'nobody-listens' });
      await eventually(() => !hub.active, 'the hub to go quiet', 5000);

      const again = new AbortController();
      const later: string[] = [];
      const resumed = (async () => {
        for await (const batch of hub.subscribe({ fields: {} }, await hub.currentPosition(), again.signal)) later.push(...targetsOf(batch));
      })();
      await eventually(() => hub.active, 'the hub to start again');
      await admin.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'listening-again' });
      await eventually(() => later.includes('listening-again'), 'the new event');
      // What was recorded while nobody listened is not handed to a subscriber that came later.
      expect(later).toEqual(['listening-again']);
      again.abort();
      await resumed;
    } finally {
      await hub.close();
    }
  });
});
