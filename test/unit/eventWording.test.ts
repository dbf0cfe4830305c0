// The action × outcome table: every action with every outcome reads as what happened to it
// (row, notification, summary); a refused or failed action never reads as done.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/event.js';
import { AUDIT_ACTIONS, type AuditAction } from '../../shared/vocabulary.js';
import { absoluteTime, eventNotification, eventSentence, outcomeOf, sentenceText, TITLE_BUDGET } from '../../extension/src/present.js';
import { planNotifications } from '../../extension/src/notifyPlan.js';
import { ACTION_WORDS, OUTCOMES, type Outcome } from '../../extension/src/wording.js';

/** A status for each outcome (null: none recorded). */
const STATUS: Record<Outcome, number | null> = { succeeded: 200, refused: 403, failed: 404, error: 500, unknown: null };

let seq = 0;
function event(action: AuditAction, statusCode: number | null, over: Partial<AuditEvent> = {}): AuditEvent {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    seq,
    time: '2026-12-02T10:42:05.000Z',
    recordedAt: '2026-12-02T10:42:05.100Z',
    action,
    resourceType: 'workspace_provider',
    resourceId: null,
    resourceTarget: 'eu-west-k8s-2',
    actor: { id: null, username: 'mallory', email: 'mallory@example.com' },
    ip: '203.0.113.9',
    userAgent: null,
    statusCode,
    requestId: null,
    diff: null,
    metadata: null,
    ...over,
  } as AuditEvent;
}

/** The action's words in a form, with the resource: "delete workspace provider eu-west-k8s-2". */
const form = (action: AuditAction, which: 'did' | 'to') => ACTION_WORDS[action][which].replace('{what}', 'workspace provider eu-west-k8s-2');

describe('the action × outcome table', () => {
  it('classifies statuses into outcomes', () => {
    expect([200, 201, 302, 401, 403, 400, 404, 409, 429, 500, 503, null].map(outcomeOf)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'refused',
      'refused',
      'failed',
      'failed',
      'failed',
      'failed',
      'error',
      'error',
      'unknown',
    ]);
  });

  for (const action of AUDIT_ACTIONS) {
    it(`${action}: every outcome names actor, verb, target and outcome; only done actions read as done`, () => {
      for (const outcome of OUTCOMES) {
        const e = event(action, STATUS[outcome]);
        const text = sentenceText(eventSentence(e));
        const done = `mallory ${form(action, 'did')}`;
        expect(eventSentence(e).outcome).toBe(outcome);
        expect(text, text).toContain('eu-west-k8s-2');
        if (outcome === 'succeeded' || outcome === 'unknown') {
          expect(text).toBe(done);
          continue;
        }
        // Never the done form, and the outcome in words.
        expect(text.startsWith(done), text).toBe(false);
        const refusedAsFailed = outcome === 'refused' && ACTION_WORDS[action].refusedReadsFailed;
        const expected = {
          refused: refusedAsFailed ? `mallory failed to ${form(action, 'to')} (403)` : `mallory tried to ${form(action, 'to')} — refused (403)`,
          failed: `mallory failed to ${form(action, 'to')} (404)`,
          error: `mallory tried to ${form(action, 'to')} — server error (500)`,
        }[outcome];
        expect(text).toBe(expected);
        // The notification: titled by the same sentence, never as a success; the body says the outcome first.
        const n = eventNotification(e);
        expect(n.title).toContain('eu-west-k8s-2');
        expect(n.title.startsWith(done)).toBe(false);
        expect(n.title).toMatch(/^mallory (tried|failed) to /);
        expect(n.message.split('\n')[0]).toMatch(/^(Refused|Failed|Server error) \(HTTP \d{3}\) · by mallory$/);
      }
    });
  }

  it('a login names the user only when it is someone else', () => {
    const self = { resourceType: 'user', resourceTarget: 'alice', actor: { id: null, username: 'alice', email: 'alice@example.com' } } as const;
    expect(sentenceText(eventSentence(event('login', 200, self)))).toBe('alice logged in');
    expect(sentenceText(eventSentence(event('login', 401, self)))).toBe('alice failed to log in (401)');
    expect(sentenceText(eventSentence(event('login', 429, self)))).toBe('alice failed to log in (429)');
    expect(sentenceText(eventSentence(event('login', 200, { ...self, resourceTarget: 'ALICE@example.com' })))).toBe('alice logged in');
    expect(sentenceText(eventSentence(event('login', 200, { ...self, resourceTarget: 'bob' })))).toBe('alice logged in as user bob');
  });

  it('a refused delete reads as refused, in the row and the notification', () => {
    const e = event('delete', 403, { resourceType: 'user', resourceTarget: 'admin' });
    expect(sentenceText(eventSentence(e))).toBe('mallory tried to delete user admin — refused (403)');
    expect(eventNotification(e)).toEqual({
      title: 'mallory tried to delete user admin — refused (403)',
      message: `Refused (HTTP 403) · by mallory\n${absoluteTime(e.time)} · from 203.0.113.9`,
    });
  });
});

describe('notification titles keep the target whole', () => {
  it('fit the budget by shortening the actor, then the status, then the resource type', () => {
    const cordon = event('cordon', 200, { actor: { id: null, username: 'ops.maria', email: null } });
    expect(eventNotification(cordon).title).toBe('ops.maria cordoned workspace provider eu-west-k8s-2');

    const longActor = event('cordon', 200, { actor: { id: null, username: 'platform-automation-service-account', email: null } });
    const title = eventNotification(longActor).title;
    expect(title).toBe('platform-au… cordoned workspace provider eu-west-k8s-2');
    expect(title.length).toBeLessThanOrEqual(TITLE_BUDGET);
    // The whole name is in the body.
    expect(eventNotification(longActor).message).toContain('by platform-automation-service-account');

    const refused = event('cordon', 403, { actor: { id: null, username: 'ops.maria', email: null } });
    expect(eventNotification(refused).title).toBe('ops.maria tried to cordon eu-west-k8s-2 — refused');
  });

  it('never cut the target, even when it alone is longer than the budget', () => {
    const target = 'a-very-long-workspace-name-that-goes-on-and-on-and-on/dev';
    for (const outcome of OUTCOMES) {
      const title = eventNotification(event('delete', STATUS[outcome], { resourceTarget: target })).title;
      expect(title, outcome).toContain(target);
    }
  });

  it('every action with every outcome: within the budget for an ordinary target, and the target whole', () => {
    for (const action of AUDIT_ACTIONS) {
      for (const outcome of OUTCOMES) {
        const title = eventNotification(event(action, STATUS[outcome], { actor: { id: null, username: 'someone-with-a-long-name', email: null } })).title;
        expect(title, `${action} ${outcome}: ${title}`).toContain('eu-west-k8s-2');
        expect(title.length, `${action} ${outcome}: ${title}`).toBeLessThanOrEqual(TITLE_BUDGET);
      }
    }
  });

  it('the body gives outcome, actor, time and ip, not the generic description', () => {
    const e = event('stop', null, { ip: null });
    expect(eventNotification(e).message).toBe(`No status recorded · by mallory\n${absoluteTime(e.time)}`);
  });
});

describe('burst summaries', () => {
  it('count each action in words, with what did not happen', () => {
    const bot = { id: null, username: 'cleanup-bot', email: null };
    const deletes = Array.from({ length: 8 }, () => event('delete', 200, { actor: bot }));
    const [summary] = planNotifications(deletes);
    expect(summary!.title).toBe('8 sensitive events in the audit log');
    expect(summary!.message).toBe('8 deletes by cleanup-bot. Click to see them.');

    const mixed = [
      ...Array.from({ length: 3 }, () => event('delete', 200, { actor: bot })),
      event('delete', 403, { actor: { id: null, username: 'mallory', email: null } }),
      event('delete', 500, { actor: bot }),
      event('cordon', 200, { actor: bot }),
      event('stop', 200, { actor: bot }),
    ];
    const [mixedSummary] = planNotifications(mixed);
    expect(mixedSummary!.title).toBe('7 sensitive events in the audit log, 2 refused or failed');
    expect(mixedSummary!.message).toBe('5 deletes (1 refused, 1 server error), 1 cordon, 1 stop by cleanup-bot, mallory. Click to see them.');
  });
});
