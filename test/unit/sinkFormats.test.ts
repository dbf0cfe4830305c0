// Sink formats and framing as pure functions: the OCSF table covers every action and
// resource type (and refuses one without a row), CEF escaping, RFC 5424 / RFC 6587 framing,
// the webhook signature, and backoff with jitter.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/event.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { backoffMs } from '../../server/services/sinkDelivery.js';
import { cefEvent, OCSF_ACTIVITY_BY_ACTION, OCSF_CLASS_BY_RESOURCE_TYPE, ocsfClassOf, ocsfEvent } from '../../server/services/sinkFormats.js';
import { octetCounted, splunkEventUrl, syslogMessage, webhookSignature } from '../../server/services/sinkTransports.js';

const EVENT: AuditEvent = {
  id: '6f1c2a4e-8b0d-4f3e-9a7c-1d2e3f4a5b6c',
  seq: 42,
  time: '2026-03-01T12:34:56.789Z',
  recordedAt: '2026-03-01T12:34:57.001Z',
  action: 'login',
  resourceType: 'user',
  resourceId: null,
  resourceTarget: 'alice',
  actor: { id: 'u-1', username: 'alice', email: 'alice@example.com' },
  ip: '198.51.100.4',
  userAgent: 'Mozilla/5.0',
  statusCode: 401,
  requestId: 'req-1',
  diff: {},
  metadata: { method: 'password' },
  hash: 'a'.repeat(64),
};

describe('OCSF mapping', () => {
  it('has a row for every action and a class for every resource type', () => {
    for (const action of AUDIT_ACTIONS) expect(OCSF_ACTIVITY_BY_ACTION[action], action).toBeDefined();
    for (const type of RESOURCE_TYPES) expect(OCSF_CLASS_BY_RESOURCE_TYPE[type], type).toBeDefined();
    expect(Object.keys(OCSF_ACTIVITY_BY_ACTION).sort()).toEqual([...AUDIT_ACTIONS].sort());
  });

  it('refuses an action or resource type without a row', () => {
    expect(() => ocsfClassOf({ action: 'explode' as never, resourceType: 'workspace' })).toThrow(/no OCSF mapping for action "explode"/);
    expect(() => ocsfClassOf({ action: 'write', resourceType: 'spaceship' as never })).toThrow(/no OCSF class for resource type "spaceship"/);
    expect(() => ocsfClassOf({ action: 'toString' as never, resourceType: 'workspace' })).toThrow(/no OCSF mapping/);
  });

  it('a login is Authentication with its status from status_code', () => {
    const failed = ocsfEvent(EVENT);
    expect(failed).toMatchObject({
      class_uid: 3002,
      category_uid: 3,
      activity_id: 1,
      type_uid: 300201,
      status_id: 2,
      status: 'Failure',
      status_code: '401',
      time: Date.parse(EVENT.time),
      metadata: { uid: EVENT.id, version: expect.stringMatching(/^1\./), product: { name: 'Vigil' }, correlation_uid: 'req-1' },
      actor: { user: { name: 'alice', uid: 'u-1', email_addr: 'alice@example.com' } },
      user: { name: 'alice' },
      src_endpoint: { ip: '198.51.100.4' },
      http_request: { user_agent: 'Mozilla/5.0' },
      unmapped: { metadata: { method: 'password' } },
    });
    expect(ocsfEvent({ ...EVENT, statusCode: 200 })).toMatchObject({ status_id: 1, status: 'Success' });
  });

  it('user and token changes are Account Change; everything else API Activity with create/read/update/delete/other', () => {
    expect(ocsfEvent({ ...EVENT, action: 'delete', resourceType: 'token', resourceId: 't-1', resourceTarget: 'ci-bot' })).toMatchObject({
      class_uid: 3001,
      activity_id: 6,
      type_uid: 300106,
      user: { name: 'ci-bot', uid: 't-1' },
    });
    const expected: [AuditEvent['action'], number][] = [['create', 1], ['read', 2], ['write', 3], ['delete', 4], ['ssh', 99]];
    for (const [action, activity] of expected) {
      expect(ocsfEvent({ ...EVENT, action, resourceType: 'workspace' }), action).toMatchObject({
        class_uid: 6003,
        activity_id: activity,
        type_uid: 600300 + activity,
        api: { operation: action },
        resources: [{ type: 'workspace', name: 'alice' }],
      });
    }
  });
});

describe('CEF', () => {
  it('escapes pipes in the header and backslash, equals and line breaks in values', () => {
    const line = cefEvent({ ...EVENT, action: 'write', resourceType: 'workspace', resourceTarget: 'a|b=c\\d\ne', metadata: {} });
    expect(line.startsWith('CEF:0|Vigil|Vigil|1|write|write workspace a\\|b=c\\\\d e|3|')).toBe(true);
    expect(line).toContain('cs2=a|b\\=c\\\\d\\ne');
    expect(line).toContain(`rt=${Date.parse(EVENT.time)}`);
    expect(line).toContain('suser=alice');
    expect(line).toContain(`externalId=${EVENT.id}`);
    expect(line).not.toMatch(/\n/);
    expect(cefEvent({ ...EVENT, action: 'delete' })).toMatch(/^CEF:0\|Vigil\|Vigil\|1\|delete\|[^|]+\|7\|/);
  });
});

describe('syslog framing', () => {
  it('is RFC 5424 with APP-NAME vigil and MSGID the action, octet-counted in bytes', () => {
    const message = syslogMessage({ ...EVENT, resourceTarget: 'é' }, 'vigil');
    expect(message).toMatch(new RegExp(`^<110>1 ${EVENT.time.replace(/\./g, '\\.')} \\S+ vigil \\d+ login - \\{`));
    expect(JSON.parse(message.slice(message.indexOf(' - ') + 3))).toMatchObject({ id: EVENT.id, resourceTarget: 'é' });
    const framed = octetCounted([message]).toString('utf8');
    const [length, ...rest] = framed.split(' ');
    expect(Number(length)).toBe(Buffer.byteLength(message));
    expect(Number(length)).toBe(message.length + 1);
    expect(rest.join(' ')).toBe(message);
    // A batch: each message framed by its own length in bytes, back to back.
    const second = syslogMessage({ ...EVENT, resourceTarget: '☕☕' }, 'vigil');
    expect(octetCounted([message, second]).equals(Buffer.from(`${Buffer.byteLength(message)} ${message}${Buffer.byteLength(second)} ${second}`))).toBe(true);
    expect(syslogMessage({ ...EVENT, action: 'delete' }, 'cef')).toMatch(/^<109>1 .* vigil \d+ delete - CEF:0\|/);
  });
});

describe('HTTP kinds', () => {
  it('signs webhook bodies with HMAC-SHA256 over "<t>.<body>"', () => {
    const body = '{"a":1}\n';
    expect(webhookSignature('k', body, 1700000000)).toBe(`t=1700000000,v1=${createHmac('sha256', 'k').update(`1700000000.${body}`).digest('hex')}`);
  });
  it('posts to Splunk HEC under the URL given', () => {
    expect(splunkEventUrl('https://splunk:8088')).toBe('https://splunk:8088/services/collector/event');
    expect(splunkEventUrl('https://splunk:8088/')).toBe('https://splunk:8088/services/collector/event');
    expect(splunkEventUrl('https://splunk:8088/services/collector/event')).toBe('https://splunk:8088/services/collector/event');
  });
});

describe('backoff', () => {
  it('doubles from the initial wait up to the maximum, jittered to 50-100 %', () => {
    const b = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffMs(n, b, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3].map((n) => backoffMs(n, b, () => 0))).toEqual([50, 100, 200]);
  });
});
