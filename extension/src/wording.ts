// The words of events (the action × outcome table: rows, notifications, summaries), of
// desktop notifications, of the options page's rules and of the export buttons. The
// connection states' words are in states.ts; present.ts puts the sentences together.
import type { AuditAction } from '../../shared/vocabulary.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What became of an action, from its HTTP status: below 400 it happened; 401 and 403 were
 * refused (authentication, authorization); other 4xx failed; 5xx broke on the server;
 * no status: the recording app reported the action without one.
 */
export type Outcome = 'succeeded' | 'refused' | 'failed' | 'error' | 'unknown';
export const OUTCOMES: readonly Outcome[] = ['succeeded', 'refused', 'failed', 'error', 'unknown'];

/**
 * One action's words. `did` and `to` hold `{what}` where the resource goes ("user admin"):
 * "alice deleted user admin", "mallory tried to delete user admin". `count` names a number
 * of them in a summary: "8 deletes". `alone`: the words when the resource is the actor
 * ("alice logged in", not "alice logged in as user alice").
 */
export interface ActionWords {
  did: string;
  to: string;
  count: readonly [one: string, many: string];
  alone?: { did: string; to: string };
  /** Refusals of this action read as failures ("alice failed to log in (401)"). */
  refusedReadsFailed?: boolean;
}

export const ACTION_WORDS: Record<AuditAction, ActionWords> = {
  auto_off: { did: 'turned off idle {what}', to: 'turn off idle {what}', count: ['idle shutdown', 'idle shutdowns'] },
  auto_start: { did: 'started {what} on schedule', to: 'start {what} on schedule', count: ['scheduled start', 'scheduled starts'] },
  connect: { did: 'connected to {what}', to: 'connect to {what}', count: ['connection', 'connections'] },
  cordon: { did: 'cordoned {what}', to: 'cordon {what}', count: ['cordon', 'cordons'] },
  create: { did: 'created {what}', to: 'create {what}', count: ['create', 'creates'] },
  delete: { did: 'deleted {what}', to: 'delete {what}', count: ['delete', 'deletes'] },
  enqueue: { did: 'queued a job for {what}', to: 'queue a job for {what}', count: ['queued job', 'queued jobs'] },
  login: { did: 'logged in as {what}', to: 'log in as {what}', count: ['login', 'logins'], alone: { did: 'logged in', to: 'log in' }, refusedReadsFailed: true },
  open: { did: 'opened {what}', to: 'open {what}', count: ['open', 'opens'] },
  read: { did: 'read {what}', to: 'read {what}', count: ['read', 'reads'] },
  ssh: { did: 'opened a terminal on {what}', to: 'open a terminal on {what}', count: ['terminal', 'terminals'] },
  stop: { did: 'stopped {what}', to: 'stop {what}', count: ['stop', 'stops'] },
  uncordon: { did: 'uncordoned {what}', to: 'uncordon {what}', count: ['uncordon', 'uncordons'] },
  view: { did: 'used {what}', to: 'use {what}', count: ['secret use', 'secret uses'] },
  write: { did: 'changed {what}', to: 'change {what}', count: ['change', 'changes'] },
};

/**
 * How each outcome turns an action into a sentence: `verb` picks the action's form (and
 * what goes before it), `after` what follows the resource, `status` the notification's
 * first line. `done`: whether the sentence says the action happened.
 */
export const OUTCOME_WORDS: Record<
  Outcome,
  {
    form: 'did' | 'to';
    before: string;
    after: (status: number | null) => string;
    /** `after` where a notification's title has no room: the outcome without its status. */
    afterShort: string;
    status: (status: number | null) => string;
    label: string;
    done: boolean;
  }
> = {
  succeeded: { form: 'did', before: '', after: () => '', afterShort: '', status: (s) => `Succeeded (HTTP ${s})`, label: 'succeeded', done: true },
  refused: {
    form: 'to',
    before: 'tried to ',
    after: (s) => ` — refused (${s})`,
    afterShort: ' — refused',
    status: (s) => `Refused (HTTP ${s})`,
    label: 'refused',
    done: false,
  },
  failed: { form: 'to', before: 'failed to ', after: (s) => ` (${s})`, afterShort: '', status: (s) => `Failed (HTTP ${s})`, label: 'failed', done: false },
  error: {
    form: 'to',
    before: 'tried to ',
    after: (s) => ` — server error (${s})`,
    afterShort: ' — server error',
    status: (s) => `Server error (HTTP ${s})`,
    label: 'server error',
    done: false,
  },
  // Reported without a status: platform actions (auto_off) and apps that record what they did.
  unknown: { form: 'did', before: '', after: () => '', afterShort: '', status: () => 'No status recorded', label: 'no status', done: true },
};

/** A summary's count of one action: "8 deletes", "5 deletes (2 refused, 1 failed)". */
export function countWords(action: AuditAction, byOutcome: Readonly<Partial<Record<Outcome, number>>>): string {
  const count = OUTCOMES.reduce((sum, outcome) => sum + (byOutcome[outcome] ?? 0), 0);
  const [one, many] = ACTION_WORDS[action].count;
  const notDone = OUTCOMES.filter((o) => !OUTCOME_WORDS[o].done && byOutcome[o]).map((o) => `${byOutcome[o]} ${OUTCOME_WORDS[o].label}`);
  return `${count} ${count === 1 ? one : many}${notDone.length ? ` (${notDone.join(', ')})` : ''}`;
}

export const NOTIFICATION_TEXT = {
  /** More than a handful arrived at once: one notification for all of them. */
  summaryTitle: (n: number, notDone: number): string =>
    `${plural(n, 'sensitive event')} in the audit log${notDone ? `, ${notDone === n ? 'all' : notDone} refused or failed` : ''}`,
  /** "5 deletes (2 refused or failed), 3 cordons by ann, ben, cy and 2 others." */
  summaryMessage: (counts: readonly string[], actors: readonly string[]): string => {
    const shown = actors.slice(0, 3).join(', ');
    const who = actors.length > 3 ? `${shown} and ${plural(actors.length - 3, 'other')}` : shown;
    return `${counts.join(', ')} by ${who}. Click to see them.`;
  },
  /** One event's body: its outcome and actor, then when and from where. */
  eventBody: (status: string, actor: string, when: string, ip: string | null): string =>
    `${status} · by ${actor}\n${when}${ip ? ` · from ${ip}` : ''}`,
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
  refusals: 'Also when the action was refused or failed (the notification says so)',
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

/** A change the server answered with a refusal: its own words (they name the field or the rule). */
const serverRefused = (message: string): string => `The server refused: ${message}`;

/** The options page's "Streaming" section: the server's sinks (site managers only). */
export const STREAMING_TEXT = {
  heading: 'Streaming',
  intro: 'The server streams the audit trail to these destinations (SIEMs), every event at least once and in order.',
  none: 'No sinks yet: the audit trail goes nowhere but this server.',
  allEvents: 'all events',
  lag: (events: number, seconds: number): string => (events === 0 ? 'none' : `${plural(events, 'event')} waiting, oldest ${seconds} s`),
  never: 'never',
  noError: 'none',
  secretKept: 'Leave empty to keep the stored secret',
  listFailed: (message: string): string => `Could not read the sinks: ${message}`,
  created: (name: string): string => `Sink ${name} added. Delivery starts within a second or two.`,
  updated: (name: string): string => `Sink ${name} saved.`,
  deleted: (name: string): string => `Sink ${name} deleted.`,
  confirmDelete: (name: string): string => `Delete sink ${name}? Events not yet delivered to it will not be sent.`,
  testPassed: (name: string, answer: string, ms: number): string => `Test message to ${name}: ${answer} (${ms} ms).`,
  testFailed: (name: string, answer: string): string => `Test message to ${name} failed: ${answer}`,
  refused: serverRefused,
  unreachable: 'The server did not answer. Check the address and that the server is running.',
} as const;

/** The full view's Administration section (site managers): users and service tokens. */
export const ADMIN_TEXT = {
  tabEvents: 'Events',
  tabAdmin: 'Administration',
  usersHeading: 'Users',
  tokensHeading: 'Service tokens',
  loading: 'Loading…',
  /** The server's own words when it refuses a change (e.g. the last site manager). */
  refused: serverRefused,
  unreachable: 'The server could not be reached; nothing was changed.',
  username: 'Username',
  email: 'Email (optional)',
  role: 'Role',
  password: 'Password (blank: generate one)',
  createUser: 'Create user',
  userCreated: (username: string): string => `Created ${username}.`,
  disable: 'Disable',
  enable: 'Enable',
  disabled: 'disabled',
  active: 'active',
  resetPassword: 'Reset password',
  roleChanged: (username: string, role: string): string => `${username} is now ${role}.`,
  disabledDone: (username: string, disabled: boolean): string =>
    disabled ? `${username} is disabled: their sessions no longer work.` : `${username} is enabled again.`,
  /** A password shown once (a new user's or a reset one); the server keeps only its hash. */
  passwordOnce: (username: string): string => `Password of ${username}, shown once (their other sessions were ended):`,
  newUserPasswordOnce: (username: string): string => `Password of ${username}, shown once:`,
  tokenName: 'Name',
  readScope: 'may also read events (events:read)',
  expiresDays: 'Expires after (days, blank: never)',
  createToken: 'Create token',
  tokenOnce: (name: string): string => `Token ${name}, shown once: copy it now, the server keeps only its hash.`,
  copy: 'Copy',
  copied: 'Copied',
  dismiss: 'Done',
  revoke: 'Revoke',
  confirmRevoke: (name: string): string => `Revoke ${name}? Apps using it stop working.`,
  confirm: 'Revoke now',
  cancel: 'Cancel',
  revoked: (name: string): string => `Revoked ${name}.`,
  never: 'never',
  columns: {
    users: ['Username', 'Email', 'Role', 'Status', ''],
    tokens: ['Name', 'Scopes', 'Created', 'Expires', 'Last used', 'Status', ''],
  },
  tokenStatus: (revokedAt: string | null, expiresAt: string | null, now: number): string =>
    revokedAt ? 'revoked' : expiresAt && Date.parse(expiresAt) <= now ? 'expired' : 'active',
} as const;
