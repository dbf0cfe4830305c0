// events.live over SSE as any HTTP client sees it (server/routes/liveSse.ts writes it, in
// tRPC's SSE protocol): the opening `connected` event, batches with their ids, resuming
// with Last-Event-ID, refusals and bad input as `serialized-error` events naming the
// field, and a closed stream released. The typed client over SSE is tested in live.test.ts.
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

const METRICS_TOKEN = 'metrics-token-for-live-sse';

/** Opens `url` as an event stream and parses what arrives; `until` waits for a condition on the events. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  let ended = false;
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: e.data, id: e.id }) });
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      const reader = response.body!.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) parser.feed(decoder.decode(read.value, { stream: true }));
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  const until = async (check: (events: SseEvent[]) => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!check(events)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    response,
    events,
    ended: () => ended,
    until,
    /** The events of every data message, in order. */
    delivered: () => events.filter((e) => e.event === 'message').flatMap((e) => JSON.parse(JSON.parse(e.data) as string) as AuditEvent[]),
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

describe.each(BACKENDS)('events.live over SSE on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const streamUrl = (input: unknown) => `${server.url}/trpc/events.live?input=${encodeURIComponent(JSON.stringify(input))}`;
  const bearer = () => ({ authorization: `Bearer ${server.token}` });
  const record = (events: EventInput[]) => server.client.events.recordBatch.mutate({ events });
  const metric = async (line: RegExp) => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const found = text.split('\n').find((l) => line.test(l));
    return found ? Number(found.split(' ').at(-1)) : 0;
  };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db, { listen: database.listen, metricsToken: METRICS_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it('opens with tRPC\'s connected event, then sends each matching batch as data with its last seq as id', async () => {
    const calls = await metric(/^vigil_trpc_procedure_duration_seconds_count\{procedure="events.live",type="subscription",code="OK"\}/);
    const stream = await openStream(streamUrl({ q: 'action:cordon' }), bearer());
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    await stream.until((e) => e.length > 0, 'the opening event');
    expect(stream.events[0]!.event).toBe('connected');
    expect(JSON.parse(stream.events[0]!.data)).toEqual({ reconnectAfterInactivityMs: expect.any(Number) });

    const { events } = await record([
      { action: 'cordon', resourceType: 'workspace', resourceTarget: 'a' },
      { action: 'create', resourceType: 'workspace', resourceTarget: 'b' },
      { action: 'cordon', resourceType: 'workspace', resourceTarget: 'c' },
    ]);
    await stream.until(() => stream.delivered().length >= 2, 'two cordons');
    expect(stream.delivered().map((e) => [e.seq, e.resourceTarget])).toEqual([
      [events[0]!.seq, 'a'],
      [events[2]!.seq, 'c'],
    ]);
    const data = stream.events.filter((e) => e.event === 'message');
    expect(data.at(-1)!.id).toBe(String(events[2]!.seq));
    await stream.close();
    // Called through the procedure as tRPC calls it: timed under its own name.
    expect(await metric(/^vigil_trpc_procedure_duration_seconds_count\{procedure="events.live",type="subscription",code="OK"\}/)).toBe(calls + 1);
  });

  it('resumes after Last-Event-ID (or lastEventId in the input): what was missed, nothing twice', async () => {
    const { events } = await record(Array.from({ length: 5 }, (_, i) => ({ action: 'delete', resourceType: 'template', resourceTarget: `t${i}` })));
    const after = String(events[1]!.seq);
    for (const [url, headers] of [
      [streamUrl({ q: 'resource_type:template' }), { ...bearer(), 'last-event-id': after }],
      [streamUrl({ q: 'resource_type:template', lastEventId: after }), bearer()],
    ] as const) {
      const stream = await openStream(url, headers);
      await stream.until(() => stream.delivered().length >= 3, 'the three events after the id');
      await new Promise((r) => setTimeout(r, 200));
      expect(stream.delivered().map((e) => e.resourceTarget)).toEqual(['t2', 't3', 't4']);
      await stream.close();
    }
  });

  it('refusals and bad input end the stream with a serialized error naming the field; the server keeps working', async () => {
    const cases: [string, Record<string, string>, string, RegExp][] = [
      [streamUrl({ q: 'action:cordon' }), {}, 'UNAUTHORIZED', /bearer token/],
      [`${streamUrl({ q: 'action:cordon' })}&token=${server.token}`, {}, 'UNAUTHORIZED', /bearer token/],
      [streamUrl({ q: 'action:cordon' }), { authorization: 'Bearer vgl_not-a-real-token' }, 'UNAUTHORIZED', /bearer token/],
      [streamUrl({ q: 'action:nuke' }), bearer(), 'BAD_REQUEST', /unknown action "nuke"/],
      [streamUrl({ q: 'action:cordon', lastEventId: 'abc' }), bearer(), 'BAD_REQUEST', /lastEventId/],
      [streamUrl({ q: 'action:cordon' }), { ...bearer(), 'last-event-id': '12x' }, 'BAD_REQUEST', /lastEventId/],
      [streamUrl({ q: 'action:cordon', extra: 1 }), bearer(), 'BAD_REQUEST', /extra/],
    ];
    for (const [url, headers, code, message] of cases) {
      const stream = await openStream(url, headers);
      await stream.until((e) => e.some((x) => x.event === 'serialized-error'), `a ${code}`);
      const error = JSON.parse(stream.events.find((e) => e.event === 'serialized-error')!.data) as { message: string; data: { code: string; path: string } };
      expect(error.data).toMatchObject({ code, path: 'events.live' });
      expect(error.message).toMatch(message);
      await stream.until(() => stream.ended(), 'the stream to end');
    }
    // HEAD opens no stream.
    const head = await fetch(streamUrl({ q: 'action:cordon' }), { method: 'HEAD', headers: bearer() });
    expect(head.headers.get('content-type')).not.toBe('text/event-stream');
    // Input that is not JSON: tRPC's own answer, an error.
    const garbled = await fetch(`${server.url}/trpc/events.live?input=%7Bnot-json`, { headers: { ...bearer(), accept: 'text/event-stream' } });
    const text = await garbled.text();
    expect(text).toMatch(/PARSE_ERROR|BAD_REQUEST/);
    // And the server goes on streaming.
    const stream = await openStream(streamUrl({ q: 'resource_target:after-bad-input' }), bearer());
    await stream.until((e) => e.length > 0, 'the opening event');
    await record([{ action: 'create', resourceType: 'workspace', resourceTarget: 'after-bad-input' }]);
    await stream.until(() => stream.delivered().length === 1, 'the event');
    await stream.close();
  });

  it('a closed stream is released: its subscription ends on the server', async () => {
    const open = () => metric(/^vigil_live_subscribers\{transport="sse"\}/);
    const settled = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while ((await open()) !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return open();
    };
    // Every stream the tests above opened has been closed (this process's servers share the gauge).
    expect(await settled(0)).toBe(0);
    const streams = await Promise.all([1, 2, 3].map(() => openStream(streamUrl({ q: 'action:cordon' }), bearer())));
    for (const s of streams) await s.until((e) => e.length > 0, 'the opening event');
    expect(await settled(3)).toBe(3);
    for (const s of streams) await s.close();
    expect(await settled(0)).toBe(0);
  });

  it('answers CORS for the extension and configured origins only', async () => {
    const allowed = await openStream(streamUrl({ q: 'action:cordon' }), { ...bearer(), origin: 'moz-extension://0b4a1c2d-1111-2222-3333-444455556666' });
    expect(allowed.response.headers.get('access-control-allow-origin')).toBe('moz-extension://0b4a1c2d-1111-2222-3333-444455556666');
    await allowed.close();
    const other = await openStream(streamUrl({ q: 'action:cordon' }), { ...bearer(), origin: 'https://evil.example' });
    expect(other.response.headers.get('access-control-allow-origin')).toBeNull();
    await other.close();
  });
});
