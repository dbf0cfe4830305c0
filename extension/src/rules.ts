// Notification rules: which actions raise a desktop notification, optionally
// only on some resource types and for events matching an extra query. The rules are
// composed into ONE query string for the server (events.since / events.live), e.g.
//   action:cordon,delete resource_type:workspace username:alice
// Pure: no browser APIs, so tests import it directly.
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import {
  AUDIT_ACTIONS,
  DEFAULT_SENSITIVE_ACTIONS,
  RESOURCE_TYPES,
  isAuditAction,
  isResourceType,
  type AuditAction,
  type ResourceType,
} from '../../shared/vocabulary.js';
import { splitTerms } from './queryTerms.js';
import { RULE_TEXT } from './wording.js';

export interface NotificationRules {
  /** Actions that notify; none means notifications are off. */
  actions: AuditAction[];
  /** Only these resource types; none means any. */
  resourceTypes: ResourceType[];
  /** More terms in the query language (username:, resource_target:, -email: ...); never action or resource_type. */
  query: string;
  /**
   * Also notify when the action did not happen (refused, failed, server error): an attempt
   * at a sensitive action is news too. The notification says so in its title. Absent
   * (rules saved by earlier versions): yes.
   */
  refusals?: boolean;
}

export const DEFAULT_RULES: NotificationRules = { actions: [...DEFAULT_SENSITIVE_ACTIONS], resourceTypes: [], query: '', refusals: true };

/** The server query for the rules, or null when they notify of nothing. */
export type RulesCheck = { ok: true; q: string | null } | { ok: false; message: string };

/** Rules as stored, made safe: unknown actions and types dropped, vocabulary order, defaults when absent. */
export function normalizeRules(raw: unknown): NotificationRules {
  if (!raw || typeof raw !== 'object') return { ...DEFAULT_RULES, actions: [...DEFAULT_RULES.actions] };
  const r = raw as Partial<Record<keyof NotificationRules, unknown>>;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const actions = new Set(list(r.actions).filter(isAuditAction));
  const types = new Set(list(r.resourceTypes).filter(isResourceType));
  return {
    actions: AUDIT_ACTIONS.filter((a) => actions.has(a)),
    resourceTypes: RESOURCE_TYPES.filter((t) => types.has(t)),
    query: typeof r.query === 'string' ? r.query : '',
    refusals: typeof r.refusals === 'boolean' ? r.refusals : DEFAULT_RULES.refusals,
  };
}

/** Checks the extra query on its own: valid, and leaving actions and resource types to the checkboxes. */
export function checkExtraQuery(query: string): { ok: true } | { ok: false; message: string } {
  const text = query.trim();
  if (!text) return { ok: true };
  const parsed = parseAuditQuery(text);
  if (!parsed.ok) return { ok: false, message: formatQueryError(parsed.error) };
  for (const term of splitTerms(text)) {
    if (term.key === 'action') return { ok: false, message: RULE_TEXT.repeatsKey(term.raw, 'action') };
    if (term.key === null || term.key === 'resource_type') return { ok: false, message: RULE_TEXT.repeatsKey(term.raw, 'resource_type') };
  }
  return { ok: true };
}

/** The one query string the server filters with. */
export function composeRules(rules: NotificationRules): RulesCheck {
  const extra = checkExtraQuery(rules.query);
  if (!extra.ok) return extra;
  const actions = AUDIT_ACTIONS.filter((a) => rules.actions.includes(a));
  if (!actions.length) return { ok: true, q: null };
  const types = RESOURCE_TYPES.filter((t) => rules.resourceTypes.includes(t));
  const parts = [`action:${actions.join(',')}`];
  if (types.length) parts.push(`resource_type:${types.join(',')}`);
  if (rules.query.trim()) parts.push(rules.query.trim());
  const q = parts.join(' ');
  const parsed = parseAuditQuery(q);
  if (!parsed.ok) return { ok: false, message: formatQueryError(parsed.error) };
  return { ok: true, q };
}

/**
 * The query the background uses for stored rules. Stored rules were checked when saved;
 * should they stop parsing (a newer vocabulary), the extra query is dropped rather than
 * silently notifying of nothing.
 */
export function rulesQuery(raw: unknown): string | null {
  const rules = normalizeRules(raw);
  const check = composeRules(rules);
  if (check.ok) return check.q;
  const fallback = composeRules({ ...rules, query: '' });
  return fallback.ok ? fallback.q : null;
}
