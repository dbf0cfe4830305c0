// The Drizzle schema: the single definition of Vigil's tables. Migrations are generated
// from it (`npm run db:generate`) and applied at start-up on Postgres and PGlite alike.
import { sql } from 'drizzle-orm';
import { bigint, index, inet, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { DiffEntry } from '../../shared/event.js';

// Millisecond precision so a time round-trips through JavaScript (and a cursor) exactly.
const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/**
 * One row per audit event, append-only. Every list filter has a btree ending in
 * (time DESC, seq DESC) so "newest 50 matching" is an index walk at any table size;
 * text filters are case-insensitive, hence the lower() expressions.
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
    index('audit_events_time_idx').on(t.time.desc(), t.seq.desc()),
    index('audit_events_action_time_idx').on(t.action, t.time.desc(), t.seq.desc()),
    index('audit_events_resource_type_time_idx').on(t.resourceType, t.time.desc(), t.seq.desc()),
    index('audit_events_resource_target_time_idx').on(sql`lower(${t.resourceTarget})`, t.time.desc(), t.seq.desc()),
    index('audit_events_resource_id_time_idx').on(sql`lower(${t.resourceId})`, t.time.desc(), t.seq.desc()),
    index('audit_events_username_time_idx').on(sql`lower(${t.actorUsername})`, t.time.desc(), t.seq.desc()),
    index('audit_events_email_time_idx').on(sql`lower(${t.actorEmail})`, t.time.desc(), t.seq.desc()),
    index('audit_events_request_id_time_idx').on(sql`lower(${t.requestId})`, t.time.desc(), t.seq.desc()),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
