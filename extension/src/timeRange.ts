// Turning a brushed stretch of the timeline into query terms: exactly the brushed
// instants (date_from/date_to take ISO date-times). A stretch reaching now stays open
// (no date_to), so events arriving later still show.
import { removeTerms } from './queryTerms.js';

const DAY = 86_400_000;

/** [fromMs, toMs): toMs is the end of the last brushed bucket (exclusive). */
export function rangeQuery(query: string, fromMs: number, toMs: number, nowMs: number, bucketMs: number): string {
  const rest = removeTerms(query, ['since', 'date_from', 'date_to']);
  const terms = [`date_from:${new Date(fromMs).toISOString()}`];
  if (toMs < nowMs - bucketMs) terms.push(`date_to:${new Date(toMs - 1).toISOString()}`);
  return [rest, ...terms].filter(Boolean).join(' ');
}

export { DAY };
