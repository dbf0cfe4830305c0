// Crash safety: a real server process is killed with SIGKILL at random moments during
// batch ingest and started again on the same port and database, while a client keeps
// sending batches and retries each one until it is acknowledged. Every acknowledged
// event is stored exactly once and the hash chain verifies. Postgres (the crash must not
// take the database with it). VIGIL_CRASH_CYCLES sets the number of kills
// (`npm run soak` runs 50).
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createVigilClient } from '../../shared/client.js';
import type { EventInput } from '../../shared/event.js';
import { queryRows } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { verifyChain } from '../../server/services/integrity.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createPostgres, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/waiting.js';

const CYCLES = Number(process.env.VIGIL_CRASH_CYCLES ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(BACKENDS.includes('postgres'))('crash safety (Postgres)', () => {
  let database: TestDatabase;
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await database?.destroy();
  });

  it(`${CYCLES} kills -9 during batch ingest lose and duplicate nothing acknowledged`, { timeout: 60_000 + CYCLES * 20_000 }, async () => {
    database = await createPostgres();
    const token = generateToken();
    const port = await freePort();
    const env = { DATABASE_URL: database.url!, VIGIL_ADMIN_TOKEN: token, PORT: String(port), LOG_LEVEL: 'warn' };
    server = await startChildServer(env);
    // The client knows nothing of the crashes: it (and, past its own retries, this loop)
    // sends a batch again until it is answered.
    const client = createVigilClient({ url: `http://127.0.0.1:${port}`, token });
    const acknowledged = new Set<string>();
    let stop = false;

    const ingest = (async () => {
      let n = 0;
      while (!stop) {
        const events: EventInput[] = Array.from({ length: 200 }, () => ({
          id: randomUUID(),
          time: new Date().toISOString(),
          action: 'connect',
          resourceType: 'workspace',
          resourceTarget: `crash-${n++}`,
          ip: '10.9.8.7',
        }));
        for (;;) {
          try {
            const { events: stored } = await client.events.recordBatch.mutate({ events });
            for (const e of stored) acknowledged.add(e.id);
            break;
          } catch {
            await sleep(100);
          }
        }
      }
    })();

    const progress: number[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await sleep(300 + Math.random() * 1200);
      progress.push(acknowledged.size);
      await server.stop('SIGKILL');
      server = await startChildServer(env);
    }
    // Ingest resumes after the last restart (the client's backoff may sit out short windows between kills).
    const beforeLast = acknowledged.size;
    await eventually(() => acknowledged.size > beforeLast, 'ingest to resume after the last restart', 60_000, 100);
    stop = true;
    await ingest;
    expect(progress[0]).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(progress.at(-1)!);
    const [counts] = await queryRows<{ total: number; distinct_ids: number }>(
      database.db,
      sql`select count(*)::int as total, count(distinct id)::int as distinct_ids from audit_events where action = 'connect'`,
    );
    expect(counts!.total).toBe(counts!.distinct_ids);
    const stored = await queryRows<{ id: string }>(database.db, sql`select id from audit_events where action = 'connect'`);
    const storedIds = new Set(stored.map((r) => r.id));
    const missing = [...acknowledged].filter((id) => !storedIds.has(id));
    expect(missing).toEqual([]);
    // Nothing half-written either: every stored batch is whole (batches are 200 events).
    expect(storedIds.size % 200).toBe(0);
    expect(await verifyChain(database.db, { trusted: [] })).toMatchObject({ ok: true });
  });
});
