// The query filter evaluated in JavaScript, for events the live hub already holds. It
// must agree with the SQL of auditEventsStore.conditionsOf; a test holds them together.
import type { FilterField } from '../../shared/query.js';
import type { EventQuery } from '../db/auditEventsStore.js';
import type { AuditEventRow } from '../db/schema.js';

const FIELD_VALUE: Record<FilterField, (row: AuditEventRow) => string | null> = {
  action: (r) => r.action,
  resource_type: (r) => r.resourceType,
  resource_id: (r) => r.resourceId?.toLowerCase() ?? null,
  resource_target: (r) => r.resourceTarget.toLowerCase(),
  username: (r) => r.actorUsername?.toLowerCase() ?? null,
  email: (r) => r.actorEmail?.toLowerCase() ?? null,
  request_id: (r) => r.requestId?.toLowerCase() ?? null,
};

export function matchesQuery(row: AuditEventRow, query: EventQuery): boolean {
  for (const [field, filter] of Object.entries(query.fields) as [FilterField, { include?: string[]; exclude?: string[] }][]) {
    const value = FIELD_VALUE[field](row);
    if (filter.include?.length && (value === null || !filter.include.includes(value))) return false;
    if (filter.exclude?.length && value !== null && filter.exclude.includes(value)) return false;
  }
  if (query.from && row.time < query.from) return false;
  if (query.to && row.time > query.to) return false;
  return true;
}
