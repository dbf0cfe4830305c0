// Sink delivery under faults, with real server processes on one Postgres: two replicas
// share a sink (one delivers it, holding the lease: nothing is delivered twice while both
// live); the one delivering is killed with SIGKILL mid-delivery (a slow receiver keeps a
// batch in flight); the other takes the lease over when it runs out and resumes from the
// durable cursor. Every acknowledged event reaches the receiver, the only duplicates are
// the batch that was in flight. Postgres only: PGlite is one process's database.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import type { EventInput } from '../../shared/event.js';
import { queryRows } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createPostgres, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startHttpReceiver, type HttpReceiver } from '../support/sinkReceivers.js';
import { eventually, sleep } from '../support/waiting.js';

const BATCH = 40;

describe.runIf(BACKENDS.includes('postgres'))('sink delivery across replicas and a kill -9 (Postgres)', () => {
  let database: TestDatabase;
  let receiver: HttpReceiver;
  const servers: ChildServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await receiver?.close();
    await database?.destroy();
  });

  it('two processes: each event delivered once while both live; after a kill -9 of the deliverer, no acknowledged event missing', { timeout: 180_000 }, async () => {
    database = await createPostgres();
    receiver = await startHttpReceiver();
    const token = generateToken();
    const env = {
      DATABASE_URL: database.url!,
      VIGIL_ADMIN_TOKEN: token,
      // Both replicas decrypt the sink's secret with the same key.
      VIGIL_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      VIGIL_SINK_LEASE_SECONDS: '3',
      VIGIL_SINKS: JSON.stringify([{ name: 'siem', kind: 'webhook', url: `${receiver.url}/in`, secret: 'shared-secret', q: 'resource_type:workspace', batchSize: BATCH }]),
      LOG_LEVEL: 'warn',
    };
    // Known ports: at LOG_LEVEL warn a child is ready when /healthz answers.
    servers.push(await startChildServer({ ...env, PORT: String(await freePort()) }), await startChildServer({ ...env, PORT: String(await freePort()) }));
    const clients = servers.map((s) => createVigilClient({ url: s.url, token }));
    const acknowledged: string[] = [];
    const delivered = () => receiver.accepted().flatMap((q) => q.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; seq: number }));
    const ingest = async (client: (typeof clients)[number], n: number, prefix: string) => {
      for (let b = 0; b < n; b++) {
        const events: EventInput[] = Array.from({ length: 25 }, (_, i) => ({ id: randomUUID(), action: 'write', resourceType: 'workspace', resourceTarget: `${prefix}-${b}-${i}` }));
        await client.events.recordBatch.mutate({ events });
        acknowledged.push(...events.map((e) => e.id!));
      }
    };

    // Both replicas live and take writes; one of them holds the lease.
    await Promise.all([ingest(clients[0]!, 8, 'a'), ingest(clients[1]!, 8, 'b')]);
    await eventually(() => new Set(delivered().map((e) => e.id)).size >= acknowledged.length, 'the first 400 events delivered', 30_000);
    const first = delivered();
    expect(new Set(first.map((e) => e.id)).size).toBe(first.length);
    expect(first.map((e) => e.seq)).toEqual([...first.map((e) => e.seq)].sort((x, y) => x - y));

    // Kill the replica that delivers, while a batch is in flight at a slow receiver.
    const [lease] = await queryRows<{ lease_owner: string }>(database.db, sql`select lease_owner from sinks where name = 'siem'`);
    const holderPid = Number(lease!.lease_owner.split(':')[1]);
    const holder = servers.find((s) => s.process.pid === holderPid)!;
    const survivor = servers.find((s) => s !== holder)!;
    expect(holder).toBeDefined();
    receiver.delayMs = 400;
    const before = receiver.requests.length;
    const survivorClient = createVigilClient({ url: survivor.url, token });
    const more = ingest(survivorClient, 12, 'c');
    await eventually(() => receiver.requests.length > before, 'a batch in flight', 30_000, 5);
    holder.process.kill('SIGKILL');
    await more;
    receiver.delayMs = 0;
    await ingest(survivorClient, 4, 'd');

    await eventually(
      () => {
        const got = new Set(delivered().map((e) => e.id));
        return acknowledged.every((id) => got.has(id));
      },
      'every acknowledged event delivered after the takeover',
      60_000,
      100,
    );
    const all = delivered();
    const duplicates = all.length - new Set(all.map((e) => e.id)).size;
    // At-least-once: only the batch in flight at the kill may come twice.
    expect(duplicates).toBeLessThanOrEqual(BATCH);
    const [after] = await queryRows<{ lease_owner: string }>(database.db, sql`select lease_owner from sinks where name = 'siem'`);
    expect(Number(after!.lease_owner.split(':')[1])).toBe(survivor.process.pid);
    await sleep(0);
  });
});
