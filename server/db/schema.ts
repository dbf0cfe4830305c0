// The Drizzle schema: the single definition of Vigil's tables. Migrations are generated
// from it (`npm run db:generate`) and applied at start-up on Postgres and PGlite alike.
import { sql } from 'drizzle-orm';
import { bigint, index, inet, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { DiffEntry } from '../../shared/event.js';

// Millisecond precision so a time round-trips through JavaScript (and a cursor) exactly.
const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/**
 * One row per audit event, append-only. Every list filter has a btree ending in
 * (time, seq) so "newest 50 matching" is a backward index walk at any table size; text
 * filters are case-insensitive, hence the lower() expressions. The indexes are plain
 * ascending on purpose: drizzle's `.desc()` means DESC NULLS LAST, which cannot serve
 * `ORDER BY time DESC` (NULLS FIRST) in either direction.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: uuid('id').notNull().unique('audit_events_id_key'),
    time: instant('time').notNull(),
    recordedAt: instant('recorded_at').notNull().default(sql`now()`),
    action: text('action').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceId: text('resource_id'),
    resourceTarget: text('resource_target').notNull(),
    actorId: text('actor_id'),
    actorUsername: text('actor_username'),
    actorEmail: text('actor_email'),
    ip: inet('ip'),
    userAgent: text('user_agent'),
    statusCode: integer('status_code'),
    requestId: text('request_id'),
    diff: jsonb('diff').$type<Record<string, DiffEntry>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_events_time_idx').on(t.time, t.seq),
    index('audit_events_action_time_idx').on(t.action, t.time, t.seq),
    index('audit_events_resource_type_time_idx').on(t.resourceType, t.time, t.seq),
    index('audit_events_resource_target_time_idx').on(sql`lower(${t.resourceTarget})`, t.time, t.seq),
    index('audit_events_resource_id_time_idx').on(sql`lower(${t.resourceId})`, t.time, t.seq),
    index('audit_events_username_time_idx').on(sql`lower(${t.actorUsername})`, t.time, t.seq),
    index('audit_events_email_time_idx').on(sql`lower(${t.actorEmail})`, t.time, t.seq),
    index('audit_events_request_id_time_idx').on(sql`lower(${t.requestId})`, t.time, t.seq),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
