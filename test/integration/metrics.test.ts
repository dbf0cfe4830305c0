// GET /metrics: Prometheus text with the events recorded, per-procedure latency, HTTP
// latency by route, live subscribers, and what database serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(BACKENDS)('metrics on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db);
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it('counts events and times procedures and requests', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const cordonsBefore = value(before, 'vigil_events_recorded_total{action="cordon"}') ?? 0;
    const id = crypto.randomUUID();
    await server.client.events.record.mutate({ id, action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'eu-west' });
    await server.client.events.record.mutate({ id, action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'eu-west' });
    await server.client.events.list.query({ limit: 1 });
    await fetch(`${server.url}/trpc/events.list`); // no token: UNAUTHORIZED
    const live = createVigilLiveClient({ url: server.url, token: server.token, transport: 'ws', WebSocket });
    const liveBefore = value(before, 'vigil_live_subscribers{transport="ws"}') ?? 0;
    let started = 0;
    const subs = [0, 1].map(() => live.client.events.live.subscribe({}, { onStarted: () => started++ }));
    await eventually(() => started === 2, 'both subscriptions to start', 15_000, 20);

    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    // Stored once, counted once; the replay is a duplicate.
    expect(value(text, 'vigil_events_recorded_total{action="cordon"}')).toBe(cordonsBefore + 1);
    expect(value(text, 'vigil_events_duplicate_total')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'vigil_trpc_procedure_duration_seconds_count{procedure="events.record",type="mutation",code="OK"}')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'vigil_trpc_procedure_duration_seconds_count{procedure="events.list",type="query",code="UNAUTHORIZED"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/vigil_trpc_procedure_duration_seconds_bucket\{le="0\.005",procedure="events\.list",type="query",code="OK"\} \d+/);
    expect(text).toMatch(/vigil_http_request_duration_seconds_count\{method="POST",route="\/trpc",status="200"\} \d+/);
    expect(value(text, 'vigil_live_subscribers{transport="ws"}')).toBe(liveBefore + 2);
    for (const sub of subs) sub.unsubscribe();
    live.close();
    for (let i = 0; i < 50 && value(await (await fetch(`${server.url}/metrics`)).text(), 'vigil_live_subscribers{transport="ws"}') !== liveBefore; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(value(await (await fetch(`${server.url}/metrics`)).text(), 'vigil_live_subscribers{transport="ws"}')).toBe(liveBefore);
    expect(value(text, `vigil_database_info{kind="${backend}"}`)).toBe(1);
    expect(value(text, `vigil_database_pool_max{kind="${backend}"}`)).toBe(backend === 'pglite' ? 1 : 10);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
