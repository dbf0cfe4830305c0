// An event's OCSF text cut from its listed JSON is byte for byte what the object path
// writes (JSON.stringify(ocsfEvent(event))): every action and resource type, every optional
// key present, empty or null, and values whose JSON is awkward (quotes, backslashes, braces
// inside strings, control characters, unicode, nested diffs).
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/event.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { ocsfEvent } from '../../server/services/sinkFormats.js';
import { ocsfTextCut, ocsfTextOf } from '../../server/services/ocsfText.js';

const BASE: AuditEvent = {
  id: '6f1c2a4e-8b0d-4f3e-9a7c-1d2e3f4a5b6c',
  seq: 42,
  time: '2026-03-01T12:34:56.789Z',
  recordedAt: '2026-03-01T12:34:57.001Z',
  action: 'write',
  resourceType: 'workspace',
  resourceId: 'ws-1',
  resourceTarget: 'alice/dev',
  actor: { id: 'u-1', username: 'alice', email: 'alice@example.com' },
  ip: '198.51.100.4',
  userAgent: 'Mozilla/5.0',
  statusCode: 200,
  requestId: 'req-1',
  diff: { ttl: { old: 1, new: 2, secret: false } },
  metadata: { note: 'x' },
  hash: 'a'.repeat(64),
};

const AWKWARD = ['', 'say "hi"', 'back\\slash\\', 'ends with \\"', '{"not":"json"}', 'line\nbreak\ttab\u0001\u001f', 'ünïcødé ✓ 🚀', '\u2028\u2029', '[]{},:'];

const VARIANTS: Partial<AuditEvent>[] = [
  {},
  { actor: null },
  { actor: { id: null, username: 'bob', email: null } },
  { actor: { id: '', username: '', email: '' } },
  { resourceId: null, requestId: null, ip: null, userAgent: null, statusCode: null },
  { resourceId: '', requestId: '', userAgent: '' },
  { statusCode: 399 },
  { statusCode: 400 },
  { statusCode: 503 },
  { diff: {}, metadata: {} },
  { diff: { a: { old: [1, [2, { b: 'c]}' }], -0.5, 1e21, null, true], new: '"}' }, '1': { old: 'integer key first', new: null, secret: true } }, metadata: { nested: { deep: { deeper: ['"', '\\'] } } } },
  { seq: 9_007_199_254_740_991, time: '1970-01-01T00:00:00.000Z' },
  ...AWKWARD.map((s) => ({ resourceTarget: s, resourceId: s, requestId: s, userAgent: s, actor: { id: s, username: s, email: s }, metadata: { [s]: s } })),
];

/** The listed JSON a sink reads (what JSON.stringify writes of the listed event). */
const listed = (e: AuditEvent) => JSON.stringify(e);

describe('OCSF text from the listed JSON', () => {
  it('is the object path byte for byte, for every action, resource type and variant', () => {
    let compared = 0;
    for (const action of AUDIT_ACTIONS) {
      for (const resourceType of RESOURCE_TYPES) {
        for (const variant of VARIANTS) {
          const event = { ...BASE, action, resourceType, ...variant } as AuditEvent;
          // Cut and joined (not the long way), and the object path's bytes.
          expect(ocsfTextCut(listed(event)), JSON.stringify({ action, resourceType, variant })).toBe(JSON.stringify(ocsfEvent(event)));
          compared++;
        }
      }
    }
    expect(compared).toBe(AUDIT_ACTIONS.length * RESOURCE_TYPES.length * VARIANTS.length);
  });

  it('a time it cannot read is null, as JSON.stringify writes NaN', () => {
    const event = { ...BASE, time: 'not a time' };
    expect(ocsfTextOf(listed(event))).toBe(JSON.stringify(ocsfEvent(event)));
    expect(JSON.parse(ocsfTextOf(listed(event))).time).toBeNull();
  });

  it('a text not laid out as JSON.stringify writes a listed event (spaces, another key order) takes the long way, with the same answer', () => {
    const spaced = JSON.stringify(BASE, null, 1);
    expect(ocsfTextCut(spaced)).toBeNull();
    expect(ocsfTextOf(spaced)).toBe(JSON.stringify(ocsfEvent(BASE)));
    const { hash, ...rest } = BASE;
    const reordered = JSON.stringify({ hash, ...rest });
    expect(ocsfTextCut(reordered)).toBeNull();
    expect(ocsfTextOf(reordered)).toBe(JSON.stringify(ocsfEvent(BASE)));
  });

  it('refuses an action without a mapping, as the object path does', () => {
    const event = { ...BASE, action: 'teleport' } as unknown as AuditEvent;
    expect(() => ocsfTextOf(listed(event))).toThrow(/no OCSF mapping for action "teleport"/);
    expect(() => JSON.stringify(ocsfEvent(event))).toThrow(/no OCSF mapping for action "teleport"/);
  });
});
