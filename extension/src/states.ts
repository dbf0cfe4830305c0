// Every state a user must understand, named in one place (the way notifier-for-github's
// lib/badge.js names its badges): what the popup, the full view and the options page
// say, and what the toolbar badge shows. Pages never invent their own wording.
// A new state is a row here (its id, words, badge, fix); which failure leads to which
// state is connectionState.ts; the words of notifications, rules and exports are wording.ts.
import type { Role } from './settings.js';

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
  | 'historyChanged'
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
  historyChanged: {
    title: 'History changed',
    message: (d) =>
      `${d.message ?? 'The server no longer shows the history this browser verified.'} Someone with access to the server may have rewritten the audit trail. The evidence is kept in the options, until you acknowledge it there.`,
    badge: { text: '!!', color: RED },
    fix: 'options',
    tone: 'error',
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

/** The badge for unseen sensitive events; any problem state above wins over it. */
export const UNSEEN_BADGE = {
  color: RED,
  text: (n: number): string => (n > 999 ? '999+' : String(n)),
  title: (n: number): string => `Vigil: ${n} new sensitive event${n === 1 ? '' : 's'}`,
} as const;
