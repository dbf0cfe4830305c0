// Reading and editing single terms of a query string, so the chips and the search box
// share one source of truth: the query text. Lenient on purpose (it never throws);
// parseAuditQuery from shared/query.ts decides whether the result is valid.

import { splitQueryTerms, type QueryTerm } from '../../shared/query.js';

/** A term of the query text: the shared parser's own split, so chips and parser agree. */
export type Term = QueryTerm;

/** Splits a query into terms exactly as the parser does (lenient: syntax problems are kept, not thrown). */
export function splitTerms(query: string): Term[] {
  return splitQueryTerms(query);
}

function isTermFor(term: Term, key: string): boolean {
  if (term.negated) return false;
  return term.key === key || (key === 'resource_type' && term.key === null);
}

/** The values of the positive term for `key` (bare words count as resource_type), or []. */
export function termValues(query: string, key: string): string[] {
  const out: string[] = [];
  for (const term of splitTerms(query)) {
    if (isTermFor(term, key)) out.push(...term.values.filter((v) => v !== '').map((v) => v.toLowerCase()));
  }
  return out;
}

/** A value as the language wants it: quoted when it holds spaces, commas, colons or quotes. */
export function quoteValue(value: string): string {
  return /[\s,:"]/.test(value) || value === '' ? `"${value.replace(/"/g, '')}"` : value;
}

/**
 * A term's values as a text filter shows them: comma-separated, a value that holds a
 * comma or a double quote in quotes (so the text reads back as the same values).
 */
export function formatValueList(values: readonly string[]): string {
  return values.map((v) => (/[,"]/.test(v) ? `"${v.replace(/"/g, '')}"` : v)).join(',');
}

/**
 * What a text filter's text means: comma-separated values, each trimmed; double quotes
 * keep a comma inside one value; spaces inside a value stay (the term quotes them).
 */
export function parseValueList(text: string): string[] {
  const values: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      values.push(current);
      current = '';
    } else current += ch;
  }
  values.push(current);
  return values.map((v) => v.trim()).filter(Boolean);
}

/** The query after a text filter for `key` (user, target) was edited to `text`. */
export function applyValueList(query: string, key: string, text: string): string {
  return setTerm(query, key, parseValueList(text));
}

/**
 * Sets the positive term for `key` to these values (in place of the first such term,
 * removing the others), or removes it when `values` is empty. Other terms keep their
 * text and order.
 */
export function setTerm(query: string, key: string, values: readonly string[]): string {
  const terms = splitTerms(query);
  const replacement = values.length ? `${key}:${values.map(quoteValue).join(',')}` : null;
  const parts: string[] = [];
  let placed = false;
  for (const term of terms) {
    if (isTermFor(term, key)) {
      if (!placed && replacement) parts.push(replacement);
      placed = true;
      continue;
    }
    parts.push(term.raw);
  }
  if (!placed && replacement) parts.push(replacement);
  return parts.join(' ');
}

/** Removes every term (positive or negated) for these keys. */
export function removeTerms(query: string, keys: readonly string[]): string {
  return splitTerms(query)
    .filter((term) => !(term.key !== null && keys.includes(term.key)))
    .map((term) => term.raw)
    .join(' ');
}
