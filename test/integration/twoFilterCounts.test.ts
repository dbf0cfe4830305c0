// Capped counts over two filters read indexes alone (migration 0007: the broad filters'
// indexes carry action and resource_type). On a table shaped like a real log (many users,
// common and rare actions) and analysed, so the planner drives from the selective side as
// it does at 10M events.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventWriter, type NewAuditEventRow } from '../../server/db/eventWriter.js';
import { parseQueryFor, resolveFilter } from '../../server/services/events.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { cappedCountPlan } from '../support/plans.js';

const ACTIONS = ['login', 'login', 'login', 'connect', 'connect', 'open', 'write', 'delete'] as const;
const TYPES = ['user', 'workspace', 'workspace', 'template'] as const;

function logShapedRows(count: number): NewAuditEventRow[] {
  const start = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: count }, (_, i) => {
    const user = `user${i % 97}`;
    const time = new Date(start + i * 60_000).toISOString();
    return {
      id: crypto.randomUUID(),
      time,
      recordedAt: time,
      action: ACTIONS[i % ACTIONS.length]!,
      resourceType: TYPES[i % TYPES.length]!,
      resourceId: `ws-${i % 89}`,
      resourceTarget: `${user}/dev-${i % 3}`,
      actorId: null,
      actorUsername: user,
      actorEmail: `${user}@example.com`,
      ip: null,
      userAgent: null,
      statusCode: 200,
      requestId: `req-${i}`,
      diff: {},
      metadata: {},
    };
  });
}

describe.each(BACKENDS)('two-filter counts on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const rows = logShapedRows(6000);
    const writer = new EventWriter(database.db);
    for (let i = 0; i < rows.length; i += 1000) await writer.insert(rows.slice(i, i + 1000));
    await database.db.execute(sql`analyze audit_events`);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it.each([
    'username:user7 action:login',
    'email:user7@example.com -action:login',
    'username:user7 resource_type:workspace',
    'resource_target:user7/dev-1 action:connect',
    'resource_id:ws-9 resource_type:workspace',
    'action:delete resource_type:workspace',
    'resource_type:template -action:login',
  ])('the capped count for "%s" reads the index alone', async (q) => {
    const query = resolveFilter(parseQueryFor(q, 'alice'), new Date());
    const plan = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local enable_bitmapscan = off`);
      return cappedCountPlan(tx as never, query);
    });
    expect(plan).toMatch(/Index Only Scan/);
  });
});
