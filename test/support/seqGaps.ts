// Gaps in audit_events.seq as production makes them: a write rolled back still consumes
// its sequence numbers.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../../server/db/database.js';

/** Inserts `n` events in a transaction that is then rolled back: `n` seq numbers are gone. */
export async function rolledBackWrite(db: Database, n: number): Promise<void> {
  const rolledBack = new Error('rolled back');
  await db
    .transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        await tx.execute(
          sql`insert into audit_events (id, time, recorded_at, action, resource_type, resource_target, hash)
              values (${randomUUID()}, now(), now(), 'create', 'user', 'never-committed', ${'0'.repeat(64)})`,
        );
      }
      throw rolledBack;
    })
    .catch((e: unknown) => {
      if (e !== rolledBack) throw e;
    });
}
