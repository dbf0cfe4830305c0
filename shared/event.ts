// The event as internal apps send it, and as Vigil lists it. This is a contract:
// fields may be added, never renamed.
import { z } from 'zod';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from './vocabulary.js';
import { EVENT_LIMITS } from './limits.js';
import { unstorableText } from './storableText.js';
import {
  EVENT_FIELDS,
  INPUT_FIELDS,
  type EventField,
  type GroupedField,
  type GroupMayBeAbsent,
  type InputField,
  type ListedEventOf,
  type ListedGroup,
} from './eventFields.js';
import type { AuditAction, ResourceType } from './vocabulary.js';

export { EVENT_LIMITS, unstorableText };



/** Why a JSON value could not be stored exactly (checks every key and string), or null. */
export function unstorableJson(value: unknown, depth = 0): string | null {
  if (depth > EVENT_LIMITS.jsonDepth) return `nests deeper than ${EVENT_LIMITS.jsonDepth} levels`;
  if (typeof value === 'string') return unstorableText(value);
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = unstorableJson(item, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = unstorableText(key) ?? unstorableJson(item, depth + 1);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * Event times Vigil stores: years 100 to 9999 in UTC. Postgres has no year 0, the database
 * drivers read its years below 100 back as 19xx/20xx, and the ISO form of a time has
 * four-digit years (an offset can push a time across either end).
 */
export const EVENT_TIME_RANGE = { from: '0100-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z' } as const;
const TIME_RANGE_MS = { from: Date.parse(EVENT_TIME_RANGE.from), to: Date.parse(EVENT_TIME_RANGE.to) };

function storableTime(value: string): boolean {
  const ms = Date.parse(value);
  // A time that does not parse is the format check's to report (one issue, not two).
  return !Number.isFinite(ms) || (ms >= TIME_RANGE_MS.from && ms <= TIME_RANGE_MS.to);
}

/** A zod refinement for any free text that reaches the database. */
export const storable = (value: string, ctx: z.RefinementCtx) => {
  const problem = unstorableText(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};
/** One issue at most for a JSON field: what Postgres cannot store, else its size. */
const storableJsonOf = (maxBytes: number) => (value: unknown, ctx: z.RefinementCtx) => {
  const problem = unstorableJson(value) ?? (jsonBytes(value, maxBytes) > maxBytes ? `larger than ${maxBytes} bytes of JSON` : null);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/**
 * Where `value` holds a key named `__proto__` (the path to it), or null. Such keys are
 * refused rather than stored: zod's record copy drops them silently, and many JSON
 * consumers downstream (sinks, browsers) would turn them into prototypes.
 */
export function protoKeyPath(value: unknown, depth = 0): (string | number)[] | null {
  if (depth > EVENT_LIMITS.jsonDepth || value === null || typeof value !== 'object') return null;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, item] of entries) {
    if (key === '__proto__') return [key];
    const below = protoKeyPath(item, depth + 1);
    if (below) return [key, ...below];
  }
  return null;
}

/** `schema`, after a check of the object as sent (before `schema` copies it): no `__proto__` key. */
const withoutProtoKeys = <Output, Input>(schema: z.ZodType<Output, Input>) =>
  z
    .custom<Input>()
    .superRefine((value, ctx) => {
      const path = protoKeyPath(value);
      if (path) ctx.addIssue({ code: 'custom', path, message: 'a key named __proto__ is not accepted' });
    })
    .pipe(schema);

const text = (max: number = EVENT_LIMITS.textField) => z.string().trim().min(1).max(max).superRefine(storable);

const utf8 = new TextEncoder();

/** The UTF-8 size of `value` as JSON; not counted exactly when it is plainly under `limit`. */
function jsonBytes(value: unknown, limit: number): number {
  try {
    const json = JSON.stringify(value);
    // A UTF-16 code unit is at most 3 bytes of UTF-8: short text needs no encoding.
    return json.length * 3 <= limit ? json.length : utf8.encode(json).length;
  } catch {
    // Nested too deeply for JSON.stringify (a small body can hold 10,000 levels): over any
    // limit, so safeParse reports an issue instead of throwing a RangeError.
    return Number.POSITIVE_INFINITY;
  }
}

/** One changed field: the old and new values, or only `secret: true` for secrets. */
export const diffEntrySchema = z
  .object({
    old: z.unknown().optional(),
    new: z.unknown().optional(),
    secret: z.boolean().optional(),
  })
  .strict();

/**
 * Each field's check as an event sent to Vigil carries it, by its key in the field table
 * (shared/eventFields.ts), which says which fields are sent, in what order, whether they
 * may be absent and how they group (the actor). A field the table sends without a check
 * here, or a check for a field it does not send, does not compile.
 */
const INPUT_RULES = {
  /** A client-supplied id is an idempotency key: the same id is stored once. */
  id: z.uuid(),
  /** When it happened (ISO 8601 with a zone); the server's clock when absent. */
  time: z.iso.datetime({ offset: true }).refine(storableTime, `must be from ${EVENT_TIME_RANGE.from} to ${EVENT_TIME_RANGE.to} (UTC)`),
  action: z.enum(AUDIT_ACTIONS, {
    error: (issue) => `unknown action ${JSON.stringify(issue.input)}; valid actions: ${AUDIT_ACTIONS.join(', ')}`,
  }),
  resourceType: z.enum(RESOURCE_TYPES, {
    error: (issue) => `unknown resource type ${JSON.stringify(issue.input)}; valid resource types: ${RESOURCE_TYPES.join(', ')}`,
  }),
  resourceId: text(256),
  resourceTarget: text(),
  /** The actor's parts (the actor absent: the system acted, e.g. auto_off, auto_start). */
  actorId: text(256),
  actorUsername: text(256),
  actorEmail: z.email().max(320),
  ip: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }),
  userAgent: z.string().max(EVENT_LIMITS.userAgent).superRefine(storable),
  statusCode: z.number().int().min(100).max(599),
  requestId: text(256),
  diff: withoutProtoKeys(
    z
      .record(z.string().min(1).max(128), diffEntrySchema)
      .refine((d) => Object.keys(d).length <= EVENT_LIMITS.diffFields, {
        message: `at most ${EVENT_LIMITS.diffFields} fields`,
      })
      .superRefine(storableJsonOf(EVENT_LIMITS.diffBytes)),
  ),
  metadata: withoutProtoKeys(z.record(z.string(), z.unknown()).superRefine(storableJsonOf(EVENT_LIMITS.metadataBytes))),
} satisfies Record<InputField['key'], z.ZodType>;
type InputRules = typeof INPUT_RULES;

/** A field's check as sent: optional when the table says it may be absent. */
type SentRule<F extends InputField> = F['input'] extends 'optional' ? z.ZodOptional<InputRules[F['key']]> : InputRules[F['key']];
type GroupShape<G extends ListedGroup> = { [F in Extract<InputField, { listed: { key: G } }> as F['listed']['part'] & string]: SentRule<F> };
type GroupSchema<G extends ListedGroup> = z.ZodObject<GroupShape<G>, z.core.$strict>;
type InputShape = { [F in Exclude<InputField, GroupedField> as F['listed']['key']]: SentRule<F> } & {
  [G in ListedGroup]: GroupMayBeAbsent<G> extends true ? z.ZodOptional<GroupSchema<G>> : GroupSchema<G>;
};

/** The input schema's shape from the field table: its own keys and the groups' objects, in table order. */
function inputShape(): { shape: InputShape; groups: { [G in ListedGroup]: GroupSchema<G> } } {
  const shape: Record<string, z.ZodType> = {};
  const parts: Record<string, Record<string, z.ZodType>> = {};
  for (const f of INPUT_FIELDS) {
    const rule: z.ZodType = INPUT_RULES[f.key];
    const sent = f.input === 'optional' ? rule.optional() : rule;
    const { key, part } = f.listed as EventField['listed'];
    if (part === undefined) shape[key] = sent;
    else {
      // The group takes the place of its first part; its schema is set below.
      shape[key] ??= sent;
      (parts[key] ??= {})[part] = sent;
    }
  }
  const groups: Record<string, z.ZodType> = {};
  for (const [key, groupParts] of Object.entries(parts)) {
    groups[key] = z.object(groupParts).strict();
    const presence = EVENT_FIELDS.find((f) => f.listed.key === key && 'presence' in f.listed)!;
    shape[key] = presence.nullable ? groups[key].optional() : groups[key];
  }
  return { shape: shape as unknown as InputShape, groups: groups as unknown as { [G in ListedGroup]: GroupSchema<G> } };
}

const built = inputShape();
export const actorSchema = built.groups.actor;
export const eventInputSchema = z.object(built.shape).strict();

export type EventInput = z.input<typeof eventInputSchema>;
export type ParsedEventInput = z.output<typeof eventInputSchema>;
export type DiffEntry = z.output<typeof diffEntrySchema>;

export const eventBatchSchema = z
  .array(eventInputSchema)
  .min(1, 'a batch needs at least one event')
  .max(EVENT_LIMITS.batchSize, `a batch holds at most ${EVENT_LIMITS.batchSize} events`);

/**
 * An event as Vigil stores and lists it (its keys from shared/eventFields.ts). Times are ISO
 * strings; absent values are null; `hash` is the integrity chain hash (shared/canonical.ts).
 */
export type AuditEvent = ListedEventOf<{
  action: AuditAction;
  resourceType: ResourceType;
  diff: Record<string, DiffEntry>;
  metadata: Record<string, unknown>;
}>;
