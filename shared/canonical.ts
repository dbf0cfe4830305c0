// The canonical form of an event, hashed into the integrity chain:
//   hash = SHA-256( prev_hash (64 hex chars) || canonicalEvent(event) )   (UTF-8, hex digest)
// The first event's prev_hash is 64 zeros (or the hash a retention checkpoint names).
// Anyone can recompute it from an export: a JSON array of the fields below in this
// order, times as ISO 8601 UTC with milliseconds, absent values as null, and objects
// (diff, metadata) with their keys sorted at every depth (every key, `__proto__` too).

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers (everything but seq and the hash itself). */
export interface CanonicalEventFields {
  id: string;
  time: string | Date;
  recordedAt: string | Date;
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceTarget: string;
  actorId: string | null;
  actorUsername: string | null;
  actorEmail: string | null;
  ip: string | null;
  userAgent: string | null;
  statusCode: number | null;
  requestId: string | null;
  diff: unknown;
  metadata: unknown;
}

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

export function canonicalEvent(e: CanonicalEventFields): string {
  return JSON.stringify([
    'vigil.event.v1',
    e.id.toLowerCase(),
    isoTime(e.time),
    isoTime(e.recordedAt),
    e.action,
    e.resourceType,
    e.resourceId,
    e.resourceTarget,
    e.actorId,
    e.actorUsername,
    e.actorEmail,
    e.ip,
    e.userAgent,
    e.statusCode,
    e.requestId,
    sortKeys(e.diff ?? {}),
    sortKeys(e.metadata ?? {}),
  ]);
}

/** An event as Vigil lists or exports it (actor as an object). */
export interface ListedEventFields {
  id: string;
  time: string;
  recordedAt: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceTarget: string;
  actor: { id: string | null; username: string; email: string | null } | null;
  ip: string | null;
  userAgent: string | null;
  statusCode: number | null;
  requestId: string | null;
  diff: unknown;
  metadata: unknown;
}

/** The hashed fields of a listed or exported event: what a verifier recomputes from. */
export function canonicalFieldsOf(e: ListedEventFields): CanonicalEventFields {
  return {
    id: e.id,
    time: e.time,
    recordedAt: e.recordedAt,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    resourceTarget: e.resourceTarget,
    actorId: e.actor?.id ?? null,
    actorUsername: e.actor?.username ?? null,
    actorEmail: e.actor?.email ?? null,
    ip: e.ip,
    userAgent: e.userAgent,
    statusCode: e.statusCode,
    requestId: e.requestId,
    diff: e.diff,
    metadata: e.metadata,
  };
}
