// How events read: action groups and colours, verbs, relative times, diff values.
import type { AuditEvent, DiffEntry } from '../../shared/event.js';
import { ACTION_DESCRIPTIONS, type AuditAction } from '../../shared/vocabulary.js';
import { NOTIFICATION_TEXT } from './wording.js';

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

/** What the actor did, as it reads in a row: "alice deleted workspace alice/dev". */
export const ACTION_VERBS: Record<AuditAction, string> = {
  auto_off: 'turned off idle',
  auto_start: 'started on schedule',
  connect: 'connected to',
  cordon: 'cordoned',
  create: 'created',
  delete: 'deleted',
  enqueue: 'queued a job for',
  login: 'logged in as',
  open: 'opened',
  read: 'read',
  ssh: 'opened a terminal on',
  stop: 'stopped',
  uncordon: 'uncordoned',
  view: 'used',
  write: 'changed',
};

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

/**
 * One event's desktop notification, worded like its row: "alice deleted workspace
 * alice/dev", then what the action means, whether it was refused, and when.
 */
export function eventNotification(event: AuditEvent): { title: string; message: string } {
  const title = `${actorName(event)} ${ACTION_VERBS[event.action]} ${resourceTypeName(event.resourceType)} ${event.resourceTarget}`;
  const refused = event.statusCode !== null && event.statusCode >= 400 ? ` ${NOTIFICATION_TEXT.refused(event.statusCode)}` : '';
  return { title, message: `${ACTION_DESCRIPTIONS[event.action]}.${refused}\n${absoluteTime(event.time)}` };
}
