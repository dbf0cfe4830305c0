import { describe, expect, it } from 'vitest';
import {
  FILTER_FIELDS,
  QUERY_KEYS,
  QUERY_LIMITS,
  formatQueryError,
  parseAuditQuery,
  type AuditFilter,
  type ParseOptions,
  type QueryError,
} from '../../shared/query.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';

function ok(query: string, options?: ParseOptions): AuditFilter {
  const result = parseAuditQuery(query, options);
  if (!result.ok) expect.fail(`expected ${JSON.stringify(query)} to parse, got: ${formatQueryError(result.error)}`);
  return result.filter;
}

function err(query: string, options?: ParseOptions): QueryError {
  const result = parseAuditQuery(query, options);
  if (result.ok) expect.fail(`expected ${JSON.stringify(query)} to fail, got: ${JSON.stringify(result.filter)}`);
  return result.error;
}

/** The error names exactly `term`, found at its position in the original query. */
function expectErrorAt(query: string, term: string, message?: RegExp): QueryError {
  const error = err(query);
  expect(error.term).toBe(term);
  expect(error.start).toBe(query.indexOf(term));
  expect(error.end).toBe(query.indexOf(term) + term.length);
  expect(query.slice(error.start, error.end)).toBe(term);
  if (message) expect(error.message).toMatch(message);
  return error;
}

describe('parseAuditQuery: empty and whitespace', () => {
  it.each(['', ' ', '   ', '\t', '\n', ' \t \n '])('%j is an empty filter', (q) => {
    expect(parseAuditQuery(q)).toStrictEqual({ ok: true, filter: { fields: {} } });
  });

  it('splits on tabs, newlines and runs of spaces, and ignores leading/trailing whitespace', () => {
    const filter = ok('  \taction:login \t\t  username:alice\n\nworkspace   ');
    expect(filter).toStrictEqual({
      fields: {
        action: { include: ['login'] },
        username: { include: ['alice'] },
        resource_type: { include: ['workspace'] },
      },
    });
  });

  it('accepts options omitted and an empty options object alike', () => {
    expect(parseAuditQuery('action:login')).toStrictEqual(parseAuditQuery('action:login', {}));
  });
});

describe('parseAuditQuery: every key', () => {
  it.each([
    ['action:delete', 'action', 'delete'],
    ['resource_type:workspace', 'resource_type', 'workspace'],
    ['resource_id:7f3c0a9e-1234-4abc-9def-0123456789ab', 'resource_id', '7f3c0a9e-1234-4abc-9def-0123456789ab'],
    ['resource_id:not-a-uuid-42', 'resource_id', 'not-a-uuid-42'],
    ['resource_target:dev@coder.com', 'resource_target', 'dev@coder.com'],
    ['username:alice', 'username', 'alice'],
    ['email:alice@example.com', 'email', 'alice@example.com'],
    ['request_id:req-123', 'request_id', 'req-123'],
  ] as const)('%s', (q, field, value) => {
    expect(ok(q)).toStrictEqual({ fields: { [field]: { include: [value] } } });
  });

  it('accepts every action of the vocabulary', () => {
    for (const action of AUDIT_ACTIONS) {
      expect(ok(`action:${action}`).fields.action).toStrictEqual({ include: [action] });
    }
  });

  it('accepts every resource type of the vocabulary, keyed and bare', () => {
    for (const type of RESOURCE_TYPES) {
      expect(ok(`resource_type:${type}`).fields.resource_type).toStrictEqual({ include: [type] });
      expect(ok(type).fields.resource_type).toStrictEqual({ include: [type] });
    }
  });

  it('accepts all keys in one query', () => {
    const filter = ok(
      'action:write resource_type:user resource_id:u1 resource_target:bob username:alice email:a@b.c ' +
        'request_id:r1 date_from:2026-01-01 date_to:2026-01-31 since:7d',
    );
    expect(filter).toStrictEqual({
      fields: {
        action: { include: ['write'] },
        resource_type: { include: ['user'] },
        resource_id: { include: ['u1'] },
        resource_target: { include: ['bob'] },
        username: { include: ['alice'] },
        email: { include: ['a@b.c'] },
        request_id: { include: ['r1'] },
      },
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-31T23:59:59.999Z',
      sinceMs: 7 * 86_400_000,
    });
  });

  it('QUERY_KEYS covers every filter field plus the time keys, and nothing else parses', () => {
    expect(Object.keys(QUERY_KEYS).sort()).toStrictEqual([...FILTER_FIELDS, 'date_from', 'date_to', 'since'].sort());
  });

  it.each(['foo:bar', 'user:alice', 'actor:alice', 'resource:workspace', 'date:2026-01-01', 'status_code:200'])(
    'rejects the unknown key in %s, listing valid keys',
    (q) => {
      const error = expectErrorAt(q, q, /unknown key/);
      for (const key of Object.keys(QUERY_KEYS)) expect(error.message).toContain(key);
    },
  );

  it.each(['__proto__:x', 'constructor:x', 'toString:x', 'hasOwnProperty:x'])(
    'rejects the prototype-ish key %s as unknown',
    (q) => {
      expectErrorAt(q, q, /unknown key/);
    },
  );

  it('rejects an empty key', () => {
    expectErrorAt(':login', ':login', /unknown key ""/);
  });
});

describe('parseAuditQuery: action and resource type vocabulary', () => {
  it('rejects an unknown action, naming it and listing the valid ones', () => {
    const error = expectErrorAt('username:alice action:destroy', 'action:destroy', /unknown action "destroy"/);
    for (const action of AUDIT_ACTIONS) expect(error.message).toContain(action);
  });

  it('rejects an unknown resource type, naming it and listing the valid ones', () => {
    const error = expectErrorAt('resource_type:cluster', 'resource_type:cluster', /unknown resource type "cluster"/);
    for (const type of RESOURCE_TYPES) expect(error.message).toContain(type);
  });

  it('rejects an unknown bare word as a resource type', () => {
    expectErrorAt('action:login alice', 'alice', /unknown resource type "alice"/);
  });

  it('rejects one unknown value among several', () => {
    expectErrorAt('action:login,nope,delete', 'action:login,nope,delete', /unknown action "nope"/);
  });

  it('rejects an unknown negated action', () => {
    expectErrorAt('-action:nope', '-action:nope', /unknown action "nope"/);
  });

  it('does not validate free-text fields against the vocabulary', () => {
    expect(ok('resource_target:delete').fields.resource_target).toStrictEqual({ include: ['delete'] });
    expect(ok('username:workspace').fields.username).toStrictEqual({ include: ['workspace'] });
  });
});

describe('parseAuditQuery: case-insensitivity', () => {
  it('lowercases keys and values', () => {
    expect(ok('ACTION:Login Resource_Type:WORKSPACE UserName:Alice EMAIL:Alice@Example.COM')).toStrictEqual({
      fields: {
        action: { include: ['login'] },
        resource_type: { include: ['workspace'] },
        username: { include: ['alice'] },
        email: { include: ['alice@example.com'] },
      },
    });
  });

  it('lowercases quoted values and ids too', () => {
    expect(ok('resource_target:"My WS" request_id:ABC-Def').fields).toStrictEqual({
      resource_target: { include: ['my ws'] },
      request_id: { include: ['abc-def'] },
    });
  });

  it('lowercases bare words and negated terms', () => {
    expect(ok('WorkSpace -ACTION:LOGIN').fields).toStrictEqual({
      resource_type: { include: ['workspace'] },
      action: { exclude: ['login'] },
    });
  });

  it('lowercases since units and date keys', () => {
    expect(ok('SINCE:15M DATE_FROM:2026-01-01')).toStrictEqual({
      fields: {},
      sinceMs: 15 * 60_000,
      from: '2026-01-01T00:00:00.000Z',
    });
  });

  it('keeps the original case in the error term', () => {
    const q = 'USERNAME:Alice ACTION:Destroy';
    expectErrorAt(q, 'ACTION:Destroy', /unknown action "destroy"/);
  });
});

describe('parseAuditQuery: several values per key', () => {
  it('splits values on commas', () => {
    expect(ok('action:cordon,delete').fields.action).toStrictEqual({ include: ['cordon', 'delete'] });
  });

  it('keeps the order given and drops duplicates', () => {
    expect(ok('action:delete,cordon,delete,cordon').fields.action).toStrictEqual({ include: ['delete', 'cordon'] });
  });

  it('drops duplicates that differ only in case', () => {
    expect(ok('username:Alice,ALICE,alice').fields.username).toStrictEqual({ include: ['alice'] });
  });

  it('works on every filter field', () => {
    for (const field of FILTER_FIELDS) {
      const [a, b] = field === 'action' ? ['login', 'delete'] : field === 'resource_type' ? ['user', 'token'] : ['x1', 'x2'];
      expect(ok(`${field}:${a},${b}`).fields[field]).toStrictEqual({ include: [a, b] });
    }
  });

  it('does not split a bare word on commas (it is one resource type)', () => {
    expectErrorAt('workspace,user', 'workspace,user', /unknown resource type "workspace,user"/);
  });

  it(`accepts exactly ${QUERY_LIMITS.valuesPerKey} values and rejects one more`, () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`).join(',');
    expect(ok(`username:${values(QUERY_LIMITS.valuesPerKey)}`).fields.username?.include).toHaveLength(
      QUERY_LIMITS.valuesPerKey,
    );
    const q = `username:${values(QUERY_LIMITS.valuesPerKey + 1)}`;
    expectErrorAt(q, q, new RegExp(`more than ${QUERY_LIMITS.valuesPerKey} values`));
  });

  it('counts values before removing duplicates', () => {
    const q = `action:${Array(QUERY_LIMITS.valuesPerKey + 1).fill('login').join(',')}`;
    expectErrorAt(q, q, /more than 100 values/);
  });

  it('caps the merged list of negated values for a key too', () => {
    const values = (from: number, n: number) => Array.from({ length: n }, (_, i) => `u${from + i}`).join(',');
    // 60 + 41 distinct values: each term is within the limit, the merged list is not.
    const first = `-username:${values(0, 60)}`;
    const second = `-username:${values(60, 41)}`;
    const q = `${first} ${second}`;
    expect(q.length).toBeLessThanOrEqual(QUERY_LIMITS.length);
    expectErrorAt(q, second, /more than 100 values/);
    // Overlapping values merge and stay within the limit.
    expect(ok(`${first} -username:${values(0, 60)}`).fields.username?.exclude).toHaveLength(60);
  });
});

describe('parseAuditQuery: negation', () => {
  it('excludes with a leading -', () => {
    expect(ok('-action:login').fields).toStrictEqual({ action: { exclude: ['login'] } });
  });

  it('negates several values at once', () => {
    expect(ok('-action:login,connect').fields.action).toStrictEqual({ exclude: ['login', 'connect'] });
  });

  it('merges negated terms for one key, without duplicates', () => {
    expect(ok('-action:login -action:connect,login -action:ssh').fields.action).toStrictEqual({
      exclude: ['login', 'connect', 'ssh'],
    });
  });

  it('mixes include and exclude on one key, in either order', () => {
    const expected = { include: ['workspace', 'user'], exclude: ['token'] };
    expect(ok('resource_type:workspace,user -resource_type:token').fields.resource_type).toStrictEqual(expected);
    expect(ok('-resource_type:token resource_type:workspace,user').fields.resource_type).toStrictEqual(expected);
  });

  it('negates a bare word (a resource type)', () => {
    expect(ok('-workspace').fields).toStrictEqual({ resource_type: { exclude: ['workspace'] } });
  });

  it('negates free-text fields', () => {
    expect(ok('-username:me -email:bot@x.io -request_id:r1', { me: 'alice' }).fields).toStrictEqual({
      username: { exclude: ['alice'] },
      email: { exclude: ['bot@x.io'] },
      request_id: { exclude: ['r1'] },
    });
  });

  it('negates a quoted value', () => {
    expect(ok('-resource_target:"my ws"').fields).toStrictEqual({ resource_target: { exclude: ['my ws'] } });
  });

  it('treats a lone - as a bare word and rejects it as a resource type', () => {
    expectErrorAt('-', '-', /unknown resource type "-"/);
    expectErrorAt('action:login -', '-', /unknown resource type "-"/);
  });

  it('does not join a - separated by whitespace to the next term', () => {
    const error = expectErrorAt('- action:login', '-', /unknown resource type "-"/);
    expect(error.end).toBe(1);
    expectErrorAt('-\taction:login', '-');
  });

  it('negates only once: -- leaves a - in the key', () => {
    expectErrorAt('--action:login', '--action:login', /unknown key "-action"/);
  });

  it('keeps a - inside a value', () => {
    expect(ok('resource_target:my-ws').fields.resource_target).toStrictEqual({ include: ['my-ws'] });
  });
});

describe('parseAuditQuery: repeated keys', () => {
  it('rejects a repeated positive key, suggesting key:a,b', () => {
    const q = 'action:login username:bob action:delete';
    const error = expectErrorAt(q, 'action:delete', /repeats action/);
    expect(error.message).toContain('action:a,b');
    expect(error.start).toBe(q.lastIndexOf('action:delete'));
  });

  it('rejects a repeated identical positive key', () => {
    const q = 'username:bob username:bob';
    const error = err(q);
    expect(error.start).toBe(13);
    expect(error.end).toBe(q.length);
    expect(error.message).toMatch(/repeats username/);
  });

  it('rejects two bare words, as a repeated resource_type', () => {
    const error = expectErrorAt('workspace user', 'user', /repeats resource_type/);
    expect(error.message).toContain('resource_type:a,b');
  });

  it('rejects a bare word plus resource_type:', () => {
    expectErrorAt('workspace resource_type:user', 'resource_type:user', /repeats resource_type/);
  });

  it('allows one positive plus any number of negated terms per key', () => {
    expect(ok('-action:login action:delete,write -action:ssh').fields.action).toStrictEqual({
      include: ['delete', 'write'],
      exclude: ['login', 'ssh'],
    });
  });
});

describe('parseAuditQuery: quotes', () => {
  it('keeps spaces inside double quotes', () => {
    expect(ok('resource_target:"my  dev\tworkspace"').fields.resource_target).toStrictEqual({
      include: ['my  dev\tworkspace'],
    });
  });

  it('never splits a quoted value on commas', () => {
    expect(ok('resource_target:"a,b"').fields.resource_target).toStrictEqual({ include: ['a,b'] });
  });

  it('splits on commas outside quotes next to a quoted value', () => {
    expect(ok('resource_target:"a,b",c,"d e"').fields.resource_target).toStrictEqual({ include: ['a,b', 'c', 'd e'] });
  });

  it('allows colons inside quotes', () => {
    expect(ok('resource_target:"ns:name" request_id:"a:b:c"').fields).toStrictEqual({
      resource_target: { include: ['ns:name'] },
      request_id: { include: ['a:b:c'] },
    });
  });

  it('joins quoted and unquoted parts of one value', () => {
    expect(ok('resource_target:my"  "ws').fields.resource_target).toStrictEqual({ include: ['my  ws'] });
  });

  it('quotes a known value', () => {
    expect(ok('action:"login"').fields.action).toStrictEqual({ include: ['login'] });
  });

  it('quotes a bare word', () => {
    expect(ok('"workspace"').fields.resource_type).toStrictEqual({ include: ['workspace'] });
    expectErrorAt('"my workspace"', '"my workspace"', /unknown resource type "my workspace"/);
  });

  it('keeps whitespace at the edges of a quoted value', () => {
    expect(ok('resource_target:" x "').fields.resource_target).toStrictEqual({ include: [' x '] });
  });

  it('rejects a quoted key', () => {
    expectErrorAt('"action":login', '"action":login', /quoted key/);
    expectErrorAt('ac"tion":login', 'ac"tion":login', /quoted key/);
  });

  it('rejects an unclosed quote, naming the rest of the query from the term', () => {
    const q = 'action:login resource_target:"my ws username:bob';
    const error = err(q);
    expect(error.message).toMatch(/unclosed double quote/);
    expect(error.start).toBe(q.indexOf('resource_target'));
    expect(error.end).toBe(q.length);
    expect(error.term).toBe('resource_target:"my ws username:bob');
  });

  it('rejects a lone quote', () => {
    const error = err('"');
    expect(error).toMatchObject({ term: '"', start: 0, end: 1 });
    expect(error.message).toMatch(/unclosed/);
  });

  it('rejects an empty quoted value and a whitespace-only quoted value', () => {
    expectErrorAt('resource_target:""', 'resource_target:""', /no value/);
    expectErrorAt('resource_target:"  "', 'resource_target:"  "', /no value/);
    expectErrorAt('""', '""', /no value/);
  });
});

describe('parseAuditQuery: colons', () => {
  it('rejects an unquoted second colon', () => {
    expectErrorAt('username:bob resource_target:a:b', 'resource_target:a:b', /more than one ':'/);
  });

  it('rejects a second colon after a quoted value', () => {
    expectErrorAt('resource_target:"a b":c', 'resource_target:"a b":c', /more than one ':'/);
  });

  it('spans the whole term, quotes included, in a colon error', () => {
    const q = '  request_id:a:"x y" action:login';
    const error = expectErrorAt(q, 'request_id:a:"x y"', /more than one ':'/);
    expect(error.start).toBe(2);
  });
});

describe('parseAuditQuery: empty values', () => {
  it.each(['action:', 'username:', 'date_from:', 'since:', '-action:'])('%s has no value', (q) => {
    expectErrorAt(q, q, /has no value/);
  });

  it.each(['action:login,,delete', 'action:login,', 'action:,login', 'username:a,"",b', 'action:,'])(
    '%s has an empty value between commas',
    (q) => {
      expectErrorAt(q, q, /empty value between commas/);
    },
  );
});

describe('parseAuditQuery: username:me', () => {
  it('substitutes the caller, lowercased', () => {
    expect(ok('username:me', { me: 'Alice' }).fields.username).toStrictEqual({ include: ['alice'] });
  });

  it('substitutes case-insensitively and inside lists, deduplicating', () => {
    expect(ok('username:ME,bob,alice', { me: 'alice' }).fields.username).toStrictEqual({ include: ['alice', 'bob'] });
  });

  it('substitutes in a negated term', () => {
    expect(ok('-username:me', { me: 'alice' }).fields.username).toStrictEqual({ exclude: ['alice'] });
  });

  it('substitutes a quoted me', () => {
    expect(ok('username:"me"', { me: 'alice' }).fields.username).toStrictEqual({ include: ['alice'] });
  });

  it('keeps the literal "me" without the option (the server then refuses it)', () => {
    expect(ok('username:me').fields.username).toStrictEqual({ include: ['me'] });
    expect(ok('username:me', {}).fields.username).toStrictEqual({ include: ['me'] });
  });

  it('substitutes only username, not other fields', () => {
    expect(ok('email:me resource_target:me', { me: 'alice' }).fields).toStrictEqual({
      email: { include: ['me'] },
      resource_target: { include: ['me'] },
    });
  });

  it('does not substitute values that merely contain me', () => {
    expect(ok('username:meg,"me "', { me: 'alice' }).fields.username).toStrictEqual({ include: ['meg', 'me '] });
  });
});

describe('parseAuditQuery: dates', () => {
  it('date_from starts at 00:00:00.000 UTC of its day', () => {
    expect(ok('date_from:2026-03-15').from).toBe('2026-03-15T00:00:00.000Z');
  });

  it('date_to ends at 23:59:59.999 UTC of its day, inclusive', () => {
    expect(ok('date_to:2026-03-15').to).toBe('2026-03-15T23:59:59.999Z');
  });

  it('the same day for both is one whole day', () => {
    const filter = ok('date_from:2026-03-15 date_to:2026-03-15');
    expect(filter.from).toBe('2026-03-15T00:00:00.000Z');
    expect(filter.to).toBe('2026-03-15T23:59:59.999Z');
    expect(Date.parse(filter.to!) - Date.parse(filter.from!)).toBe(86_400_000 - 1);
  });

  it('is unaffected by DST-style month ends and year ends', () => {
    expect(ok('date_to:2025-12-31').to).toBe('2025-12-31T23:59:59.999Z');
    expect(ok('date_to:2026-03-29').to).toBe('2026-03-29T23:59:59.999Z');
    expect(ok('date_from:2026-01-01').from).toBe('2026-01-01T00:00:00.000Z');
  });

  it('accepts leap days in leap years only', () => {
    expect(ok('date_from:2024-02-29').from).toBe('2024-02-29T00:00:00.000Z');
    expect(ok('date_to:2000-02-29').to).toBe('2000-02-29T23:59:59.999Z');
    expectErrorAt('date_from:2026-02-29', 'date_from:2026-02-29', /invalid date "2026-02-29"/);
    expectErrorAt('date_to:1900-02-29', 'date_to:1900-02-29', /invalid date/);
  });

  it.each([
    '2026-02-30',
    '2026-02-31',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-01-32',
    '2026-1-5',
    '26-01-05',
    '20260105',
    '2026/01/05',
    '2026-01-05t00:00',
    '2026-01-05z',
    ' 2026-01-05',
    'yesterday',
    '+02026-01-05',
    '２０２６-01-05',
  ])('rejects the invalid date %j', (value) => {
    const q = `date_from:"${value}"`;
    const error = expectErrorAt(q, q, /invalid date/);
    expect(error.message).toContain('YYYY-MM-DD');
    expect(err(`date_to:"${value}"`).message).toMatch(/invalid date/);
  });

  it('takes exact ISO 8601 date-times with Z or an offset, as given (Coder\'s days still work)', () => {
    expect(ok('date_from:2026-12-02T10:00:00Z date_to:2026-12-02T15:00:00Z')).toMatchObject({
      from: '2026-12-02T10:00:00.000Z',
      to: '2026-12-02T15:00:00.000Z',
    });
    expect(ok('date_from:2026-12-02T10:00:00+02:00').from).toBe('2026-12-02T08:00:00.000Z');
    expect(ok('date_from:2026-12-02T01:30-0330').from).toBe('2026-12-02T05:00:00.000Z');
    expect(ok('date_to:2026-12-31T23:30:00-01:00').to).toBe('2027-01-01T00:30:00.000Z');
    expect(ok('date_from:2026-12-02T10:00:00.25Z').from).toBe('2026-12-02T10:00:00.250Z');
    expect(ok('date_from:"2026-12-02T10:00:00Z"').from).toBe('2026-12-02T10:00:00.000Z');
    // Mixed: a day and an instant.
    expect(ok('date_from:2026-12-02 date_to:2026-12-02T12:00:00Z')).toMatchObject({ from: '2026-12-02T00:00:00.000Z', to: '2026-12-02T12:00:00.000Z' });
    expectErrorAt('date_from:2026-12-02T15:00:00Z date_to:2026-12-02T10:00:00Z', 'date_to:2026-12-02T10:00:00Z', /date_to earlier than date_from/);
  });

  it.each([
    ['date_from:2026-12-02T10:00:00', /add Z or an offset/],
    ['date_from:2026-12-02T24:00:00Z', /invalid time of day/],
    ['date_from:2026-12-02T10:60Z', /invalid time of day/],
    ['date_from:2026-02-30T10:00:00Z', /invalid date "2026-02-30"/],
    ['date_from:2026-12-02T10:00:00+25:00', /invalid offset/],
    ['date_to:2026-12-02T10', /invalid date-time/],
  ])('rejects the bad date-time %s', (q, message) => {
    expectErrorAt(q, q, message);
  });

  it('still refuses a second colon in other keys', () => {
    expectErrorAt('username:a:b', 'username:a:b', /more than one ':'/);
  });

  it('maps years 0000-0099 to themselves, not to the 1900s', () => {
    expect(ok('date_from:0099-01-01').from).toBe('0099-01-01T00:00:00.000Z');
    expect(ok('date_to:0001-12-31').to).toBe('0001-12-31T23:59:59.999Z');
    expect(ok('date_from:0000-02-29').from).toBe('0000-02-29T00:00:00.000Z'); // year 0 is a leap year
  });

  it('accepts the extremes of four-digit years', () => {
    expect(ok('date_from:0000-01-01 date_to:9999-12-31')).toMatchObject({
      from: '0000-01-01T00:00:00.000Z',
      to: '9999-12-31T23:59:59.999Z',
    });
  });

  it('rejects date_to before date_from, naming the later term in either order', () => {
    expectErrorAt('date_from:2026-03-02 date_to:2026-03-01', 'date_to:2026-03-01', /date_to earlier than date_from/);
    expectErrorAt('date_to:2026-03-01 date_from:2026-03-02', 'date_from:2026-03-02', /date_to earlier than date_from/);
  });

  it('compares years across the 0-99 range correctly', () => {
    expectErrorAt('date_from:1999-01-01 date_to:0099-01-01', 'date_to:0099-01-01', /earlier/);
  });

  it('rejects a repeated date key, even with the same value', () => {
    expectErrorAt('date_from:2026-01-01 date_from:2026-01-02', 'date_from:2026-01-02', /repeats date_from/);
    const q = 'date_to:2026-01-01 date_to:2026-01-01';
    expect(err(q)).toMatchObject({ term: 'date_to:2026-01-01', start: 19, end: q.length, message: 'repeats date_to' });
  });

  it('rejects a negated date key', () => {
    expectErrorAt('-date_from:2026-01-01', '-date_from:2026-01-01', /cannot negate date_from/);
    expectErrorAt('-date_to:2026-01-01', '-date_to:2026-01-01', /cannot negate date_to/);
  });

  it('rejects several values for a date key', () => {
    expectErrorAt('date_from:2026-01-01,2026-01-02', 'date_from:2026-01-01,2026-01-02', /takes one value/);
  });

  it('accepts a quoted date', () => {
    expect(ok('date_from:"2026-01-01"').from).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('parseAuditQuery: since', () => {
  it.each([
    ['15m', 15 * 60_000],
    ['1m', 60_000],
    ['24h', 24 * 3_600_000],
    ['1h', 3_600_000],
    ['7d', 7 * 86_400_000],
    ['1d', 86_400_000],
    ['015m', 15 * 60_000],
    ['3650d', 3650 * 86_400_000],
    ['87600h', 3650 * 86_400_000],
    ['999999m', 999_999 * 60_000],
  ])('since:%s is %i ms', (value, ms) => {
    expect(ok(`since:${value}`)).toStrictEqual({ fields: {}, sinceMs: ms });
  });

  it.each(['0m', '0h', '0d', '000000d', '3651d', '87601h', '999999h', '999999d'])('rejects since:%s as out of range', (value) => {
    const q = `since:${value}`;
    expectErrorAt(q, q, /between 1m and 3650d/);
  });

  it.each(['15', 'm', '15s', '1w', '1y', '1.5h', '-5m', '+5m', '15 m', '1234567m', '1e3m', 'h15', '15mm', '15m15'])(
    'rejects the malformed duration %j',
    (value) => {
      const q = `since:"${value}"`;
      expectErrorAt(q, q, /invalid duration/);
    },
  );

  it('rejects negation, repetition and several values', () => {
    expectErrorAt('-since:15m', '-since:15m', /cannot negate since/);
    expectErrorAt('since:15m since:1h', 'since:1h', /repeats since/);
    expectErrorAt('since:15m,1h', 'since:15m,1h', /takes one value/);
  });

  it('combines with dates (the server picks the later bound)', () => {
    expect(ok('since:1h date_from:2026-01-01 date_to:2026-01-02')).toStrictEqual({
      fields: {},
      sinceMs: 3_600_000,
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T23:59:59.999Z',
    });
  });
});

describe('parseAuditQuery: limits', () => {
  it(`accepts a query of exactly ${QUERY_LIMITS.length} characters`, () => {
    const single = `resource_target:${'a'.repeat(QUERY_LIMITS.valueLength)}`.padEnd(QUERY_LIMITS.length, ' ');
    expect(single).toHaveLength(QUERY_LIMITS.length);
    expect(ok(single).fields.resource_target?.include?.[0]).toHaveLength(QUERY_LIMITS.valueLength);
  });

  it(`rejects a query over ${QUERY_LIMITS.length} characters, before any other check`, () => {
    const q = ' '.repeat(QUERY_LIMITS.length + 1);
    const error = err(q);
    expect(error.message).toBe(`is longer than ${QUERY_LIMITS.length} characters`);
    expect(error.start).toBe(0);
    expect(error.end).toBe(q.length);

    const long = `action:nope ${'x'.repeat(QUERY_LIMITS.length)}`;
    expect(err(long)).toMatchObject({ term: long.slice(0, 40), start: 0, end: long.length });
  });

  it(`accepts a value of ${QUERY_LIMITS.valueLength} characters and rejects one more`, () => {
    expect(ok(`username:${'a'.repeat(QUERY_LIMITS.valueLength)}`).fields.username?.include?.[0]).toHaveLength(
      QUERY_LIMITS.valueLength,
    );
    const q = `username:bob,${'a'.repeat(QUERY_LIMITS.valueLength + 1)}`;
    expectErrorAt(q, q, /longer than 512 characters/);
    const quoted = `resource_target:"${'a b'.repeat(171)}"`;
    expectErrorAt(quoted, quoted, /longer than 512/);
  });

  it('rejects an overlong bare word', () => {
    const q = 'w'.repeat(QUERY_LIMITS.valueLength + 1);
    expectErrorAt(q, q, /longer than 512/);
  });
});

describe('parseAuditQuery: error positions', () => {
  it('points at the term after leading spaces and tabs', () => {
    const q = '   \t action:nope';
    const error = expectErrorAt(q, 'action:nope');
    expect(error.start).toBe(5);
    expect(error.end).toBe(16);
  });

  it('points at a middle term with mixed case, keeping its original spelling', () => {
    const q = 'Action:Login   RESOURCE_type:Cluster\tusername:bob';
    const error = expectErrorAt(q, 'RESOURCE_type:Cluster', /unknown resource type "cluster"/);
    expect(error.start).toBe(15);
  });

  it('includes the - of a negated term', () => {
    const q = 'action:login -Since:1h';
    const error = expectErrorAt(q, '-Since:1h', /cannot negate since/);
    expect(error.start).toBe(13);
  });

  it('stays right after characters whose lowercase is longer (e.g. İ)', () => {
    const q = 'resource_target:İstanbul action:bogus';
    expect('İ'.toLowerCase()).toHaveLength(2);
    expectErrorAt(q, 'action:bogus', /unknown action "bogus"/);
    const q2 = 'resource_target:"İİ x" date_from:2026-02-30';
    expectErrorAt(q2, 'date_from:2026-02-30', /invalid date/);
  });

  it('reports the first bad term when several are bad', () => {
    const q = 'action:login foo:bar action:nope';
    expectErrorAt(q, 'foo:bar', /unknown key "foo"/);
  });

  it('term always equals the slice of the original query', () => {
    for (const q of [
      'x',
      ' Action:Nope',
      'a:b:c',
      '  -DATE_FROM:2026-01-01',
      'resource_target:"unclosed',
      'username:bob\tUSERNAME:Al',
      'since:9999d',
      'date_to:2026-01-01  date_from:2026-01-05',
    ]) {
      const error = err(q);
      expect(q.slice(error.start, error.end), q).toBe(error.term);
      expect(error.start).toBeGreaterThanOrEqual(0);
      expect(error.end).toBeGreaterThan(error.start);
      expect(error.end).toBeLessThanOrEqual(q.length);
    }
  });
});

describe('formatQueryError', () => {
  it('quotes the term and appends the message', () => {
    expect(formatQueryError({ term: 'action:nope', message: 'has an unknown action', start: 0, end: 11 })).toBe(
      'term "action:nope" has an unknown action',
    );
  });

  it('escapes quotes in the term', () => {
    expect(formatQueryError({ term: 'resource_target:"x', message: 'has an unclosed double quote', start: 0, end: 18 })).toBe(
      'term "resource_target:\\"x" has an unclosed double quote',
    );
  });

  it('formats a real parse error as one line naming the term', () => {
    const line = formatQueryError(err('  ACTION:Nope'));
    expect(line).toMatch(/^term "ACTION:Nope" has an unknown action "nope"; valid actions: /);
    expect(line).not.toContain('\n');
  });
});

describe('values Postgres cannot compare', () => {
  it.each([
    ['username:a\u0000b', 'contains a NUL character'],
    ['resource_target:\ud800', 'contains an unpaired UTF-16 surrogate'],
    ['-email:x\udc00', 'contains an unpaired UTF-16 surrogate'],
  ])('%j is refused with the term named', (q, problem) => {
    const result = parseAuditQuery(q);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toBe(`has a value that ${problem}`);
      expect(result.error.term).toBe(q);
    }
  });
});
