// Turning a brushed stretch of the timeline into query terms. The language has
// relative `since:` and whole UTC days (`date_from:`/`date_to:`); if the parser ever
// accepts instants in date_from/date_to, the brush uses them instead.
import { parseAuditQuery } from '../../shared/query.js';
import { removeTerms } from './queryTerms.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

const acceptsInstants = (): boolean => parseAuditQuery('date_from:2026-01-01T00:00:00Z').ok;

function sinceValue(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / MINUTE));
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

export function rangeQuery(query: string, fromMs: number, toMs: number, nowMs: number, bucketMs: number): string {
  const rest = removeTerms(query, ['since', 'date_from', 'date_to']);
  const join = (...terms: string[]) => [rest, ...terms].filter(Boolean).join(' ');
  if (acceptsInstants()) {
    return join(`date_from:${new Date(fromMs).toISOString()}`, `date_to:${new Date(toMs).toISOString()}`);
  }
  // Reaching up to now: a relative lower bound is exact to the minute.
  if (toMs >= nowMs - bucketMs) return join(`since:${sinceValue(nowMs - fromMs)}`);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return join(`date_from:${day(fromMs)}`, `date_to:${day(Math.max(fromMs, toMs - 1))}`);
}

export { DAY };
