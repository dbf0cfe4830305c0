// What to show for a batch of new events, and what a notification's click opens. Pure:
// no browser APIs (the background creates what this plans; tests check it directly).
//
// Notification ids are deterministic, so replaying a batch after a crash (notifications
// created, cursor not yet saved) replaces them instead of showing them twice:
//   vigil-event-<seq>                one event
//   vigil-summary-<first>-<last>     more than SUMMARY_AFTER events at once
//   vigil-test                       the options page's test notification
import type { AuditEvent } from '../../shared/event.js';
import type { AuditAction } from '../../shared/vocabulary.js';
import { actorName, eventNotification, outcomeOf } from './present.js';
import { countWords, NOTIFICATION_TEXT, OUTCOME_WORDS, type Outcome } from './wording.js';

/** More events than this arriving at once make one summary notification. */
export const SUMMARY_AFTER = 5;

export const TEST_NOTIFICATION_ID = 'vigil-test';

export const eventNotificationId = (seq: number): string => `vigil-event-${seq}`;
export const summaryNotificationId = (firstSeq: number, lastSeq: number): string => `vigil-summary-${firstSeq}-${lastSeq}`;

export type NotificationTarget =
  | { kind: 'event'; seq: number }
  | { kind: 'summary'; firstSeq: number; lastSeq: number }
  | { kind: 'test' };

export function parseNotificationId(id: string): NotificationTarget | null {
  if (id === TEST_NOTIFICATION_ID) return { kind: 'test' };
  let m = /^vigil-event-(\d{1,18})$/.exec(id);
  if (m) return { kind: 'event', seq: Number(m[1]) };
  m = /^vigil-summary-(\d{1,18})-(\d{1,18})$/.exec(id);
  if (m) return { kind: 'summary', firstSeq: Number(m[1]), lastSeq: Number(m[2]) };
  return null;
}

export interface PlannedNotification {
  id: string;
  title: string;
  message: string;
  /** Milliseconds since the epoch: when it happened (for the notification centre's order). */
  eventTime: number;
}

/**
 * How long after it happened an event may be recorded and still alert. Backfills and
 * imports record old events: they are new to the log, not news, and never flood the
 * auditor with notifications or the unseen count.
 */
export const RECENT_WINDOW_MS = 10 * 60_000;

/** Whether an event happened within RECENT_WINDOW_MS of being recorded (so it may alert). */
export function isRecentEvent(event: Pick<AuditEvent, 'time' | 'recordedAt'>, windowMs = RECENT_WINDOW_MS): boolean {
  const happened = Date.parse(event.time);
  const recorded = Date.parse(event.recordedAt);
  return !(recorded - happened > windowMs);
}

/** Events newer than `cursor`, once each, in seq order. */
export function freshEvents(events: readonly AuditEvent[], cursor: number): AuditEvent[] {
  const bySeq = new Map<number, AuditEvent>();
  for (const e of events) if (e.seq > cursor) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** One notification per event, or one summary when more than SUMMARY_AFTER arrive at once. */
export function planNotifications(fresh: readonly AuditEvent[]): PlannedNotification[] {
  if (fresh.length <= SUMMARY_AFTER) {
    return fresh.map((event) => ({ id: eventNotificationId(event.seq), ...eventNotification(event), eventTime: Date.parse(event.time) || Date.now() }));
  }
  // Per action, in order of first appearance, how many of each outcome.
  const byAction = new Map<AuditAction, Partial<Record<Outcome, number>>>();
  const actors: string[] = [];
  let notDone = 0;
  for (const event of fresh) {
    const outcome = outcomeOf(event.statusCode);
    const counts = byAction.get(event.action) ?? {};
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    byAction.set(event.action, counts);
    if (!OUTCOME_WORDS[outcome].done) notDone++;
    const actor = actorName(event);
    if (!actors.includes(actor)) actors.push(actor);
  }
  const total = (counts: Partial<Record<Outcome, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const counts = [...byAction.entries()].sort((a, b) => total(b[1]) - total(a[1])).map(([action, byOutcome]) => countWords(action, byOutcome));
  const first = fresh[0]!;
  const last = fresh.at(-1)!;
  return [
    {
      id: summaryNotificationId(first.seq, last.seq),
      title: NOTIFICATION_TEXT.summaryTitle(fresh.length, notDone),
      message: NOTIFICATION_TEXT.summaryMessage(counts, actors),
      eventTime: Date.parse(last.time) || Date.now(),
    },
  ];
}

/** The full view's address for a query and a selected event: view.html#q=...&id=... */
export function fullViewPath(q: string | null, eventId?: string | null): string {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (eventId) params.set('id', eventId);
  const hash = params.toString().replace(/\+/g, '%20');
  return hash ? `view.html#${hash}` : 'view.html';
}
