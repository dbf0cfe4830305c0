// The typed client subscribes as its types promise: createVigilClient({ url, token })
// streams events.live over SSE by default (Node 20 has no EventSource: the client brings
// one), over a WebSocket when asked, with the token in a header, never in a URL, and
// resumes from lastEventId. On every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createVigilClient, type VigilClient, type VigilClientOptions } from '../../shared/client.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

interface Received {
  events: { id: string; data: AuditEvent }[];
  errors: { code: string | undefined; message: string }[];
  started: boolean;
  stop(): void;
}

function subscribe(client: VigilClient, input: { q?: string; lastEventId?: string }): Received {
  const received: Received = { events: [], errors: [], started: false, stop: () => {} };
  const sub = client.events.live.subscribe(input, {
    onStarted: () => (received.started = true),
    onData: (tracked) => received.events.push(tracked as { id: string; data: AuditEvent }),
    onError: (error) => received.errors.push({ code: (error as { data?: { code?: string } }).data?.code, message: error.message }),
  });
  received.stop = () => sub.unsubscribe();
  return received;
}

describe.each(BACKENDS)('the typed client subscribes, on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const clients: VigilClient[] = [];
  /** Every request the client made: its URL and Authorization header. */
  const requests: { url: string; authorization: string | null }[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    requests.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    return fetch(input, init);
  };
  const client = (options: Partial<VigilClientOptions> = {}) => {
    const c = createVigilClient({ url: server.url, token: server.token, ...options });
    clients.push(c);
    return c;
  };
  const record = async (events: EventInput[]) => (await server.client.events.recordBatch.mutate({ events })).events;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db, { listen: database.listen });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
    await database?.destroy();
  });

  it('SSE by default: subscribe, record, receive the matching events; the token only in a header', async () => {
    const vigil = client({ fetch: recordingFetch });
    const sub = subscribe(vigil, { q: 'action:delete resource_type:workspace' });
    await eventually(() => sub.started, 'the SSE subscription to start');
    const stored = await record([
      { action: 'delete', resourceType: 'workspace', resourceTarget: 'sse/one' },
      { action: 'create', resourceType: 'workspace', resourceTarget: 'sse/other' },
      { action: 'delete', resourceType: 'workspace', resourceTarget: 'sse/two' },
    ]);
    await eventually(() => sub.events.length >= 2, 'two events over SSE');
    expect(sub.events.map((e) => e.data.resourceTarget)).toEqual(['sse/one', 'sse/two']);
    // Each event is tracked by its seq, the resume point.
    expect(sub.events.map((e) => e.id)).toEqual([String(stored[0]!.seq), String(stored[2]!.seq)]);
    expect(sub.errors).toEqual([]);
    sub.stop();

    const streams = requests.filter((r) => r.url.includes('/trpc/events.live'));
    expect(streams.length).toBeGreaterThan(0);
    for (const r of streams) {
      expect(r.authorization).toBe(`Bearer ${server.token}`);
      expect(r.url).not.toContain(server.token);
    }
  });

  it('resumes after lastEventId: what was recorded meanwhile arrives once, in order', async () => {
    const [first] = await record([{ action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'resume/0' }]);
    const missed = await record([1, 2, 3].map((i) => ({ action: 'cordon' as const, resourceType: 'workspace_provider' as const, resourceTarget: `resume/${i}` })));
    const sub = subscribe(client(), { q: 'action:cordon', lastEventId: String(first!.seq) });
    await eventually(() => sub.events.length >= 3, 'the missed events');
    const [after] = await record([{ action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'resume/4' }]);
    await eventually(() => sub.events.length >= 4, 'the new event');
    expect(sub.events.map((e) => e.id)).toEqual([...missed.map((m) => String(m.seq)), String(after!.seq)]);
    expect(sub.events.map((e) => e.data.resourceTarget)).toEqual(['resume/1', 'resume/2', 'resume/3', 'resume/4']);
    sub.stop();
  });

  it('WebSocket as an option: subscribe, record, receive; close() ends the socket', async () => {
    let opened = 0;
    let closed = 0;
    const vigil = client({ live: { transport: 'ws', WebSocket, onOpen: () => opened++, onClose: () => closed++ } });
    const sub = subscribe(vigil, { q: 'action:delete resource_target:ws/one' });
    await eventually(() => sub.started, 'the WebSocket subscription to start');
    expect(opened).toBe(1);
    await record([
      { action: 'delete', resourceType: 'workspace', resourceTarget: 'ws/one' },
      { action: 'delete', resourceType: 'workspace', resourceTarget: 'ws/two' },
    ]);
    await eventually(() => sub.events.length >= 1, 'the event over WebSocket');
    expect(sub.events.map((e) => e.data.resourceTarget)).toEqual(['ws/one']);
    // Queries still go over HTTP.
    expect((await vigil.events.list.query({ q: 'resource_target:ws/one', limit: 5 })).items).toHaveLength(1);
    await vigil.close();
    await eventually(() => closed === 1, 'the socket to close');
  });

  it.each(['sse', 'ws'] as const)('%s: a token the server refuses ends the subscription with UNAUTHORIZED', async (transport) => {
    const vigil = client({ token: 'not-a-token', live: { transport, WebSocket } });
    const sub = subscribe(vigil, {});
    await eventually(() => sub.errors.length > 0, 'the refusal');
    expect(sub.errors[0]).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(sub.events).toEqual([]);
    sub.stop();
  });
});
