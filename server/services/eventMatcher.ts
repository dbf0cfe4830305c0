// The query filter evaluated in JavaScript, for events the live hub already holds. It
// must agree with the SQL of auditEventsStore.conditionsOf (both read the field table,
// shared/eventFields.ts); a test holds them together.
import { QUERY_FIELDS, type FilterField } from '../../shared/eventFields.js';
import type { EventQuery } from '../db/auditEventsStore.js';
import type { AuditEventRow } from '../db/schema.js';

/** The value a query key compares, as the SQL does: lowercased where it matches case-insensitively. */
function valueOf(row: AuditEventRow, field: FilterField): string | null {
  const { key, query } = QUERY_FIELDS[field];
  const value = row[key];
  return value === null ? null : query.caseInsensitive ? value.toLowerCase() : value;
}

export function matchesQuery(row: AuditEventRow, query: EventQuery): boolean {
  for (const [field, filter] of Object.entries(query.fields) as [FilterField, { include?: string[]; exclude?: string[] }][]) {
    const value = valueOf(row, field);
    if (filter.include?.length && (value === null || !filter.include.includes(value))) return false;
    if (filter.exclude?.length && value !== null && filter.exclude.includes(value)) return false;
  }
  if (query.from && row.time < query.from) return false;
  if (query.to && row.time > query.to) return false;
  return true;
}
