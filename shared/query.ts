// parseAuditQuery: Coder's audit search syntax (coderd/searchquery/search.go, AuditLogs)
// plus Vigil's additions: several values per key, negation and relative times.
// One parser serves the server and the extension's search box, so it is pure: no clock,
// no database. `since:` is resolved by the server against its own clock.
import { unstorableText } from './storableText.js';
import { QUERY_FIELDS, type FilterField } from './eventFields.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES, isAuditAction, isResourceType } from './vocabulary.js';

/** Fields a term can match, by their query key (shared/eventFields.ts). */
export const FILTER_FIELDS = Object.keys(QUERY_FIELDS) as FilterField[];
export type { FilterField };

/** Every key the language knows, with what it means (the search box completes these). */
export const QUERY_KEYS = {
  ...(Object.fromEntries(FILTER_FIELDS.map((key) => [key, QUERY_FIELDS[key].query.meaning])) as Record<FilterField, string>),
  date_from: 'from the start of this UTC day (YYYY-MM-DD), or from this instant (2026-12-02T10:00:00Z, or with an offset)',
  date_to: 'through the end of this UTC day (YYYY-MM-DD), or through this instant (2026-12-02T15:00:00Z, or with an offset)',
  since: 'relative time back from now: 15m, 24h, 7d',
};

export const QUERY_LIMITS = { length: 2000, valuesPerKey: 100, valueLength: 512, sinceDays: 3650 } as const;

export interface FieldFilter {
  /** Matches when the field equals one of these (case-insensitive). */
  include?: string[];
  /** Drops events whose field equals one of these; events without the field stay. */
  exclude?: string[];
}

export interface AuditFilter {
  fields: Partial<Record<FilterField, FieldFilter>>;
  /** Inclusive lower bound, ISO instant (from date_from). */
  from?: string;
  /** Inclusive upper bound, ISO instant (from date_to: 23:59:59.999 of its UTC day). */
  to?: string;
  /** Relative lower bound in milliseconds back from the server's clock. */
  sinceMs?: number;
}

export interface QueryError {
  /** The offending term as the user typed it (or the whole query). */
  term: string;
  message: string;
  /** Where the term sits in the query, for underlining. */
  start: number;
  end: number;
}

export type ParseResult = { ok: true; filter: AuditFilter } | { ok: false; error: QueryError };

export interface ParseOptions {
  /** The caller's username, substituted for `username:me`. */
  me?: string;
}

/** One term of a query as typed (see splitQueryTerms). */
export interface QueryTerm {
  raw: string;
  start: number;
  end: number;
  negated: boolean;
  /** Lowercased text before the first unquoted colon, or null for a bare word (resource_type). */
  key: string | null;
  /** Values as typed, split on unquoted commas, quotes removed. */
  values: string[];
  /** Why the parser refuses this term's syntax, and where. */
  problem?: { message: string; start: number; end: number };
}

interface Token {
  raw: string;
  start: number;
  end: number;
  negated: boolean;
  /** Text before the first unquoted colon, or null for a bare word. */
  key: string | null;
  /** Values, split on unquoted commas; quoted text is never split. */
  values: string[];
}

class QuerySyntaxError extends Error {
  constructor(
    readonly token: Pick<Token, 'raw' | 'start' | 'end'>,
    message: string,
  ) {
    super(message);
  }
}

const SINCE_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Splits on spaces, keeping double-quoted text together (Coder's rule). */
/**
 * Splits a query into terms the way Coder does: spaces separate, double quotes keep text
 * together, `key:value`, values split on unquoted commas. Lenient: it never throws; a
 * term that breaks the syntax carries its `problem` (the parser refuses it, the
 * extension's chips just read what is there). Keys are lowercased, values kept as typed.
 */
export function splitQueryTerms(query: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  let i = 0;
  while (i < query.length) {
    while (i < query.length && /\s/.test(query[i]!)) i++;
    if (i >= query.length) break;
    const start = i;
    let key: string | null = null;
    const values: string[] = [];
    let current = '';
    let sawQuote = false;
    let negated = false;
    let problem: QueryTerm['problem'];
    const note = (message: string, span: { start: number; end: number }) => {
      problem ??= { message, ...span };
    };
    if (query[i] === '-' && i + 1 < query.length && !/\s/.test(query[i + 1]!)) {
      negated = true;
      i++;
    }
    while (i < query.length && !/\s/.test(query[i]!)) {
      const ch = query[i]!;
      if (ch === '"') {
        const close = query.indexOf('"', i + 1);
        if (close < 0) note('has an unclosed double quote', { start, end: query.length });
        current += query.slice(i + 1, close < 0 ? query.length : close);
        sawQuote = true;
        i = close < 0 ? query.length : close + 1;
      } else if (ch === ':' && key === null) {
        if (sawQuote) note('has a quoted key; only values may be quoted', spanOf(query, start));
        key = current;
        current = '';
        i++;
      } else if (ch === ':') {
        // Date-times carry colons of their own (date_from:2026-12-02T10:00:00Z).
        if (!INSTANT_KEYS.has((key ?? '').toLowerCase())) note("has more than one ':'; quote a value that contains ':'", spanOf(query, start));
        current += ch;
        i++;
      } else if (ch === ',' && key !== null) {
        values.push(current);
        current = '';
        sawQuote = false;
        i++;
      } else {
        current += ch;
        i++;
      }
    }
    values.push(current);
    terms.push({
      raw: query.slice(start, i),
      start,
      end: i,
      negated,
      key: key === null ? null : key.toLowerCase(),
      values,
      ...(problem ? { problem } : {}),
    });
  }
  return terms;
}

/** The parser's view of the terms: the first syntax problem is an error; values lowercased. */
function tokenize(query: string): Token[] {
  return splitQueryTerms(query).map((term) => {
    if (term.problem) {
      const { message, start, end } = term.problem;
      throw new QuerySyntaxError({ raw: query.slice(start, end), start, end }, message);
    }
    // Lowercase each part, not the whole query: lowercasing can change a string's length
    // (e.g. 'İ' becomes two code units), which would shift every later term's position.
    return { raw: term.raw, start: term.start, end: term.end, negated: term.negated, key: term.key, values: term.values.map((v) => v.toLowerCase()) };
  });
}

function spanOf(query: string, start: number): Pick<Token, 'raw' | 'start' | 'end'> {
  let end = start;
  let quoted = false;
  while (end < query.length && (quoted || !/\s/.test(query[end]!))) {
    if (query[end] === '"') quoted = !quoted;
    end++;
  }
  return { raw: query.slice(start, end), start, end };
}

/** Keys whose value may be a date-time (with colons). */
const INSTANT_KEYS = new Set(['date_from', 'date_to']);

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})t(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(z|[+-]\d{2}:?\d{2})$/;

/**
 * A date_from/date_to bound: a UTC day (from its first or through its last millisecond)
 * or an exact ISO 8601 date-time with a zone (Z or an offset), taken as given.
 */
function parseBound(token: Token, value: string, end: boolean): string {
  if (!value.includes('t')) return new Date(parseUtcDay(token, value) + (end ? SINCE_UNITS_MS.d - 1 : 0)).toISOString();
  const m = DATE_TIME.exec(value);
  if (!m) {
    const hint = /t[\d:.]+$/.test(value) ? '; add Z or an offset such as +02:00' : '';
    throw new QuerySyntaxError(token, `has an invalid date-time ${JSON.stringify(value)}${hint}; use YYYY-MM-DD or e.g. 2026-12-02T10:00:00Z`);
  }
  const [, , , , hour, minute, second = '00', fraction = ''] = m;
  const zone = m[8]!;
  const day = parseUtcDay(token, `${m[1]}-${m[2]}-${m[3]}`);
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    throw new QuerySyntaxError(token, `has an invalid time of day in ${JSON.stringify(value)}`);
  }
  let offsetMinutes = 0;
  if (zone !== 'z') {
    const [, sign, hh, mm] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(hh) > 23 || Number(mm) > 59) throw new QuerySyntaxError(token, `has an invalid offset in ${JSON.stringify(value)}`);
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm));
  }
  // Milliseconds are the finest the server stores; a finer date_to still includes its millisecond.
  const millis = Number(fraction.slice(1, 4).padEnd(3, '0')) || 0;
  const ms = day + ((Number(hour) * 60 + Number(minute) - offsetMinutes) * 60 + Number(second)) * 1000 + millis;
  return new Date(ms).toISOString();
}

function parseUtcDay(token: Token, value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const d = new Date(0);
  const ms = m ? d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || d.getUTCDate() !== Number(m[3]) || d.getUTCMonth() !== Number(m[2]) - 1) {
    throw new QuerySyntaxError(token, `has an invalid date ${JSON.stringify(value)}; use YYYY-MM-DD`);
  }
  return ms;
}

function parseSince(token: Token, value: string): number {
  const m = /^(\d{1,6})([mhd])$/.exec(value);
  if (!m) throw new QuerySyntaxError(token, `has an invalid duration ${JSON.stringify(value)}; use e.g. 15m, 24h or 7d`);
  const amount = Number(m[1]);
  const ms = amount * SINCE_UNITS_MS[m[2] as keyof typeof SINCE_UNITS_MS];
  if (amount === 0 || ms > QUERY_LIMITS.sinceDays * SINCE_UNITS_MS.d) {
    throw new QuerySyntaxError(token, `needs a duration between 1m and ${QUERY_LIMITS.sinceDays}d`);
  }
  return ms;
}

function validateValues(token: Token, field: FilterField, values: string[], options: ParseOptions): string[] {
  return values.map((value) => {
    if (field === 'action' && !isAuditAction(value)) {
      throw new QuerySyntaxError(token, `has an unknown action ${JSON.stringify(value)}; valid actions: ${AUDIT_ACTIONS.join(', ')}`);
    }
    if (field === 'resource_type' && !isResourceType(value)) {
      throw new QuerySyntaxError(
        token,
        `has an unknown resource type ${JSON.stringify(value)}; valid resource types: ${RESOURCE_TYPES.join(', ')}`,
      );
    }
    if (field === 'username' && value === 'me' && options.me !== undefined) return options.me.toLowerCase();
    return value;
  });
}

function isFilterField(key: string): key is FilterField {
  return (FILTER_FIELDS as readonly string[]).includes(key);
}

function applyToken(filter: AuditFilter, token: Token, options: ParseOptions): void {
  const key = token.key ?? 'resource_type';
  if (!Object.hasOwn(QUERY_KEYS, key)) {
    throw new QuerySyntaxError(token, `has an unknown key ${JSON.stringify(key)}; valid keys: ${Object.keys(QUERY_KEYS).join(', ')}`);
  }
  const values = token.values;
  if (values.some((v) => v.trim() === '')) {
    throw new QuerySyntaxError(token, token.values.length > 1 ? 'has an empty value between commas' : 'has no value');
  }
  if (values.length > QUERY_LIMITS.valuesPerKey) {
    throw new QuerySyntaxError(token, `has more than ${QUERY_LIMITS.valuesPerKey} values`);
  }
  if (values.some((v) => v.length > QUERY_LIMITS.valueLength)) {
    throw new QuerySyntaxError(token, `has a value longer than ${QUERY_LIMITS.valueLength} characters`);
  }
  // Postgres cannot take a NUL or an unpaired surrogate: refused here, not a server error.
  for (const v of values) {
    const problem = unstorableText(v);
    if (problem) throw new QuerySyntaxError(token, `has a value that ${problem}`);
  }

  if (isFilterField(key)) {
    const checked = validateValues(token, key, values, options);
    const current = (filter.fields[key] ??= {});
    if (token.negated) {
      current.exclude = [...new Set([...(current.exclude ?? []), ...checked])];
      // Negated terms merge, so the per-key limit applies to the merged list too.
      if (current.exclude.length > QUERY_LIMITS.valuesPerKey) {
        throw new QuerySyntaxError(token, `has more than ${QUERY_LIMITS.valuesPerKey} values for -${key}`);
      }
    } else {
      if (current.include) {
        throw new QuerySyntaxError(token, `repeats ${key}; give several values as ${key}:a,b`);
      }
      current.include = [...new Set(checked)];
    }
    return;
  }

  // date_from, date_to, since: one value, no negation.
  if (token.negated) throw new QuerySyntaxError(token, `cannot negate ${key}`);
  if (values.length > 1) throw new QuerySyntaxError(token, `takes one value`);
  const value = values[0]!;
  const already = key === 'since' ? filter.sinceMs : key === 'date_from' ? filter.from : filter.to;
  if (already !== undefined) throw new QuerySyntaxError(token, `repeats ${key}`);
  if (key === 'since') {
    filter.sinceMs = parseSince(token, value);
  } else if (key === 'date_from') {
    filter.from = parseBound(token, value, false);
  } else {
    filter.to = parseBound(token, value, true);
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    throw new QuerySyntaxError(token, 'makes date_to earlier than date_from');
  }
}

/**
 * Parses an audit search query into a filter, or returns an error naming the bad term.
 * The query is case-insensitive (lowercased first, as Coder does).
 */
export function parseAuditQuery(query: string, options: ParseOptions = {}): ParseResult {
  const filter: AuditFilter = { fields: {} };
  if (query.length > QUERY_LIMITS.length) {
    return {
      ok: false,
      error: { term: query.slice(0, 40), message: `is longer than ${QUERY_LIMITS.length} characters`, start: 0, end: query.length },
    };
  }
  try {
    for (const token of tokenize(query)) applyToken(filter, token, options);
  } catch (error) {
    if (!(error instanceof QuerySyntaxError)) throw error;
    const { raw, start, end } = error.token;
    return { ok: false, error: { term: query.slice(start, end) || raw, message: error.message, start, end } };
  }
  return { ok: true, filter };
}

/** The one-line form of a parse error, as the server and the search box show it. */
export function formatQueryError(error: QueryError): string {
  return `term ${JSON.stringify(error.term)} ${error.message}`;
}
