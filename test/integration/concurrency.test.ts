// Concurrent writers keep one valid chain: on Postgres through two server processes,
// on PGlite through one.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/database.js';
import { createVigilClient } from '../../shared/client.js';
import type { EventInput } from '../../shared/event.js';
import { generateToken } from '../../server/services/auth.js';
import { verifyChain } from '../../server/services/integrity.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

const WRITERS = 8;

function batchOf(writer: number, batch: number, size: number): EventInput[] {
  return Array.from({ length: size }, (_, i) => ({
    action: 'connect',
    resourceType: 'workspace',
    resourceTarget: `w${writer}-b${batch}-e${i}`,
    actor: { username: `writer${writer}` },
    ip: `10.0.${writer}.${i % 250}`,
    metadata: { writer, batch, i },
  }));
}

describe.each(BACKENDS)('concurrent writers on %s', (backend) => {
  let database: TestDatabase;
  const servers: { close(): Promise<void> }[] = [];
  let child: ChildServer | undefined;
  afterAll(async () => {
    await child?.stop();
    for (const s of servers) await s.close();
    await database?.destroy();
  });

  // Over the count cap (10,000) in all, and enough writes (batches) for the two processes'
  // pipelines to interleave many times; more events would only take longer.
  const perWriter = backend === 'postgres' ? 2_500 : 1_500;
  const batchSize = 250;
  it(`${WRITERS} writers x ${perWriter} events: every event stored once, the chain verifies`, async () => {
    database = await createTestDatabase(backend);
    const inProcess: TestServer = await startTestServer(database.db);
    servers.push(inProcess);
    const clients = [inProcess.client];
    if (backend === 'postgres') {
      // A second server process on the same database, as a second replica would be.
      const token = generateToken();
      child = await startChildServer({ DATABASE_URL: database.url!, VIGIL_ADMIN_TOKEN: token });
      clients.push(createVigilClient({ url: child.url, token }));
    }
    const batches = perWriter / batchSize;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        const client = clients[writer % clients.length]!;
        for (let b = 0; b < batches; b++) await client.events.recordBatch.mutate({ events: batchOf(writer, b, batchSize) });
      }),
    );
    const [counts] = await queryRows<{ total: number; written: number; distinct_targets: number }>(
      database.db,
      sql`select count(*)::int as total, count(*) filter (where action = 'connect')::int as written,
                 count(distinct resource_target)::int as distinct_targets from audit_events`,
    );
    expect(counts).toMatchObject({ written: WRITERS * perWriter, distinct_targets: counts!.total });
    // The chain covers every row (a second server's first start adds its own `create` event).
    const report = await verifyChain(database.db, { trusted: [generateSigner()] });
    expect(report).toMatchObject({ ok: true, checked: counts!.total });
    const page = await inProcess.client.events.list.query({ q: 'action:connect', limit: 1 });
    expect(page.count).toEqual({ value: 10_000, capped: WRITERS * perWriter > 10_000 });
  });
});
