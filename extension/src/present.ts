// How events read: action groups and colours, sentences (action × outcome), notifications,
// relative times, diff values.
import type { AuditEvent, DiffEntry } from '../../shared/event.js';
import type { AuditAction } from '../../shared/vocabulary.js';
import { ACTION_WORDS, NOTIFICATION_TEXT, OUTCOME_WORDS, type Outcome } from './wording.js';

export type ActionGroup = 'sensitive' | 'access' | 'changes';

/** The popup's chip groups. Every action belongs to exactly one. */
export const ACTION_GROUPS: Record<ActionGroup, readonly AuditAction[]> = {
  sensitive: ['cordon', 'delete', 'stop', 'auto_off'],
  access: ['login', 'connect', 'ssh', 'open', 'view', 'read'],
  changes: ['create', 'write', 'enqueue', 'uncordon', 'auto_start'],
};

export const GROUP_LABELS: Record<ActionGroup, string> = {
  sensitive: 'Sensitive',
  access: 'Access',
  changes: 'Changes',
};

export function groupOf(action: AuditAction): ActionGroup {
  for (const [group, actions] of Object.entries(ACTION_GROUPS) as [ActionGroup, readonly AuditAction[]][]) {
    if (actions.includes(action)) return group;
  }
  return 'changes';
}

export function actorName(event: AuditEvent): string {
  return event.actor?.username ?? 'system';
}

/** "just now", "42s ago", "5m ago", "3h ago", "6d ago", then the date. */
export function relativeTime(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (ms < 0) return ms > -60_000 ? 'just now' : 'in the future';
  const s = Math.floor(ms / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ago`;
  const d = Math.floor(h / 24);
  if (d < 30) return `${d}d ago`;
  return iso.slice(0, 10);
}

let dateTimeFormat: Intl.DateTimeFormat | undefined;

/** The local date and time, for tooltips (one formatter: creating them is slow). */
export function absoluteTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  dateTimeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  return dateTimeFormat.format(d);
}

export const SECRET_MASK = '******';

/** One side of a diff entry as text: secrets masked, absent values as an em dash. */
export function diffValue(entry: DiffEntry, side: 'old' | 'new'): string {
  if (entry.secret) return SECRET_MASK;
  if (!(side in entry) || entry[side] === undefined) return '—';
  const value = entry[side];
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

export function diffSize(event: AuditEvent): number {
  return Object.keys(event.diff ?? {}).length;
}

export function formatCount(count: { value: number; capped: boolean }): string {
  const n = count.value.toLocaleString('en-US');
  return `${n}${count.capped ? '+' : ''} event${count.value === 1 && !count.capped ? '' : 's'}`;
}

/** A resource type as it reads: "workspace provider". */
export const resourceTypeName = (type: string): string => type.replace(/_/g, ' ');

/** What became of an event's action, from its HTTP status (wording.ts, Outcome). */
export function outcomeOf(statusCode: number | null): Outcome {
  if (statusCode === null) return 'unknown';
  if (statusCode < 400) return 'succeeded';
  if (statusCode === 401 || statusCode === 403) return 'refused';
  return statusCode < 500 ? 'failed' : 'error';
}

/** The parts of an event's sentence; joined, they read "mallory tried to delete user admin — refused (403)". */
export interface EventSentence {
  outcome: Outcome;
  actor: string;
  /** The verb and what comes before the resource: "tried to delete". */
  verb: string;
  /** The resource type ("user"), or null when the resource is the actor (a login). */
  resourceType: string | null;
  target: string | null;
  /** Words after the resource: " on schedule". */
  rest: string;
  /** The outcome after the resource: " — refused (403)" (empty when it happened). */
  after: string;
  /** `after` without the status, for a notification title short of room. */
  afterShort: string;
}

const sameName = (a: string | null | undefined, b: string) => Boolean(a) && a!.toLowerCase() === b.toLowerCase();

/** One event as a sentence, from the action × outcome table (wording.ts). */
export function eventSentence(event: AuditEvent): EventSentence {
  const outcome = outcomeOf(event.statusCode);
  const words = ACTION_WORDS[event.action];
  const form = OUTCOME_WORDS[outcome === 'refused' && words.refusedReadsFailed ? 'failed' : outcome];
  const alone = words.alone && (sameName(event.actor?.username, event.resourceTarget) || sameName(event.actor?.email, event.resourceTarget));
  const template = alone ? words.alone![form.form] : words[form.form];
  const [verb = '', rest = ''] = template.split('{what}');
  return {
    outcome,
    actor: actorName(event),
    verb: `${form.before}${verb.trim()}`,
    resourceType: alone ? null : resourceTypeName(event.resourceType),
    target: alone ? null : event.resourceTarget,
    rest,
    after: form.after(event.statusCode),
    afterShort: form.afterShort,
  };
}

/** The sentence as plain text. */
export function sentenceText(s: EventSentence, options: { actor?: string; short?: boolean; withType?: boolean } = {}): string {
  const what = s.target === null ? '' : ` ${options.withType === false || s.resourceType === null ? '' : `${s.resourceType} `}${s.target}`;
  return `${options.actor ?? s.actor} ${s.verb}${what}${s.rest}${options.short ? s.afterShort : s.after}`;
}

/**
 * Characters of a notification title that show whole: Chrome and the desktops it hands
 * notifications to cut titles at about 40 to 60 characters.
 */
export const TITLE_BUDGET = 56;
/** An actor's name in a title short of room: at most this many characters. */
const TITLE_ACTOR = 12;

const shortened = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * One event's desktop notification. The title is its sentence; short of room it shortens
 * the actor, then drops the status code, then the resource type, then the outcome's last
 * words ("tried to" stays), never the target. The body
 * says what became of it, who, when and from where.
 */
export function eventNotification(event: AuditEvent): { title: string; message: string } {
  const s = eventSentence(event);
  const actor = shortened(s.actor, TITLE_ACTOR);
  const candidates = [
    sentenceText(s),
    sentenceText(s, { actor }),
    sentenceText(s, { actor, short: true }),
    sentenceText(s, { actor, short: true, withType: false }),
    // Last: the outcome's words after the target ("tried to" still says it did not happen).
    sentenceText({ ...s, afterShort: '' }, { actor, short: true, withType: false }),
  ];
  const title = candidates.find((t) => t.length <= TITLE_BUDGET) ?? candidates.at(-1)!;
  const message = NOTIFICATION_TEXT.eventBody(OUTCOME_WORDS[s.outcome].status(event.statusCode), s.actor, absoluteTime(event.time), event.ip);
  return { title, message };
}
