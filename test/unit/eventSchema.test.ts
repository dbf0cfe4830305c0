import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { EVENT_LIMITS, eventBatchSchema, eventInputSchema } from '../../shared/event.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';

const minimal = { action: 'login', resourceType: 'user', resourceTarget: 'alice' } as const;

const full = {
  id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  time: '2026-03-15T12:34:56.789+02:00',
  action: 'write',
  resourceType: 'workspace',
  resourceId: 'ws-1',
  resourceTarget: 'dev-workspace',
  actor: { id: 'u-1', username: 'alice', email: 'alice@example.com' },
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
  statusCode: 200,
  requestId: 'req-1',
  diff: { name: { old: 'a', new: 'b' }, password: { secret: true }, ttl: { old: null, new: 3600 } },
  metadata: { reason: 'ticket 1', nested: { list: [1, 2, { deep: true }] }, nothing: null },
} as const;

type Path = readonly PropertyKey[];

/** The issues of a failed parse (fails the test when the parse succeeded). */
function issuesOf(value: unknown, schema: z.ZodType = eventInputSchema) {
  const result = schema.safeParse(value);
  if (result.success) expect.fail(`expected a failure for ${JSON.stringify(value).slice(0, 200)}`);
  return result.error.issues;
}

/** Fails with exactly one issue, at `path`; returns it. */
function expectIssueAt(value: unknown, path: Path) {
  const issues = issuesOf(value);
  expect(issues.map((i) => i.path)).toStrictEqual([path]);
  return issues[0]!;
}

function parses(value: unknown) {
  const result = eventInputSchema.safeParse(value);
  if (!result.success) expect.fail(`expected success, got ${JSON.stringify(result.error.issues)}`);
  return result.data;
}

describe('eventInputSchema: valid events', () => {
  it('accepts the minimal event and returns it unchanged', () => {
    expect(parses(minimal)).toStrictEqual(minimal);
  });

  it('accepts a full event and returns it unchanged', () => {
    expect(parses(full)).toStrictEqual(full);
  });

  it('accepts every action and resource type of the vocabulary', () => {
    for (const action of AUDIT_ACTIONS) parses({ ...minimal, action });
    for (const resourceType of RESOURCE_TYPES) parses({ ...minimal, resourceType });
  });

  it('accepts an event without an actor (the system acted)', () => {
    const event = parses({ ...minimal, action: 'auto_off', resourceType: 'workspace' });
    expect(event.actor).toBeUndefined();
  });

  it('accepts an actor with only a username', () => {
    expect(parses({ ...minimal, actor: { username: 'bob' } }).actor).toStrictEqual({ username: 'bob' });
  });

  it('trims the text fields', () => {
    const event = parses({
      ...minimal,
      resourceTarget: '  alice  ',
      resourceId: '\tid-1\n',
      requestId: ' r ',
      actor: { id: ' u ', username: ' bob ' },
    });
    expect(event).toMatchObject({ resourceTarget: 'alice', resourceId: 'id-1', requestId: 'r', actor: { id: 'u', username: 'bob' } });
  });

  it('keeps the user agent as given, including empty', () => {
    expect(parses({ ...minimal, userAgent: '  x ' }).userAgent).toBe('  x ');
    expect(parses({ ...minimal, userAgent: '' }).userAgent).toBe('');
  });

  it.each([
    '2026-03-15T12:34:56Z',
    '2026-03-15T12:34:56.789Z',
    '2026-03-15T12:34:56.123456Z',
    '2026-03-15T12:34:56+00:00',
    '2026-03-15T12:34:56.789-05:30',
    '2024-02-29T23:59:59+14:00',
  ])('accepts the time %s', (time) => {
    expect(parses({ ...minimal, time }).time).toBe(time);
  });

  it.each([
    '127.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '203.0.113.7',
    '::',
    '::1',
    '2001:db8::1',
    '2001:DB8:0:0:0:0:0:1',
    'fe80::1',
    '::ffff:192.0.2.1',
  ])('accepts the IP %s', (ip) => {
    expect(parses({ ...minimal, ip }).ip).toBe(ip);
  });

  it.each([
    '3f2504e0-4f89-41d3-9a0c-0305e82c3301', // v4
    '0190b3f0-7c9a-7d3e-8f00-123456789abc', // v7
    '3F2504E0-4F89-41D3-9A0C-0305E82C3301', // upper case
    '00000000-0000-0000-0000-000000000000', // nil
  ])('accepts the id %s', (id) => {
    expect(parses({ ...minimal, id }).id).toBe(id);
  });

  it('accepts status codes 100 and 599', () => {
    parses({ ...minimal, statusCode: 100 });
    parses({ ...minimal, statusCode: 599 });
  });

  it('accepts empty diff and metadata objects, and empty diff entries', () => {
    expect(parses({ ...minimal, diff: {}, metadata: {} })).toMatchObject({ diff: {}, metadata: {} });
    expect(parses({ ...minimal, diff: { f: {} } }).diff).toStrictEqual({ f: {} });
  });
});

describe('eventInputSchema: required fields', () => {
  it.each(['action', 'resourceType', 'resourceTarget'] as const)('rejects a missing %s, naming it', (field) => {
    const { [field]: _, ...rest } = minimal;
    expectIssueAt(rest, [field]);
  });

  it('rejects a non-object', () => {
    for (const value of [null, undefined, 'event', 42, [minimal]]) {
      expect(issuesOf(value).map((i) => i.path)).toStrictEqual([[]]);
    }
  });

  it('names every bad field at once', () => {
    const paths = issuesOf({ action: 'nope', resourceType: 'nope' }).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([['action'], ['resourceType'], ['resourceTarget']]));
  });
});

describe('eventInputSchema: each field rejects bad values at its own path', () => {
  const long = (n: number) => 'x'.repeat(n);

  it.each<[string, Record<string, unknown>, Path]>([
    ['action unknown', { action: 'destroy' }, ['action']],
    ['action in upper case', { action: 'LOGIN' }, ['action']],
    ['action not a string', { action: 1 }, ['action']],
    ['resourceType unknown', { resourceType: 'cluster' }, ['resourceType']],
    ['resourceType null', { resourceType: null }, ['resourceType']],
    ['resourceTarget empty', { resourceTarget: '' }, ['resourceTarget']],
    ['resourceTarget only spaces', { resourceTarget: '   ' }, ['resourceTarget']],
    ['resourceTarget too long', { resourceTarget: long(EVENT_LIMITS.textField + 1) }, ['resourceTarget']],
    ['resourceTarget a number', { resourceTarget: 5 }, ['resourceTarget']],
    ['resourceId empty', { resourceId: '' }, ['resourceId']],
    ['resourceId blank', { resourceId: ' \t' }, ['resourceId']],
    ['resourceId too long', { resourceId: long(257) }, ['resourceId']],
    ['resourceId a number', { resourceId: 7 }, ['resourceId']],
    ['resourceId null', { resourceId: null }, ['resourceId']],
    ['requestId empty', { requestId: '' }, ['requestId']],
    ['requestId too long', { requestId: long(257) }, ['requestId']],
    ['userAgent too long', { userAgent: long(EVENT_LIMITS.userAgent + 1) }, ['userAgent']],
    ['userAgent a number', { userAgent: 1 }, ['userAgent']],
    ['statusCode 99', { statusCode: 99 }, ['statusCode']],
    ['statusCode 600', { statusCode: 600 }, ['statusCode']],
    ['statusCode 0', { statusCode: 0 }, ['statusCode']],
    ['statusCode fractional', { statusCode: 200.5 }, ['statusCode']],
    ['statusCode a string', { statusCode: '200' }, ['statusCode']],
    ['statusCode NaN', { statusCode: Number.NaN }, ['statusCode']],
    ['statusCode Infinity', { statusCode: Number.POSITIVE_INFINITY }, ['statusCode']],
    ['id not a uuid', { id: 'not-a-uuid' }, ['id']],
    ['id without dashes', { id: '3f2504e04f8941d39a0c0305e82c3301' }, ['id']],
    ['id with a bad variant', { id: '3f2504e0-4f89-41d3-ca0c-0305e82c3301' }, ['id']],
    ['id too short', { id: '3f2504e0-4f89-41d3-9a0c-0305e82c330' }, ['id']],
    ['id in braces', { id: '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}' }, ['id']],
    ['id empty', { id: '' }, ['id']],
    ['id a number', { id: 42 }, ['id']],
    ['time without offset', { time: '2026-03-15T12:34:56' }, ['time']],
    ['time with milliseconds, no offset', { time: '2026-03-15T12:34:56.789' }, ['time']],
    ['time a date only', { time: '2026-03-15' }, ['time']],
    ['time without seconds', { time: '2026-03-15T12:34Z' }, ['time']],
    ['time with a space', { time: '2026-03-15 12:34:56Z' }, ['time']],
    ['time with a compact offset', { time: '2026-03-15T12:34:56+0200' }, ['time']],
    ['time with an impossible offset', { time: '2026-03-15T12:34:56+25:00' }, ['time']],
    ['time on Feb 30', { time: '2026-02-30T00:00:00Z' }, ['time']],
    ['time at 24:00', { time: '2026-03-15T24:00:00Z' }, ['time']],
    ['time as epoch millis', { time: 1_773_578_096_789 }, ['time']],
    ['time as RFC 2822', { time: 'Sun, 15 Mar 2026 12:34:56 GMT' }, ['time']],
    ['actor null', { actor: null }, ['actor']],
    ['actor a string', { actor: 'alice' }, ['actor']],
    ['actor without username', { actor: { id: 'u1' } }, ['actor', 'username']],
    ['actor username empty', { actor: { username: ' ' } }, ['actor', 'username']],
    ['actor username too long', { actor: { username: long(257) } }, ['actor', 'username']],
    ['actor id empty', { actor: { username: 'a', id: '' } }, ['actor', 'id']],
    ['actor id too long', { actor: { username: 'a', id: long(257) } }, ['actor', 'id']],
    ['actor email invalid', { actor: { username: 'a', email: 'not-an-email' } }, ['actor', 'email']],
    ['actor email empty', { actor: { username: 'a', email: '' } }, ['actor', 'email']],
    ['actor email too long', { actor: { username: 'a', email: `a@${'b'.repeat(315)}.com` } }, ['actor', 'email']],
    ['actor extra key', { actor: { username: 'a', role: 'admin' } }, ['actor']],
    ['diff an array', { diff: [] }, ['diff']],
    ['diff null', { diff: null }, ['diff']],
    ['diff entry null', { diff: { f: null } }, ['diff', 'f']],
    ['diff entry a string', { diff: { f: 'changed' } }, ['diff', 'f']],
    ['diff entry extra key', { diff: { f: { old: 1, new: 2, by: 'x' } } }, ['diff', 'f']],
    ['diff entry secret not boolean', { diff: { f: { secret: 'yes' } } }, ['diff', 'f', 'secret']],
    ['diff field name empty', { diff: { '': { old: 1 } } }, ['diff', '']],
    ['diff field name too long', { diff: { [long(129)]: { old: 1 } } }, ['diff', long(129)]],
    ['metadata an array', { metadata: [1] }, ['metadata']],
    ['metadata a string', { metadata: '{}' }, ['metadata']],
    ['metadata null', { metadata: null }, ['metadata']],
  ])('%s', (_, patch, path) => {
    expectIssueAt({ ...minimal, ...patch }, path);
  });

  it.each([
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.4/24',
    '1.2.3.4:80',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '[::1]',
    'fe80::1%eth0',
    '2001:db8::g',
    '1:2:3:4:5:6:7:8:9',
    'localhost',
    'example.com',
    '',
  ])('rejects the IP %j at ip, with the schema message', (ip) => {
    const issue = expectIssueAt({ ...minimal, ip }, ['ip']);
    expect(issue.message).toBe('must be an IPv4 or IPv6 address');
  });

  it('rejects a non-string IP at ip', () => {
    expectIssueAt({ ...minimal, ip: 2130706433 }, ['ip']);
    expectIssueAt({ ...minimal, ip: null }, ['ip']);
  });

  it('names the unknown action and lists the valid ones', () => {
    const issue = expectIssueAt({ ...minimal, action: 'destroy' }, ['action']);
    expect(issue.message).toContain('"destroy"');
    for (const action of AUDIT_ACTIONS) expect(issue.message).toContain(action);
  });

  it('names the unknown resource type and lists the valid ones', () => {
    const issue = expectIssueAt({ ...minimal, resourceType: 'cluster' }, ['resourceType']);
    expect(issue.message).toContain('"cluster"');
    for (const type of RESOURCE_TYPES) expect(issue.message).toContain(type);
  });
});

describe('eventInputSchema: text limits are on the trimmed value', () => {
  it(`accepts ${EVENT_LIMITS.textField} characters of resourceTarget, padded with spaces`, () => {
    const target = 'x'.repeat(EVENT_LIMITS.textField);
    expect(parses({ ...minimal, resourceTarget: `  ${target}  ` }).resourceTarget).toBe(target);
  });

  it('accepts 256 characters for ids and usernames', () => {
    const v = 'y'.repeat(256);
    parses({ ...minimal, resourceId: v, requestId: v, actor: { id: v, username: v } });
  });

  it(`accepts a ${EVENT_LIMITS.userAgent}-character user agent`, () => {
    parses({ ...minimal, userAgent: 'u'.repeat(EVENT_LIMITS.userAgent) });
  });

  it('accepts a 320-character email', () => {
    const email = `a@${'b'.repeat(314)}.com`;
    expect(email).toHaveLength(320);
    parses({ ...minimal, actor: { username: 'a', email } });
  });
});

describe('eventInputSchema: strict objects', () => {
  it.each([
    ['an unknown key', { extra: 1 }],
    ['a snake_case alias', { resource_type: 'user' }],
    ['seq, which the server assigns', { seq: 1 }],
    ['recordedAt, which the server assigns', { recordedAt: '2026-01-01T00:00:00Z' }],
    ['an undefined-valued unknown key', { extra: undefined }],
  ])('rejects %s, naming the key', (_, patch) => {
    const issue = expectIssueAt({ ...minimal, ...patch }, []);
    expect(issue.code).toBe('unrecognized_keys');
    expect((issue as { keys?: string[] }).keys).toStrictEqual(Object.keys(patch));
  });

  it('rejects an unknown key inside actor, at actor', () => {
    const issue = expectIssueAt({ ...minimal, actor: { username: 'a', name: 'Alice' } }, ['actor']);
    expect((issue as { keys?: string[] }).keys).toStrictEqual(['name']);
  });

  it('rejects an unknown key inside a diff entry, at that entry', () => {
    const issue = expectIssueAt({ ...minimal, diff: { f: { old: 1, value: 2 } } }, ['diff', 'f']);
    expect((issue as { keys?: string[] }).keys).toStrictEqual(['value']);
  });

  it('lets metadata hold any keys and JSON values', () => {
    const metadata = { anything: { goes: [1, 'two', null, true, { deep: { deeper: 'x' } }] }, 'key with spaces': 1 };
    expect(parses({ ...minimal, metadata }).metadata).toStrictEqual(metadata);
  });
});

describe('eventInputSchema: metadata size', () => {
  const overhead = JSON.stringify({ k: '' }).length; // {"k":""}

  it(`accepts metadata of exactly ${EVENT_LIMITS.metadataBytes} bytes of JSON`, () => {
    const metadata = { k: 'a'.repeat(EVENT_LIMITS.metadataBytes - overhead) };
    expect(JSON.stringify(metadata)).toHaveLength(EVENT_LIMITS.metadataBytes);
    parses({ ...minimal, metadata });
  });

  it('rejects metadata one byte over, at metadata', () => {
    const metadata = { k: 'a'.repeat(EVENT_LIMITS.metadataBytes - overhead + 1) };
    const issue = expectIssueAt({ ...minimal, metadata }, ['metadata']);
    expect(issue.message).toContain(String(EVENT_LIMITS.metadataBytes));
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 4,093 two-byte characters: 4,101 characters of JSON, 8,194 bytes.
    const metadata = { k: 'é'.repeat(4093) };
    expect(JSON.stringify(metadata).length).toBeLessThan(EVENT_LIMITS.metadataBytes);
    expectIssueAt({ ...minimal, metadata }, ['metadata']);
    parses({ ...minimal, metadata: { k: 'é'.repeat(4092) } }); // 8,192 bytes
  });

  it('counts the size of nested values and keys', () => {
    const metadata = { [`${'k'.repeat(5000)}`]: { nested: 'v'.repeat(4000) } };
    expectIssueAt({ ...minimal, metadata }, ['metadata']);
  });

  it('rejects large metadata well over the limit', () => {
    expectIssueAt({ ...minimal, metadata: { blob: 'z'.repeat(1_000_000) } }, ['metadata']);
  });
});

describe('eventInputSchema: diff limits', () => {
  const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { old: i, new: i + 1 }]));

  it(`accepts ${EVENT_LIMITS.diffFields} fields`, () => {
    expect(Object.keys(parses({ ...minimal, diff: fields(EVENT_LIMITS.diffFields) }).diff!)).toHaveLength(
      EVENT_LIMITS.diffFields,
    );
  });

  it(`rejects ${EVENT_LIMITS.diffFields + 1} fields, at diff`, () => {
    const issue = expectIssueAt({ ...minimal, diff: fields(EVENT_LIMITS.diffFields + 1) }, ['diff']);
    expect(issue.message).toContain(`at most ${EVENT_LIMITS.diffFields} fields`);
  });

  it('accepts a 128-character field name', () => {
    parses({ ...minimal, diff: { ['n'.repeat(128)]: { new: 1 } } });
  });

  const overhead = JSON.stringify({ f: { new: '' } }).length; // {"f":{"new":""}}

  it(`accepts a diff of exactly ${EVENT_LIMITS.diffBytes} bytes of JSON`, () => {
    const diff = { f: { new: 'a'.repeat(EVENT_LIMITS.diffBytes - overhead) } };
    expect(JSON.stringify(diff)).toHaveLength(EVENT_LIMITS.diffBytes);
    parses({ ...minimal, diff });
  });

  it('rejects a diff one byte over, at diff', () => {
    const diff = { f: { new: 'a'.repeat(EVENT_LIMITS.diffBytes - overhead + 1) } };
    const issue = expectIssueAt({ ...minimal, diff }, ['diff']);
    expect(issue.message).toContain(String(EVENT_LIMITS.diffBytes));
  });

  it('rejects a diff over the byte limit spread across many small fields', () => {
    const diff = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`f${i}`, { old: 'o'.repeat(400), new: 'n'.repeat(400) }]),
    );
    expect(JSON.stringify(diff).length).toBeGreaterThan(EVENT_LIMITS.diffBytes);
    expectIssueAt({ ...minimal, diff }, ['diff']);
  });

  it('does not count the diff against the metadata limit, or the reverse', () => {
    parses({
      ...minimal,
      diff: { f: { new: 'a'.repeat(EVENT_LIMITS.diffBytes - overhead) } },
      metadata: { k: 'b'.repeat(EVENT_LIMITS.metadataBytes - 8) },
    });
  });
});

describe('eventInputSchema: pathological JSON', () => {
  // 100,000 levels of [] is 200 kB of JSON that JSON.parse accepts but JSON.stringify cannot
  // serialize without overflowing the stack.
  const deep = () => JSON.parse(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`) as Record<string, unknown>;

  it('reports too deeply nested metadata as an issue, without throwing', () => {
    expect(() => eventInputSchema.safeParse({ ...minimal, metadata: deep() })).not.toThrow();
    expectIssueAt({ ...minimal, metadata: deep() }, ['metadata']);
  });

  it('reports a too deeply nested diff value as an issue, without throwing', () => {
    expectIssueAt({ ...minimal, diff: { f: { new: deep() } } }, ['diff']);
  });

  it('accepts metadata nested up to the depth limit, and not deeper', () => {
    const nested = (levels: number) => JSON.parse(`{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`) as Record<string, unknown>;
    parses({ ...minimal, metadata: nested(EVENT_LIMITS.jsonDepth) });
    expect(issuesOf({ ...minimal, metadata: nested(EVENT_LIMITS.jsonDepth + 1) }).map((i) => [i.path, i.message])).toStrictEqual([
      [['metadata'], `nests deeper than ${EVENT_LIMITS.jsonDepth} levels`],
    ]);
  });

  it.each([
    ['a NUL character', 'a\u0000b', 'contains a NUL character'],
    ['a lone high surrogate', 'a\ud800b', 'contains an unpaired UTF-16 surrogate'],
    ['a lone low surrogate', '\udc00', 'contains an unpaired UTF-16 surrogate'],
  ])('refuses text Postgres cannot store exactly: %s', (_name, bad, message) => {
    for (const [event, path] of [
      [{ ...minimal, resourceTarget: bad }, ['resourceTarget']],
      [{ ...minimal, userAgent: bad }, ['userAgent']],
      [{ ...minimal, actor: { username: bad } }, ['actor', 'username']],
      [{ ...minimal, metadata: { note: bad } }, ['metadata']],
      [{ ...minimal, metadata: { [bad]: 1 } }, ['metadata']],
      [{ ...minimal, diff: { f: { new: [1, { deep: bad }] } } }, ['diff']],
    ] as const) {
      expect(issuesOf(event).map((i) => [i.path, i.message])).toStrictEqual([[path, message]]);
    }
  });

  it('keeps paired surrogates (emoji) and other unicode', () => {
    parses({ ...minimal, resourceTarget: 'ws-🚀-ünï', metadata: { note: '😀 ✓ 中文' } });
  });

  it('refuses a __proto__ key rather than dropping it or setting a prototype', () => {
    expectIssueAt({ ...minimal, metadata: JSON.parse('{"__proto__":{"polluted":1},"a":1}') }, ['metadata', '__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('eventBatchSchema', () => {
  it('rejects an empty batch', () => {
    const issues = issuesOf([], eventBatchSchema);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toStrictEqual([]);
    expect(issues[0]!.message).toBe('a batch needs at least one event');
  });

  it('accepts a batch of one', () => {
    expect(eventBatchSchema.parse([minimal])).toStrictEqual([minimal]);
  });

  it(`accepts a batch of ${EVENT_LIMITS.batchSize}`, () => {
    const batch = Array.from({ length: EVENT_LIMITS.batchSize }, (_, i) => ({ ...full, resourceTarget: `t${i}`, id: undefined }));
    expect(eventBatchSchema.safeParse(batch).success).toBe(true);
  });

  it(`rejects a batch of ${EVENT_LIMITS.batchSize + 1}`, () => {
    const issues = issuesOf(Array(EVENT_LIMITS.batchSize + 1).fill(minimal), eventBatchSchema);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toStrictEqual([]);
    expect(issues[0]!.message).toBe(`a batch holds at most ${EVENT_LIMITS.batchSize} events`);
  });

  it('names the index and field of a bad event in a batch', () => {
    const issues = issuesOf([minimal, minimal, { ...minimal, action: 'nope' }, { ...minimal, ip: 'x' }], eventBatchSchema);
    expect(issues.map((i) => i.path)).toStrictEqual([
      [2, 'action'],
      [3, 'ip'],
    ]);
  });

  it('rejects a non-array', () => {
    for (const value of [minimal, null, 'x', { 0: minimal, length: 1 }]) {
      expect(issuesOf(value, eventBatchSchema).map((i) => i.path)).toStrictEqual([[]]);
    }
  });
});

describe('keys named __proto__', () => {
  // JSON.parse keeps `__proto__` as an own key, as a request body arrives.
  const withJson = (json: string) => ({ ...minimal, ...JSON.parse(json) });

  it('are refused anywhere in metadata and diff, with the path to the key', () => {
    const cases: [string, Path][] = [
      ['{"metadata":{"__proto__":{"approvedBy":"x"}}}', ['metadata', '__proto__']],
      ['{"metadata":{"a":[1,{"b":{"__proto__":1}}]}}', ['metadata', 'a', 1, 'b', '__proto__']],
      ['{"diff":{"__proto__":{"new":1}}}', ['diff', '__proto__']],
      ['{"diff":{"role":{"new":{"__proto__":{"x":1}}}}}', ['diff', 'role', 'new', '__proto__']],
    ];
    for (const [json, path] of cases) {
      expect(expectIssueAt(withJson(json), path).message).toBe('a key named __proto__ is not accepted');
    }
  });

  it('other Object.prototype names are ordinary keys, kept as sent', () => {
    const metadata = { constructor: { name: 'x' }, toString: 'y', hasOwnProperty: 1, prototype: [1] };
    expect(eventInputSchema.parse({ ...minimal, metadata }).metadata).toStrictEqual(metadata);
  });
});
