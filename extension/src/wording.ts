// The words of desktop notifications, of the options page's rules and of the export
// buttons. One event's own notification reads like its row (present.ts, eventNotification);
// the connection states' words are in states.ts.

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
  refused: (message: string): string => `The server refused: ${message}`,
  unreachable: 'The server did not answer. Check the address and that the server is running.',
} as const;
