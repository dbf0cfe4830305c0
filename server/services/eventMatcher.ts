// The query filter evaluated in JavaScript, for events the live hub already holds. It
// must agree with the SQL of auditEventsStore.conditionsOf (both read the field table,
// shared/eventFields.ts); a test holds them together.
import { QUERY_FIELDS, type FilterField } from '../../shared/eventFields.js';
import type { EventQuery } from '../db/auditEventsStore.js';
import type { AuditEventRow } from '../db/schema.js';

/** What a query reads of an event: the fields it filters on (and the time, if it has bounds). */
export type MatchedRow = Partial<AuditEventRow>;

/** The row keys `query` reads (what a row handed to its matcher must hold). */
export function keysOf(query: EventQuery): (keyof AuditEventRow)[] {
  const keys: (keyof AuditEventRow)[] = Object.keys(query.fields).map((field) => QUERY_FIELDS[field as FilterField].key);
  if (query.from || query.to) keys.push('time');
  return keys;
}

/** `query` as a test of one row, its filters looked up once (the live hub runs it on every new event). */
export function matcherOf(query: EventQuery): (row: MatchedRow) => boolean {
  const tests = (Object.entries(query.fields) as [FilterField, { include?: string[]; exclude?: string[] }][]).map(([field, filter]) => {
    const { key, query: q } = QUERY_FIELDS[field];
    const include = filter.include?.length ? filter.include : null;
    const exclude = filter.exclude?.length ? filter.exclude : null;
    return (row: MatchedRow) => {
      const raw = row[key] ?? null;
      // The value a query key compares, as the SQL does: lowercased where it matches case-insensitively.
      const value = raw === null ? null : q.caseInsensitive ? raw.toLowerCase() : raw;
      if (include && (value === null || !include.includes(value))) return false;
      if (exclude && value !== null && exclude.includes(value)) return false;
      return true;
    };
  });
  const { from, to } = query;
  return (row) => {
    for (const test of tests) if (!test(row)) return false;
    if (from && row.time! < from) return false;
    if (to && row.time! > to) return false;
    return true;
  };
}
