// Every state a user must understand, named in one place (the way notifier-for-github's
// lib/badge.js names its badges): what the popup, the full view and the options page
// say, and what the toolbar badge shows. Pages never invent their own wording.
import type { Role, Settings } from './settings.js';

export type StateId =
  | 'notConfigured'
  | 'noAccess'
  | 'loggedOut'
  | 'badToken'
  | 'forbidden'
  | 'unreachable'
  | 'offline'
  | 'loading'
  | 'empty'
  | 'queryError'
  | 'ready';

/** Facts a message may mention. */
export interface StateDetail {
  server?: string;
  username?: string;
  role?: Role;
  /** Set when the credentials are a service token (its name, or ''). */
  service?: string;
  /** The server's or the parser's own words (query errors, unexpected answers). */
  message?: string;
}

export type StateFix = 'options' | 'retry' | 'clearQuery';

export interface StateSpec {
  title: string;
  message(detail: StateDetail): string;
  /** The toolbar badge; empty text clears it. */
  badge: { text: string; color: string };
  /** The one button that gets the user out of this state. */
  fix?: StateFix;
  tone: 'neutral' | 'warning' | 'error';
}

const GREY = '#6b7280';
const RED = '#b91c1c';
const AMBER = '#b45309';

const ROLE_NAMES: Record<Role, string> = { site_manager: 'site manager', auditor: 'auditor', member: 'member' };
export const roleName = (role: Role): string => ROLE_NAMES[role] ?? role;

const serverName = (detail: StateDetail) => detail.server ?? 'the Vigil server';

export const STATES: Record<StateId, StateSpec> = {
  notConfigured: {
    title: 'Not set up yet',
    message: () => 'Tell Vigil where your audit server is: open the options and enter its address.',
    badge: { text: 'X', color: GREY },
    fix: 'options',
    tone: 'neutral',
  },
  noAccess: {
    title: 'No permission to reach the server',
    message: (d) => `The browser has not allowed Vigil to talk to ${serverName(d)}. Open the options and save the address again to grant access.`,
    badge: { text: 'X', color: GREY },
    fix: 'options',
    tone: 'warning',
  },
  loggedOut: {
    title: 'Logged out',
    message: (d) => `Log in to ${serverName(d)} in the options, or paste a token there.`,
    badge: { text: 'X', color: GREY },
    fix: 'options',
    tone: 'neutral',
  },
  badToken: {
    title: 'Session expired or token rejected',
    message: (d) => `${serverName(d)} no longer accepts the saved credentials. Log in again in the options.`,
    badge: { text: '!', color: RED },
    fix: 'options',
    tone: 'error',
  },
  forbidden: {
    title: 'Not allowed to read the audit log',
    message: (d) =>
      d.service !== undefined
        ? `The service token${d.service ? ` "${d.service}"` : ''} may not read audit events: it needs the events:read scope. Ask a site manager, or log in as a person.`
        : `${d.username ? `You are logged in as ${d.username}` : 'You are logged in'}${d.role ? ` with the ${roleName(d.role)} role` : ''}, which cannot read audit events. Ask a site manager for the auditor role.`,
    badge: { text: '!', color: AMBER },
    fix: 'options',
    tone: 'error',
  },
  unreachable: {
    title: 'Server unreachable',
    message: (d) => `${serverName(d)} did not answer${d.message ? ` (${d.message})` : ''}. It may be down or restarting.`,
    badge: { text: '?', color: AMBER },
    fix: 'retry',
    tone: 'error',
  },
  offline: {
    title: 'Offline',
    message: () => 'This computer is offline. Vigil will try again when the connection is back.',
    badge: { text: 'off', color: GREY },
    fix: 'retry',
    tone: 'warning',
  },
  loading: {
    title: 'Loading',
    message: () => 'Loading events…',
    badge: { text: '', color: GREY },
    tone: 'neutral',
  },
  empty: {
    title: 'No events',
    message: () => 'No events match this query. Widen the time range or remove a filter.',
    badge: { text: '', color: GREY },
    fix: 'clearQuery',
    tone: 'neutral',
  },
  queryError: {
    title: 'The query has a mistake',
    message: (d) => d.message ?? 'The query could not be read.',
    badge: { text: '', color: GREY },
    tone: 'warning',
  },
  ready: {
    title: 'Ready',
    message: () => '',
    badge: { text: '', color: GREY },
    tone: 'neutral',
  },
};

export const FIX_LABELS: Record<StateFix, string> = {
  options: 'Open options',
  retry: 'Try again',
  clearQuery: 'Clear filters',
};

export interface ViewState {
  id: StateId;
  detail: StateDetail;
}

export function describe(state: ViewState): { title: string; message: string } {
  const spec = STATES[state.id];
  return { title: spec.title, message: spec.message(state.detail) };
}

/** The state before asking the server anything: missing setup or credentials. */
export function preconditionState(settings: Settings): ViewState | null {
  if (!settings.serverUrl) return { id: 'notConfigured', detail: {} };
  const detail = detailOf(settings);
  if (!settings.token) return { id: 'loggedOut', detail };
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { id: 'offline', detail };
  return null;
}

export function detailOf(settings: Settings): StateDetail {
  const detail: StateDetail = {};
  if (settings.serverUrl) detail.server = settings.serverUrl;
  if (settings.session?.kind === 'user') {
    detail.username = settings.session.user.username;
    detail.role = settings.session.user.role;
  } else if (settings.session?.kind === 'service') {
    detail.service = settings.session.name ?? '';
  }
  return detail;
}

/** The tRPC error code of a failed call, if the server answered at all. */
export function errorCode(error: unknown): string | undefined {
  const data = (error as { data?: { code?: unknown } } | null)?.data;
  return typeof data?.code === 'string' ? data.code : undefined;
}

/**
 * What a failed call means to the user. `hasAccess` is asked only for network failures:
 * without the host permission the browser blocks the request before it leaves.
 */
export async function stateFromError(
  error: unknown,
  settings: Settings,
  hasAccess: () => Promise<boolean>,
): Promise<ViewState> {
  const detail = detailOf(settings);
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'UNAUTHORIZED':
      return { id: 'badToken', detail };
    case 'FORBIDDEN':
      return { id: 'forbidden', detail };
    case 'BAD_REQUEST':
      return { id: 'queryError', detail: { ...detail, message: message.replace(/^q: /, '') } };
    case undefined:
      break;
    default:
      return { id: 'unreachable', detail: { ...detail, message: `${code}: ${message}` } };
  }
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { id: 'offline', detail };
  if (!(await hasAccess().catch(() => true))) return { id: 'noAccess', detail };
  return { id: 'unreachable', detail };
}

// Desktop notifications (issue 6): the toolbar count of unseen sensitive events, the
// words of summary and test notifications, and what the options page says about rules.
// One event's own notification reads like its row (present.ts, eventNotification).

/** The badge for unseen sensitive events; any problem state above wins over it. */
export const UNSEEN_BADGE = {
  color: RED,
  text: (n: number): string => (n > 999 ? '999+' : String(n)),
  title: (n: number): string => `Vigil: ${n} new sensitive event${n === 1 ? '' : 's'}`,
} as const;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const NOTIFICATION_TEXT = {
  /** More than a handful arrived at once: one notification for all of them. */
  summaryTitle: (n: number): string => `${plural(n, 'sensitive event')} in the audit log`,
  summaryMessage: (byAction: readonly (readonly [string, number])[], actors: readonly string[]): string => {
    const what = byAction.map(([action, count]) => `${count} ${action}`).join(', ');
    const shown = actors.slice(0, 3).join(', ');
    const who = actors.length > 3 ? `${shown} and ${plural(actors.length - 3, 'other')}` : shown;
    return `${what}, by ${who}. Click to see them.`;
  },
  /** An event that was refused (HTTP status 400 or more) says so. */
  refused: (status: number): string => `Refused (HTTP ${status}).`,
  /** The popup's line above the list while notified events are unseen. */
  unseenLine: (n: number): string => `${plural(n, 'new sensitive event')} since you last looked`,
  unseenShow: 'Show',
  testTitle: 'Vigil notifications work',
  testMessage: (rules: string | null): string =>
    rules === null
      ? 'No actions are chosen, so Vigil will not notify you of anything.'
      : `You will be notified of new events matching: ${rules}`,
} as const;

/** What the options page says about notification rules (and why a rule is refused). */
export const RULE_TEXT = {
  /** The extra query may not pick actions or resource types: the checkboxes do. */
  repeatsKey: (term: string, key: 'action' | 'resource_type'): string =>
    key === 'action'
      ? `term ${JSON.stringify(term)} chooses actions; tick them under "Actions" instead`
      : `term ${JSON.stringify(term)} chooses resource types (a bare word means resource_type); tick them under "Resource types" instead`,
  off: 'No actions are chosen: Vigil will not notify you. Tick at least one action.',
  saved: 'Saved. New matching events raise a desktop notification.',
  savedOff: 'Saved. Notifications are off.',
  testSent: 'Test notification sent. If none appears, allow notifications for this browser in your system settings.',
  testFailed: (message: string): string => `The browser refused the notification: ${message}`,
} as const;

/** The full view's export buttons (GET /export, recorded on the server as a `read`). */
export const EXPORT_TEXT = {
  label: (format: 'csv' | 'ndjson'): string => (format === 'csv' ? 'Export CSV' : 'Export NDJSON'),
  /** The popup is narrow: the format alone, the title says the rest. */
  shortLabel: (format: 'csv' | 'ndjson'): string => (format === 'csv' ? 'CSV' : 'NDJSON'),
  title: 'Download every event matching the query (the export is itself recorded in the audit log)',
  running: 'Exporting…',
  done: 'Export downloaded.',
  failed: (status: number, message: string): string =>
    status === 403 ? 'Your role may not export the audit log.' : `The export failed (HTTP ${status}): ${message}`,
  unreachable: 'The server could not be reached; nothing was exported.',
} as const;
