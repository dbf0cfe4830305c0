// The canonical form of an event, hashed into the integrity chain:
//   hash = SHA-256( prev_hash (64 hex chars) || canonicalEvent(event) )   (UTF-8, hex digest)
// The first event's prev_hash is 64 zeros (or the hash a retention checkpoint names).
// Anyone can recompute it from an export: a JSON array of "vigil.event.v1" and the hashed
// fields of shared/eventFields.ts in their order, ids lowercased, times as ISO 8601 UTC
// with milliseconds, absent values as null, and objects (diff, metadata) with their keys
// sorted at every depth (every key, `__proto__` too).

import { HASHED_FIELDS, listedValueOf, type EventFieldValues, type HashedField, type SqlType } from './eventFields.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers (shared/eventFields.ts: everything but seq and the hash itself). */
export type CanonicalEventFields = Omit<EventFieldValues<HashedField, string | Date>, 'diff' | 'metadata'> & { diff: unknown; metadata: unknown };

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // No prototype: a key named `__proto__` stays an own key (hashed), not a prototype.
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** ISO 8601 UTC with milliseconds, as Date#toISOString writes it (years 0000-9999). */
const CANONICAL_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Normalises a time to ISO 8601 UTC with milliseconds. */
export function isoTime(value: string | Date): string {
  // Times are nearly always in that form already (the server writes them so); skipping
  // the Date round trip for them was a tenth of ingest's CPU. A day past the month's end
  // (02-30) is left to Date, which rolls it over.
  if (typeof value === 'string' && CANONICAL_TIME.test(value) && Number(value.slice(8, 10)) <= 28) return value;
  return (typeof value === 'string' ? new Date(value) : value).toISOString();
}

/** How each SQL type is written in the canonical form. */
const CANONICAL_VALUE: Record<SqlType, (value: unknown) => unknown> = {
  uuid: (v) => (v as string).toLowerCase(),
  timestamptz: (v) => isoTime(v as string | Date),
  jsonb: (v) => sortKeys(v ?? {}),
  text: (v) => v,
  inet: (v) => v,
  integer: (v) => v,
  bigint: (v) => v,
};
const CANONICAL_STEPS = HASHED_FIELDS.map((f) => [f.key, CANONICAL_VALUE[f.sqlType]] as const);

export function canonicalEvent(e: CanonicalEventFields): string {
  const values: unknown[] = ['vigil.event.v1'];
  for (const [key, canonical] of CANONICAL_STEPS) values.push(canonical(e[key]));
  return JSON.stringify(values);
}

/** An event as Vigil lists or exports it (actor as an object): what canonicalFieldsOf reads. */
export type ListedEventFields = object;

/** The hashed fields of a listed or exported event: what a verifier recomputes from. */
export function canonicalFieldsOf(e: ListedEventFields): CanonicalEventFields {
  const fields: Record<string, unknown> = {};
  for (const f of HASHED_FIELDS) fields[f.key] = listedValueOf(f, e);
  return fields as CanonicalEventFields;
}
