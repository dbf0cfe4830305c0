// Every field of an audit event, classified in one place (the idea of Coder's
// enterprise/audit/table.go): its column in audit_events, its SQL type, whether the chain
// hash covers it, whether the CSV export has it, which query key filters on it and where a
// listed event holds it, and whether an event sent to Vigil carries it. The insert, the
// listed JSON (built in SQL and in JS) and its type, the CSV columns, the canonical form,
// the query keys, the live matcher and the shape of the input schema (shared/event.ts) are
// derived from this table; test/integration/eventFields.test.ts holds it to the real
// columns of audit_events, and test/unit/eventFields.test.ts to the schema and listed events.
//
// The order is the listed event's key order; hashed fields are hashed in this order and
// CSV columns follow it. Both are contracts: a field may be added (at the end of the
// hashed ones only with a new canonical version), never moved or renamed.

export type SqlType = 'bigint' | 'uuid' | 'timestamptz' | 'text' | 'inet' | 'integer' | 'jsonb';

export interface EventField {
  /** The property on a row and in the canonical fields (camelCase). */
  readonly key: string;
  /** The column in audit_events. */
  readonly column: string;
  readonly sqlType: SqlType;
  readonly nullable: boolean;
  /** Given by the database (the identity), never written by the server. */
  readonly generated: boolean;
  /** Covered by the chain hash (canonicalEvent). */
  readonly hashed: boolean;
  /** A CSV export column; 'first': the one that leads each row (a row's position in the chain). */
  readonly exported: boolean | 'first';
  /** The query key that filters on it, what it means, and whether values match lowercased (the lower() indexes). */
  readonly query: { readonly key: string; readonly caseInsensitive: boolean; readonly meaning: string } | null;
  /**
   * Where a listed event holds it: a key of its own, or a part of a group object. The group
   * is null when its `presence` part is null (an event without actor is the system's).
   */
  readonly listed: { readonly key: string; readonly part?: string; readonly presence?: true };
  /**
   * How an event sent to Vigil (events.record) carries it: 'required', 'optional' (absent:
   * null, or what the server fills in: a new id, its clock, an empty object), or null when
   * only the server sets it. A group (actor) is sent as one object of its parts, which may
   * be absent when its presence part is nullable.
   */
  readonly input: 'required' | 'optional' | null;
}

type FieldSpec = Partial<EventField> & Pick<EventField, 'key' | 'column' | 'sqlType'>;
const DEFAULTS = { nullable: false, generated: false, hashed: true, exported: true, query: null, input: 'required' } as const;
type Filled<F extends FieldSpec> = Omit<typeof DEFAULTS, keyof F> & F & ('listed' extends keyof F ? unknown : { listed: { key: F['key'] } });
/** A field with the usual classification (written, hashed, exported, not queried, listed under its key, required in input) unless given. */
const field = <const F extends FieldSpec>(f: F): Filled<F> => ({ ...DEFAULTS, listed: { key: f.key }, ...f }) as Filled<F>;

export const EVENT_FIELDS = [
  field({ key: 'id', column: 'id', sqlType: 'uuid', input: 'optional' }),
  field({ key: 'seq', column: 'seq', sqlType: 'bigint', generated: true, hashed: false, exported: 'first', input: null }),
  field({ key: 'time', column: 'time', sqlType: 'timestamptz', input: 'optional' }),
  field({ key: 'recordedAt', column: 'recorded_at', sqlType: 'timestamptz', input: null }),
  field({
    key: 'action',
    column: 'action',
    sqlType: 'text',
    query: { key: 'action', caseInsensitive: false, meaning: 'what was done, e.g. action:delete or action:cordon,delete' },
  }),
  field({
    key: 'resourceType',
    column: 'resource_type',
    sqlType: 'text',
    query: { key: 'resource_type', caseInsensitive: false, meaning: 'the kind of resource, e.g. resource_type:workspace (a bare word means this)' },
  }),
  field({
    key: 'resourceId',
    column: 'resource_id',
    sqlType: 'text',
    nullable: true,
    input: 'optional',
    query: { key: 'resource_id', caseInsensitive: true, meaning: 'the stable id of the resource' },
  }),
  field({
    key: 'resourceTarget',
    column: 'resource_target',
    sqlType: 'text',
    query: { key: 'resource_target', caseInsensitive: true, meaning: 'the friendly name of the resource, e.g. resource_target:dev@coder.com' },
  }),
  field({ key: 'actorId', column: 'actor_id', sqlType: 'text', nullable: true, listed: { key: 'actor', part: 'id' }, input: 'optional' }),
  field({
    key: 'actorUsername',
    column: 'actor_username',
    sqlType: 'text',
    nullable: true,
    listed: { key: 'actor', part: 'username', presence: true },
    query: { key: 'username', caseInsensitive: true, meaning: 'who did it; username:me is you' },
  }),
  field({
    key: 'actorEmail',
    column: 'actor_email',
    sqlType: 'text',
    nullable: true,
    listed: { key: 'actor', part: 'email' },
    input: 'optional',
    query: { key: 'email', caseInsensitive: true, meaning: "the actor's email" },
  }),
  field({ key: 'ip', column: 'ip', sqlType: 'inet', nullable: true, input: 'optional' }),
  field({ key: 'userAgent', column: 'user_agent', sqlType: 'text', nullable: true, input: 'optional' }),
  field({ key: 'statusCode', column: 'status_code', sqlType: 'integer', nullable: true, input: 'optional' }),
  field({
    key: 'requestId',
    column: 'request_id',
    sqlType: 'text',
    nullable: true,
    input: 'optional',
    query: { key: 'request_id', caseInsensitive: true, meaning: 'events of one request' },
  }),
  field({ key: 'diff', column: 'diff', sqlType: 'jsonb', input: 'optional' }),
  field({ key: 'metadata', column: 'metadata', sqlType: 'jsonb', input: 'optional' }),
  field({ key: 'hash', column: 'hash', sqlType: 'text', hashed: false, input: null }),
] as const satisfies readonly EventField[];

type Field = (typeof EVENT_FIELDS)[number];

type ValueOf<F extends Field, Time> = F['sqlType'] extends 'bigint' | 'integer'
  ? number
  : F['sqlType'] extends 'jsonb'
    ? Record<string, unknown>
    : F['sqlType'] extends 'timestamptz'
      ? Time
      : string;
type OrNull<F extends Field, T> = F['nullable'] extends true ? T | null : T;

/** An event's fields by key, as a row holds them (times as `Time`). */
export type EventFieldValues<F extends Field = Field, Time = Date> = { [K in F as K['key']]: OrNull<K, ValueOf<K, Time>> };

/** The fields the server writes (all but the identity), times as ISO strings. */
export type WrittenEventFields = EventFieldValues<Extract<Field, { generated: false }>, string>;
export type HashedField = Extract<Field, { hashed: true }>;
/** The query keys, derived from the fields that have one. */
export type FilterField = NonNullable<Field['query']>['key'];

/** The fields an event sent to Vigil may carry. */
export type InputField = Extract<Field, { input: 'required' | 'optional' }>;
/** Fields listed as a part of a group object (the actor's). */
export type GroupedField = Extract<Field, { listed: { part: string } }>;
/** The listed event's group objects (actor). */
export type ListedGroup = GroupedField['listed']['key'];
/** Whether a group may be absent (null when listed): its presence part is nullable. */
export type GroupMayBeAbsent<G extends ListedGroup> = Extract<GroupedField, { listed: { key: G; presence: true } }>['nullable'];

/**
 * An event as Vigil lists it, by the table: its own keys, then each group as an object of
 * its parts (null when it may be absent). `Types` narrows a field's value by its key (an
 * action is one of the actions, not any string).
 */
export type ListedEventOf<Types extends { [K in Field['key']]?: unknown } = object> = {
  [F in Exclude<Field, GroupedField> as F['listed']['key']]: F['key'] extends keyof Types ? Types[F['key']] : OrNull<F, ValueOf<F, string>>;
} & {
  [G in ListedGroup]:
    | {
        [F in Extract<GroupedField, { listed: { key: G } }> as F['listed']['part']]: F['key'] extends keyof Types
          ? Types[F['key']]
          : // A listed group always has its presence part (without it the group is null).
            F['listed'] extends { presence: true }
            ? ValueOf<F, string>
            : OrNull<F, ValueOf<F, string>>;
      }
    | (GroupMayBeAbsent<G> extends true ? null : never);
};

export const HASHED_FIELDS: readonly HashedField[] = EVENT_FIELDS.filter((f): f is HashedField => f.hashed);
/** The fields an event sent to Vigil may carry, in table order. */
export const INPUT_FIELDS: readonly InputField[] = EVENT_FIELDS.filter((f): f is InputField => f.input !== null);
/** The columns the server writes, in table order. */
export const WRITTEN_FIELDS = EVENT_FIELDS.filter((f) => !f.generated);
/** CSV export columns: the leading one, then the others in table order. */
export const EXPORTED_FIELDS: readonly Field[] = [
  ...EVENT_FIELDS.filter((f) => f.exported === 'first'),
  ...EVENT_FIELDS.filter((f) => f.exported === true),
];
/** The field each query key filters on. */
export const QUERY_FIELDS = Object.fromEntries(EVENT_FIELDS.flatMap((f) => (f.query ? [[f.query.key, f]] : []))) as Record<
  FilterField,
  Field & { query: NonNullable<Field['query']> }
>;

/** A field's value in a listed (or exported) event; absent means null. */
export function listedValueOf(f: EventField, event: object): unknown {
  const { key, part } = f.listed;
  const listed = event as Record<string, unknown>;
  const value = part === undefined ? listed[key] : (listed[key] as Record<string, unknown> | null | undefined)?.[part];
  return value === undefined ? null : value;
}

/**
 * A listed event from a row's fields, `format` turning each stored value into its listed
 * form (times into ISO strings). Keys in table order; a group is null without its presence part.
 */
export function listedEventOf(values: Record<string, unknown>, format: (f: EventField, value: unknown) => unknown): Record<string, unknown> {
  const listed: Record<string, unknown> = {};
  const absentGroups = new Set<string>();
  for (const f of EVENT_FIELDS as readonly EventField[]) {
    const { key, part } = f.listed;
    const value = format(f, values[f.key] ?? null);
    if (part === undefined) {
      listed[key] = value;
      continue;
    }
    if ('presence' in f.listed && value === null) absentGroups.add(key);
    ((listed[key] ??= {}) as Record<string, unknown>)[part] = value;
  }
  for (const key of absentGroups) listed[key] = null;
  return listed;
}
