// Completion for the search box: keys first, then the values a key can take.
import { parseAuditQuery, QUERY_KEYS } from '../../shared/query.js';
import { ACTION_DESCRIPTIONS, AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { quoteValue } from './queryTerms.js';

export interface Suggestion {
  /** What the list shows. */
  label: string;
  /** A short explanation (the action's or key's description). */
  detail: string;
  /** The text that replaces [from, to). */
  insert: string;
}

export interface Completion {
  from: number;
  to: number;
  items: Suggestion[];
}

export interface KnownValues {
  usernames?: readonly string[];
  targets?: readonly string[];
}

export const TIME_RANGES = ['15m', '1h', '24h', '7d'] as const;

const MAX_ITEMS = 12;

function utcDay(offsetDays: number): string {
  return new Date(Date.now() - offsetDays * 86_400_000).toISOString().slice(0, 10);
}

function valuesFor(key: string, known: KnownValues): Suggestion[] {
  switch (key) {
    case 'action':
      return AUDIT_ACTIONS.map((a) => ({ label: a, detail: ACTION_DESCRIPTIONS[a], insert: a }));
    case 'resource_type':
      return RESOURCE_TYPES.map((t) => ({ label: t, detail: 'resource type', insert: t }));
    case 'since':
      return TIME_RANGES.map((r) => ({ label: r, detail: 'back from now', insert: r }));
    case 'date_from':
    case 'date_to':
      return [0, 1, 7, 30].map((d) => ({ label: utcDay(d), detail: d === 0 ? 'today (UTC)' : `${d} days ago`, insert: utcDay(d) }));
    case 'username':
      return [
        { label: 'me', detail: 'you', insert: 'me' },
        ...(known.usernames ?? []).map((u) => ({ label: u, detail: 'user', insert: quoteValue(u) })),
      ];
    case 'resource_target':
      return (known.targets ?? []).map((t) => ({ label: t, detail: 'target', insert: quoteValue(t) }));
    default:
      return [];
  }
}

/** Suggestions for the word under the caret, or null when there is nothing to offer. */
export function complete(query: string, caret: number, known: KnownValues = {}): Completion | null {
  // The term under the caret: back to the previous unquoted space.
  let start = caret;
  while (start > 0 && !/\s/.test(query[start - 1]!)) start--;
  let end = caret;
  while (end < query.length && !/\s/.test(query[end]!)) end++;
  const before = query.slice(start, caret);
  if (before.includes('"')) return null;
  const negated = before.startsWith('-');
  const body = negated ? before.slice(1) : before;
  const colon = body.indexOf(':');

  if (colon < 0) {
    const prefix = body.toLowerCase();
    const keys = Object.entries(QUERY_KEYS)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, detail]) => ({ label: `${key}:`, detail, insert: `${negated ? '-' : ''}${key}:` }));
    const bare = negated || !prefix ? [] : RESOURCE_TYPES.filter((t) => t.startsWith(prefix) && t !== prefix).map((t) => ({ label: t, detail: 'resource type', insert: t }));
    const items = [...keys, ...bare].slice(0, MAX_ITEMS);
    return items.length && !(items.length === 1 && items[0]!.insert === before) ? { from: start, to: end, items } : null;
  }

  const key = body.slice(0, colon).toLowerCase();
  const valuesText = body.slice(colon + 1);
  const comma = valuesText.lastIndexOf(',');
  const done = new Set(valuesText.slice(0, Math.max(comma, 0)).split(',').map((v) => v.toLowerCase()));
  const prefix = valuesText.slice(comma + 1).toLowerCase();
  const from = start + (negated ? 1 : 0) + colon + 1 + comma + 1;
  // Replace through the end of this value (up to the next comma), not the whole term.
  let to = from;
  while (to < end && query[to] !== ',') to++;
  const items = valuesFor(key, known)
    .filter((s) => s.label.toLowerCase().startsWith(prefix) && !done.has(s.label.toLowerCase()))
    .filter((s) => s.label.toLowerCase() !== prefix)
    .slice(0, MAX_ITEMS);
  return items.length ? { from, to, items } : null;
}

/**
 * Endings that turn a value still being typed into a valid one where no list of values
 * exists: a closing quote, a duration's unit, the rest of a date or date-time.
 */
const VALUE_ENDINGS = ['"', 'm', '2000-01-01', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00+00:00'];

/**
 * Whether the term the user is typing (the caret at the parser's error) can still become
 * valid: completion offers a value that makes it valid, or a key to go on with, or the
 * value is the start of a duration, a date or a quoted text. The search box holds back
 * the parser's message while this is so.
 */
export function canStillFinish(query: string, caret: number, known: KnownValues = {}): boolean {
  const parsed = parseAuditQuery(query);
  if (parsed.ok) return true;
  const { error } = parsed;
  if (caret < error.start || caret > error.end) return false;
  const candidates: string[] = [];
  const completion = complete(query, caret, known);
  for (const item of completion?.items ?? []) {
    if (item.insert.endsWith(':')) return true;
    candidates.push(query.slice(0, completion!.from) + item.insert + query.slice(completion!.to));
  }
  if (caret === error.end) {
    const value = query.slice(error.start, caret).replace(/^[^:]*:/, '').replace(/^.*,/, '');
    for (const ending of VALUE_ENDINGS) {
      const tail = ending.length > 1 ? ending.slice(value.length) : ending;
      if (tail) candidates.push(query.slice(0, caret) + tail + query.slice(caret));
    }
  }
  return candidates.some((candidate) => {
    const result = parseAuditQuery(candidate);
    return result.ok || result.error.start !== error.start;
  });
}
