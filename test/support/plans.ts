// Query plans of the list query, to check that filters are served by indexes.
import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../../server/db/database.js';
import { cappedCountQuery, eventsPageQuery, type EventQuery } from '../../server/db/auditEventsStore.js';

export async function selectEventsPagePlanQuery(db: Database, query: EventQuery): Promise<string> {
  const rows = await queryRows<Record<string, string>>(db, sql`explain ${eventsPageQuery(db, query, undefined, 51)}`);
  return rows.map((r) => Object.values(r)[0]).join('\n');
}

export async function cappedCountPlan(db: Database, query: EventQuery): Promise<string> {
  const rows = await queryRows<Record<string, string>>(db, sql`explain ${cappedCountQuery(query, 10_001)}`);
  return rows.map((r) => Object.values(r)[0]).join('\n');
}
