// The Drizzle schema: the single definition of Vigil's tables. Migrations are generated
// from it (`npm run db:generate`) and applied at start-up on Postgres and PGlite alike.
import { sql } from 'drizzle-orm';
import { bigint, check, customType, index, inet, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { DiffEntry } from '../../shared/event.js';
import type { Role, TokenScope } from '../../shared/identity.js';

// Millisecond precision so a time round-trips through JavaScript (and a cursor) exactly.
const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/**
 * One row per audit event, append-only. Every list filter has a btree ending in
 * (time, seq) so "newest 50 matching" is a backward index walk at any table size; text
 * filters are case-insensitive, hence the lower() expressions. The indexes are plain
 * ascending on purpose: drizzle's `.desc()` means DESC NULLS LAST, which cannot serve
 * `ORDER BY time DESC` (NULLS FIRST) in either direction. Migrations 0005 and 0007 add
 * INCLUDE columns (drizzle cannot express INCLUDE): each lower() index carries its column,
 * and the broad ones also action and resource_type (the action and resource_type indexes
 * carry each other), so capped counts on one filter, or on two of them, are index-only.
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
    /** SHA-256 (hex) of the previous event's hash and this event's canonical form. */
    hash: text('hash').notNull(),
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

/** People who log in. Passwords are scrypt hashes; a disabled user's tokens stop working. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    username: text('username').notNull(),
    email: text('email'),
    role: text('role').$type<Role>().notNull(),
    passwordHash: text('password_hash').notNull(),
    disabledAt: instant('disabled_at'),
    createdAt: instant('created_at').notNull().default(sql`now()`),
    updatedAt: instant('updated_at').notNull().default(sql`now()`),
  },
  (t) => [uniqueIndex('users_username_key').on(sql`lower(${t.username})`)],
);

/**
 * Bearer tokens: login sessions of users, and service tokens for internal apps. Only the
 * SHA-256 of a token is stored (tokens are 256 random bits, so no salt is needed).
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey(),
    kind: text('kind').$type<'session' | 'service'>().notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The user a session belongs to; null for service tokens. */
    userId: uuid('user_id').references(() => users.id),
    name: text('name').notNull(),
    scopes: jsonb('scopes').$type<TokenScope[]>().notNull().default([]),
    createdAt: instant('created_at').notNull().default(sql`now()`),
    expiresAt: instant('expires_at'),
    revokedAt: instant('revoked_at'),
    lastUsedAt: instant('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

export type UserRow = typeof users.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;

/**
 * Signed statements of the chain head: "the event at `seq` has hash `hash`". Retention
 * writes one at the new start of the chain so what remains still verifies. Append-only
 * (migration 0009), each naming the one before it.
 */
export const integrityCheckpoints = pgTable('integrity_checkpoints', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  kind: text('kind').$type<'scheduled' | 'on_demand' | 'retention'>().notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  createdAt: instant('created_at').notNull(),
  /** SHA-256 (hex) of the public key that signed it. */
  keyId: text('key_id').notNull(),
  /** Ed25519 signature (base64) over the canonical checkpoint statement. */
  signature: text('signature').notNull(),
  /** The checkpoint before this one (0: none); null on checkpoints made before they were chained. */
  prevId: bigint('prev_id', { mode: 'number' }),
  /** SHA-256 (hex) of the previous checkpoint's statement and signature (64 zeros: none). */
  prevDigest: text('prev_digest'),
  /** Events after the previous checkpoint's seq through this one's (null: not counted). */
  events: bigint('events', { mode: 'number' }),
});

export type IntegrityCheckpointRow = typeof integrityCheckpoints.$inferSelect;

/** Raw bytes (hashes). PGlite answers Uint8Array, postgres.js a Buffer (a Uint8Array too). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * The Merkle tree (RFC 9162) over audit_events in seq order, as C2SP tlog-tiles
 * (server/services/merkleTiles.ts; migration 0014), append-only: a tile only grows. Its
 * tlog hashes, the inner nodes between them, and at level 0 its leaves' event seqs and
 * ids. Kept when retention removes events. (audit_events.leaf_hash, the writer's copy of
 * each leaf, is read by merkleStore.ts only and left out of the events table above, so
 * no read of events carries it.)
 */
export const merkleTiles = pgTable(
  'merkle_tiles',
  {
    level: smallint('level').notNull(),
    tileIndex: bigint('tile_index', { mode: 'number' }).notNull(),
    hashes: bytea('hashes').notNull(),
    innerHashes: bytea('inner_hashes').notNull(),
    seqs: bigint('seqs', { mode: 'number' }).array(),
    eventIds: uuid('event_ids').array(),
    lastSeq: bigint('last_seq', { mode: 'number' }),
  },
  (t) => [primaryKey({ name: 'merkle_tiles_pkey', columns: [t.level, t.tileIndex] }), index('merkle_tiles_last_seq_idx').on(t.lastSeq).where(sql`${t.level} = 0`)],
);

/** Events retention removed (recorded by a trigger as it deletes them): their leaves stay in the tree. */
export const merkleRemovedEvents = pgTable('merkle_removed_events', {
  eventId: uuid('event_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
});

/** Signed tree heads: a C2SP checkpoint note per tree size the log committed to, each kept. */
export const merkleTreeHeads = pgTable('merkle_tree_heads', {
  treeSize: bigint('tree_size', { mode: 'number' }).primaryKey(),
  rootHash: bytea('root_hash').notNull(),
  note: text('note').notNull(),
  createdAt: instant('created_at').notNull(),
});

export type MerkleTreeHeadRow = typeof merkleTreeHeads.$inferSelect;

/**
 * Admin settings that were set (shared/settingsCatalog.ts holds every setting and its
 * default; a setting without a row has its default). A secret's value is only ever the
 * AES-256-GCM ciphertext in `secret_ciphertext` (server/services/secretsKey.ts); every
 * other value is JSON in `value`.
 */
export const settings = pgTable(
  'settings',
  {
    key: text('key').primaryKey(),
    value: jsonb('value').$type<string | boolean>(),
    secretCiphertext: text('secret_ciphertext'),
    updatedAt: instant('updated_at').notNull(),
    updatedBy: text('updated_by'),
  },
  (t) => [check('settings_one_value', sql`(${t.value} is null) <> (${t.secretCiphertext} is null)`)],
);

export type SettingRow = typeof settings.$inferSelect;

/**
 * Sinks that stream the audit trail to a SIEM (server/services/sinks.ts). The secret is
 * only ever AES-256-GCM ciphertext (server/services/secretsKey.ts). `cursor_seq` is the
 * last event seq delivered or skipped by the sink's filter: delivery resumes after it.
 * `lease_owner` / `lease_until` name the one process delivering the sink
 * (server/services/sinkDelivery.ts).
 */
export const sinks = pgTable(
  'sinks',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    url: text('url').notNull(),
    format: text('format').notNull(),
    q: text('q').notNull().default(''),
    secretCiphertext: text('secret_ciphertext'),
    batchSize: integer('batch_size').notNull(),
    caFile: text('ca_file'),
    cursorSeq: bigint('cursor_seq', { mode: 'number' }).notNull(),
    delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
    lastDeliveredAt: instant('last_delivered_at'),
    lastError: text('last_error'),
    lastErrorAt: instant('last_error_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: instant('lease_until'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [uniqueIndex('sinks_name_key').on(sql`lower(${t.name})`)],
);

export type SinkRow = typeof sinks.$inferSelect;
