// The typed client for internal apps: ids and times assigned by the client (so a retry is
// the same event), retries with backoff on network errors and 503 (and none for calls that
// are not safe to repeat), the recordLater buffer, and the example app recording through a
// real server process that is stopped and started again: no event lost, none duplicated.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { createVigilClient } from '../../shared/client.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { freePort } from '../support/ports.js';

const execFileAsync = promisify(execFile);

/** A fetch that counts requests and can fail some, before or after the server saw them. */
function faultyFetch(plan: { failBefore?: number; failAfter?: number; unavailable?: number }) {
  const calls: string[] = [];
  let { failBefore = 0, failAfter = 0, unavailable = 0 } = plan;
  const wrapped: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
    if (failBefore > 0) {
      failBefore--;
      throw new TypeError('fetch failed (connection refused)');
    }
    if (unavailable > 0) {
      unavailable--;
      return new Response('<html>502 Bad Gateway</html>', { status: 503 });
    }
    const response = await fetch(input, init);
    if (failAfter > 0) {
      // The server stored it; the answer is lost on the way back.
      failAfter--;
      await response.arrayBuffer();
      throw new TypeError('fetch failed (socket hang up)');
    }
    return response;
  };
  return { fetch: wrapped, calls };
}

const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };

/**
 * An HTTP front for a real server that, for its first `drops` requests, lets the server
 * answer (and so commit) and then loses the connection: before any byte of the answer, or
 * half-way through its body.
 */
async function droppingFront(target: string, plan: { drops: number; how: 'before-answer' | 'mid-body' }) {
  let { drops } = plan;
  const front = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'trpc-accept']) if (req.headers[name]) headers[name] = String(req.headers[name]);
    const upstream = await fetch(`${target}${req.url}`, { method: req.method!, headers, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}) });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (drops > 0) {
      drops--;
      if (plan.how === 'before-answer') return req.socket.destroy();
      res.writeHead(upstream.status, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => front.close(() => resolve())),
  };
}

describe.each(BACKENDS)('typed client on %s', (backend) => {
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

  async function countTarget(target: string): Promise<number> {
    const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from audit_events where resource_target = ${target}`);
    return Number(row!.n);
  }

  it('gives events an id and a time, so the call can be repeated', async () => {
    const before = Date.now();
    const stored = await server.client.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'stamped' });
    expect(stored.id).toMatch(/^[0-9a-f-]{36}$/);
    const event = await server.client.events.get.query({ id: stored.id });
    expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(event.time)).toBeLessThanOrEqual(Date.parse(event.recordedAt));
  });

  it('retries a recording lost on the way back: stored once, answered as a duplicate', async () => {
    const faulty = faultyFetch({ failAfter: 2 });
    const client = createVigilClient({ url: server.url, token: server.token, fetch: faulty.fetch, retry: fastRetry });
    const stored = await client.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: 'lost-answer' });
    expect(stored.duplicate).toBe(true);
    expect(faulty.calls).toHaveLength(3);
    expect(await countTarget('lost-answer')).toBe(1);
    const batch = faultyFetch({ failAfter: 1, failBefore: 1, unavailable: 2 });
    const batchClient = createVigilClient({ url: server.url, token: server.token, fetch: batch.fetch, retry: fastRetry });
    const result = await batchClient.events.recordBatch.mutate({
      events: [1, 2, 3].map((i) => ({ action: 'connect' as const, resourceType: 'workspace' as const, resourceTarget: `lost-batch-${i}` })),
    });
    expect(batch.calls).toHaveLength(5);
    expect(result.events.every((e) => e.duplicate)).toBe(true);
    for (const i of [1, 2, 3]) expect(await countTarget(`lost-batch-${i}`)).toBe(1);
  });

  it.each(['before-answer', 'mid-body'] as const)(
    'retries a recording whose connection the server dropped after committing (%s): stored once',
    async (how) => {
      const front = await droppingFront(server.url, { drops: 2, how });
      try {
        const client = createVigilClient({ url: front.url, token: server.token, retry: fastRetry });
        const stored = await client.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: `dropped-${how}` });
        expect(stored.duplicate).toBe(true);
        expect(await countTarget(`dropped-${how}`)).toBe(1);
        const batch = await client.events.recordBatch.mutate({
          events: [1, 2].map((i) => ({ action: 'connect' as const, resourceType: 'workspace' as const, resourceTarget: `dropped-${how}-batch-${i}` })),
        });
        expect(batch.events).toHaveLength(2);
        for (const i of [1, 2]) expect(await countTarget(`dropped-${how}-batch-${i}`)).toBe(1);
        // A query is not repeated unless asked: the dropped answer reaches the caller.
        const readFront = await droppingFront(server.url, { drops: 1, how });
        const reader = createVigilClient({ url: readFront.url, token: server.token, retry: fastRetry });
        await expect(reader.events.list.query({ limit: 1 })).rejects.toThrow();
        await readFront.close();
      } finally {
        await front.close();
      }
    },
  );

  it('does not repeat calls that are not idempotent, nor queries unless asked', async () => {
    const faulty = faultyFetch({ failBefore: 1 });
    const client = createVigilClient({ url: server.url, token: server.token, fetch: faulty.fetch, retry: fastRetry });
    await expect(client.tokens.create.mutate({ name: 'once', scopes: ['events:write'] })).rejects.toThrow(/fetch failed/);
    expect(faulty.calls).toHaveLength(1);
    const queries = faultyFetch({ failBefore: 1 });
    const noRetry = createVigilClient({ url: server.url, token: server.token, fetch: queries.fetch, retry: fastRetry });
    await expect(noRetry.events.list.query({ limit: 1 })).rejects.toThrow(/fetch failed/);
    const retrying = faultyFetch({ failBefore: 2 });
    const withRetry = createVigilClient({ url: server.url, token: server.token, fetch: retrying.fetch, retry: { ...fastRetry, queries: true } });
    expect((await withRetry.events.list.query({ limit: 1 })).items).toHaveLength(1);
    expect(retrying.calls).toHaveLength(3);
  });

  it('gives up after the configured attempts', async () => {
    const faulty = faultyFetch({ failBefore: 100 });
    const client = createVigilClient({ url: server.url, token: server.token, fetch: faulty.fetch, retry: { ...fastRetry, attempts: 3 } });
    await expect(client.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: 'never' })).rejects.toThrow(/fetch failed/);
    expect(faulty.calls).toHaveLength(4);
  });

  it('recordLater sends full batches at once and the rest after the interval; close() flushes', async () => {
    const counting = faultyFetch({});
    // An interval long enough that the two full batches are surely sent first, even on a loaded machine.
    const client = createVigilClient({ url: server.url, token: server.token, fetch: counting.fetch, buffer: { size: 10, intervalMs: 1500 } });
    const ids = Array.from({ length: 25 }, (_, i) => client.recordLater({ action: 'open', resourceType: 'workspace', resourceTarget: `later-${i}` }).id);
    expect(new Set(ids).size).toBe(25);
    // Two full batches at once; the last 5 wait for the interval.
    await expect.poll(() => client.pending()).toBe(5);
    expect(counting.calls).toHaveLength(2);
    await expect.poll(() => client.pending(), { timeout: 10_000 }).toBe(0);
    expect(counting.calls).toHaveLength(3);
    client.recordLater({ action: 'open', resourceType: 'workspace', resourceTarget: 'later-last' });
    await client.close();
    expect(counting.calls).toHaveLength(4);
    expect(counting.calls.every((c) => c === 'POST /trpc/events.recordBatch')).toBe(true);
    const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from audit_events where resource_target like 'later-%'`);
    expect(Number(row!.n)).toBe(26);
    expect(() => client.recordLater({ action: 'open', resourceType: 'workspace', resourceTarget: 'x' })).toThrow(/after close/);
  });

  it('recordLater rejects an invalid event at the call, and keeps events through a failed flush', async () => {
    const client = createVigilClient({ url: server.url, token: server.token, retry: { attempts: 0 } });
    expect(() => client.recordLater({ action: 'explode' as 'open', resourceType: 'workspace', resourceTarget: 'x' })).toThrow(/action: unknown action "explode"/);
    const faulty = faultyFetch({ failBefore: 1 });
    const errors: number[] = [];
    const flaky = createVigilClient({ url: server.url, token: server.token, fetch: faulty.fetch, retry: { attempts: 0 }, buffer: { intervalMs: 60_000, onError: (_e, pending) => errors.push(pending) } });
    flaky.recordLater({ action: 'stop', resourceType: 'workspace', resourceTarget: 'kept-through-failure' });
    await expect(flaky.flush()).rejects.toThrow(/fetch failed/);
    expect(errors).toEqual([1]);
    expect(flaky.pending()).toBe(1);
    await flaky.close();
    expect(await countTarget('kept-through-failure')).toBe(1);
  });
});

describe.each(BACKENDS)('the example app through a server restart on %s', (backend) => {
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let child: ChildServer | undefined;
  afterAll(async () => {
    await child?.stop();
    await database?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('records every event exactly once while the server is stopped and started', async () => {
    const token = generateToken();
    const port = String(await freePort());
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: token, PORT: port, LOG_LEVEL: 'warn', VIGIL_CHECKPOINT_MINUTES: '0' };
    if (backend === 'postgres') {
      database = await createTestDatabase('postgres');
      env.DATABASE_URL = database.url!;
    } else {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-restart-'));
      env.VIGIL_DATA_DIR = dataDir;
    }
    // childServer reads the URL from the startup log line: keep that line (info).
    env.LOG_LEVEL = 'info';
    child = await startChildServer(env);
    const url = child.url;

    const operations = 300;
    const app = execFileAsync(process.execPath, ['--import', 'tsx', 'test/examples/workspaceApp.ts', '--operations', String(operations), '--interval-ms', '15'], {
      env: { ...process.env, VIGIL_URL: url, VIGIL_TOKEN: token },
    });
    // Let it record for a while, stop the server mid-stream, start it again on the same database.
    await new Promise((r) => setTimeout(r, 1500));
    await child.stop();
    await new Promise((r) => setTimeout(r, 1000));
    child = await startChildServer(env);
    expect(child.url).toBe(url);

    const { stdout } = await app;
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { recorded: number; ids: string[] };
    expect(result.recorded).toBe(operations);
    expect(new Set(result.ids).size).toBe(operations);

    // Read the stored events back through the restarted server.
    const client = createVigilClient({ url, token });
    const seen = new Map<number, number>();
    let cursor: string | undefined;
    do {
      const page = await client.events.list.query({ q: 'resource_type:workspace username:alice,bob,carol', limit: 200, ...(cursor ? { cursor } : {}) });
      for (const e of page.items) seen.set(e.metadata.op as number, (seen.get(e.metadata.op as number) ?? 0) + 1);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.size).toBe(operations); // none lost
    expect([...seen.values()].every((n) => n === 1)).toBe(true); // none duplicated
    for (const id of result.ids.slice(0, 20)) expect((await client.events.get.query({ id })).id).toBe(id);
  }, 120_000);
});

