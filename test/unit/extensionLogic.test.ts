// The extension's pure parts, without a browser: query terms behind the chips, search
// completion, server addresses and host permissions, the timeline's range terms, how
// events read, and the one table of user-visible states.
import { describe, expect, it } from 'vitest';
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { complete } from '../../extension/src/completion.js';
import { ACTION_WORDS } from '../../extension/src/wording.js';
import { ACTION_GROUPS, diffValue, formatCount, groupOf, relativeTime, SECRET_MASK } from '../../extension/src/present.js';
import { applyValueList, formatValueList, removeTerms, setTerm, splitTerms, termValues } from '../../extension/src/queryTerms.js';
import { hostPattern, normalizeServerUrl, patternCovers } from '../../extension/src/serverUrl.js';
import { preconditionState, stateFromError } from '../../extension/src/connectionState.js';
import { STATES, type StateId } from '../../extension/src/states.js';
import { rangeQuery } from '../../extension/src/timeRange.js';

describe('query terms (what the chips read and write)', () => {
  it('splits like the parser: quotes keep spaces and commas, a leading dash negates', () => {
    const terms = splitTerms('action:cordon,delete  -username:alice resource_target:"my ws, 2" workspace');
    expect(terms.map((t) => [t.key, t.negated, t.values])).toEqual([
      ['action', false, ['cordon', 'delete']],
      ['username', true, ['alice']],
      ['resource_target', false, ['my ws, 2']],
      [null, false, ['workspace']],
    ]);
  });

  it('reads positive values only; a bare word is a resource type', () => {
    const q = 'ACTION:Delete -action:login workspace resource_type:user';
    expect(termValues(q, 'action')).toEqual(['delete']);
    expect(termValues(q, 'resource_type')).toEqual(['workspace', 'user']);
    expect(termValues(q, 'since')).toEqual([]);
  });

  it('sets a term in place, keeps the others, removes it when empty, and the result parses', () => {
    const q = 'username:bob action:login since:24h';
    expect(setTerm(q, 'action', ['login', 'ssh'])).toBe('username:bob action:login,ssh since:24h');
    expect(setTerm(q, 'action', [])).toBe('username:bob since:24h');
    expect(setTerm(q, 'resource_target', ['my ws'])).toBe('username:bob action:login since:24h resource_target:"my ws"');
    expect(setTerm('workspace -action:login', 'resource_type', ['user'])).toBe('resource_type:user -action:login');
    expect(setTerm('', 'since', ['15m'])).toBe('since:15m');
    expect(removeTerms('since:1h date_from:2026-01-01 action:stop', ['since', 'date_from', 'date_to'])).toBe('action:stop');
    for (const value of ['a b', 'x,y', 'k:v', 'plain']) {
      const result = parseAuditQuery(setTerm('', 'resource_target', [value]));
      expect(result.ok && result.filter.fields.resource_target?.include).toEqual([value]);
    }
  });
});

describe('the user and target filters (comma-separated values in a text field)', () => {
  const edit = (query: string, key: string, text: string) => applyValueList(query, key, text);
  const shown = (query: string, key: string) => formatValueList(termValues(query, key));

  it('an edited list of targets stays a list: a,b edited to a,c', () => {
    expect(shown('resource_target:a,b', 'resource_target')).toBe('a,b');
    const next = edit('resource_target:a,b', 'resource_target', 'a,c');
    expect(next).toBe('resource_target:a,c');
    const parsed = parseAuditQuery(next);
    expect(parsed.ok && parsed.filter.fields.resource_target?.include).toEqual(['a', 'c']);
  });

  it('a value with a space stays one value; a quoted comma stays inside its value', () => {
    expect(edit('', 'resource_target', 'audit export')).toBe('resource_target:"audit export"');
    expect(edit('', 'resource_target', ' "my ws, 2" , other ')).toBe('resource_target:"my ws, 2",other');
    expect(shown('resource_target:"my ws, 2",other', 'resource_target')).toBe('"my ws, 2",other');
    // What the field shows reads back as the same term.
    const q = 'action:delete resource_target:"my ws, 2",other';
    expect(edit(q, 'resource_target', shown(q, 'resource_target'))).toBe(q);
  });

  it('users: a list, blanks dropped, empty removes the term', () => {
    expect(edit('action:login', 'username', 'alice, bob,,')).toBe('action:login username:alice,bob');
    expect(edit('action:login username:alice', 'username', '  ')).toBe('action:login');
  });
});

describe('search completion', () => {
  it('completes keys, with their descriptions', () => {
    const c = complete('act', 3)!;
    expect(c.items.map((i) => i.insert)).toEqual(['action:']);
    expect(c.items[0]!.detail).toContain('what was done');
    expect(complete('res', 3)!.items.map((i) => i.label)).toEqual(['resource_type:', 'resource_id:', 'resource_target:', 'resource_pool']);
    expect(complete('-use', 4)!.items.map((i) => i.insert)).toEqual(['-username:']);
  });

  it('offers resource types for a bare word', () => {
    expect(complete('image', 5)!.items.map((i) => i.label)).toEqual(['image_tag']);
    expect(complete('work', 4)!.items.map((i) => i.label)).toEqual(['workspace', 'workspace_provider']);
  });

  it('completes values, skipping those already given, replacing only the current value', () => {
    const q = 'since:24h action:cordon,d';
    const c = complete(q, q.length)!;
    expect(c.items.map((i) => i.label)).toEqual(['delete']);
    expect(c.items[0]!.detail).toContain('deleted');
    expect(q.slice(0, c.from) + c.items[0]!.insert + q.slice(c.to)).toBe('since:24h action:cordon,delete');
    expect(complete('action:', 7)!.items).toHaveLength(Math.min(12, AUDIT_ACTIONS.length));
    expect(complete('since:', 6)!.items.map((i) => i.label)).toEqual(['15m', '1h', '24h', '7d']);
    expect(complete('username:a', 10, { usernames: ['alice', 'bob'] })!.items.map((i) => i.label)).toEqual(['alice']);
    expect(complete('resource_target:m', 17, { targets: ['my ws'] })!.items[0]!.insert).toBe('"my ws"');
    expect(complete('resource_type:workspace', 23)!.items.map((i) => i.label)).toEqual(['workspace_provider']);
    expect(complete('resource_type:workspace_provider', 32)).toBeNull();
  });
});

describe('server address and host permission', () => {
  it('accepts what people type', () => {
    expect(normalizeServerUrl('vigil.example.com')).toEqual({ ok: true, url: 'https://vigil.example.com', origin: 'https://vigil.example.com' });
    expect(normalizeServerUrl(' http://127.0.0.1:8080/ ')).toMatchObject({ ok: true, url: 'http://127.0.0.1:8080' });
    expect(normalizeServerUrl('https://corp.example/vigil/')).toMatchObject({ ok: true, url: 'https://corp.example/vigil', origin: 'https://corp.example' });
    expect(normalizeServerUrl('')).toMatchObject({ ok: false });
    expect(normalizeServerUrl('ftp://x.example')).toMatchObject({ ok: false, message: 'The address must start with http:// or https://' });
    expect(normalizeServerUrl('https://u:p@x.example')).toMatchObject({ ok: false });
    expect(normalizeServerUrl('https://x.example/?a=1')).toMatchObject({ ok: false });
  });

  it('asks for exactly the server (Firefox patterns cannot name a port)', () => {
    expect(hostPattern('http://127.0.0.1:8080', false)).toBe('http://127.0.0.1:8080/*');
    expect(hostPattern('http://127.0.0.1:8080', true)).toBe('http://127.0.0.1/*');
    expect(hostPattern('https://corp.example/vigil', false)).toBe('https://corp.example/*');
  });

  it('knows which granted patterns cover a server', () => {
    expect(patternCovers('http://127.0.0.1/*', 'http://127.0.0.1:8080/*')).toBe(true);
    expect(patternCovers('http://127.0.0.1:9090/*', 'http://127.0.0.1:8080/*')).toBe(false);
    expect(patternCovers('https://127.0.0.1/*', 'http://127.0.0.1:8080/*')).toBe(false);
    expect(patternCovers('*://*.example.com/*', 'https://vigil.example.com/*')).toBe(true);
    expect(patternCovers('<all_urls>', 'https://x.example/*')).toBe(true);
    expect(patternCovers('https://x.example/api/*', 'https://x.example/*')).toBe(false);
  });
});

describe('timeline brush terms', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  it('a stretch reaching now starts exactly where brushed and stays open, replacing other time terms', () => {
    expect(rangeQuery('action:delete since:7d', now - 90 * 60_000, now, now, 3_600_000)).toBe('action:delete date_from:2026-03-10T10:30:00.000Z');
    expect(rangeQuery('date_from:2026-01-01', now - 2 * 86_400_000, now - 1000, now, 3_600_000)).toBe('date_from:2026-03-08T12:00:00.000Z');
  });
  it('an earlier stretch is exactly the brushed instants, not whole days', () => {
    const q = rangeQuery('workspace', Date.parse('2026-03-01T10:00:00Z'), Date.parse('2026-03-01T15:00:00Z'), now, 3_600_000);
    expect(q).toBe('workspace date_from:2026-03-01T10:00:00.000Z date_to:2026-03-01T14:59:59.999Z');
    const parsed = parseAuditQuery(q);
    expect(parsed.ok && parsed.filter).toMatchObject({ from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T14:59:59.999Z' });
  });
});

describe('how events read', () => {
  it('puts every action in exactly one chip group, with a verb', () => {
    const grouped = Object.values(ACTION_GROUPS).flat();
    expect([...grouped].sort()).toEqual([...AUDIT_ACTIONS].sort());
    for (const action of AUDIT_ACTIONS) expect(ACTION_WORDS[action].did).toContain('{what}');
    expect(groupOf('delete')).toBe('sensitive');
    expect(groupOf('ssh')).toBe('access');
    expect(groupOf('auto_start')).toBe('changes');
    expect(RESOURCE_TYPES.length).toBeGreaterThan(0);
  });

  it('relative times', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const ago = (ms: number) => relativeTime(new Date(now - ms).toISOString(), now);
    expect(ago(3_000)).toBe('just now');
    expect(ago(42_000)).toBe('42s ago');
    expect(ago(5 * 60_000)).toBe('5m ago');
    expect(ago(3 * 3_600_000)).toBe('3h ago');
    expect(ago(6 * 86_400_000)).toBe('6d ago');
    expect(ago(90 * 86_400_000)).toBe('2025-12-10');
  });

  it('masks secrets in diffs and shows absent sides as a dash', () => {
    expect(diffValue({ secret: true }, 'old')).toBe(SECRET_MASK);
    expect(diffValue({ secret: true, new: 'leak' } as never, 'new')).toBe(SECRET_MASK);
    expect(diffValue({ new: 'x' }, 'old')).toBe('—');
    expect(diffValue({ old: { cpu: 2 } }, 'old')).toBe('{"cpu":2}');
  });

  it('counts, capped', () => {
    expect(formatCount({ value: 1, capped: false })).toBe('1 event');
    expect(formatCount({ value: 1234, capped: false })).toBe('1,234 events');
    expect(formatCount({ value: 10_000, capped: true })).toBe('10,000+ events');
  });
});

describe('the states, named in one place', () => {
  const settings = { serverUrl: 'https://vigil.example.com', token: 't' };
  const yes = async () => true;
  const no = async () => false;
  const trpcError = (code: string, message = code) => Object.assign(new Error(message), { data: { code } });

  it('every state has a title, a message and a badge', () => {
    const ids: StateId[] = ['notConfigured', 'noAccess', 'loggedOut', 'badToken', 'forbidden', 'unreachable', 'offline', 'loading', 'empty', 'queryError', 'historyChanged', 'ready'];
    expect(Object.keys(STATES).sort()).toEqual([...ids].sort());
    // No two read alike; every problem (one the badge shows) says which server it is about.
    expect(new Set(ids.map((id) => STATES[id].title)).size).toBe(ids.length);
    for (const id of ['noAccess', 'loggedOut', 'badToken', 'unreachable'] as const) {
      expect(STATES[id].message({ server: 'https://vigil.example.com' }), id).toContain('https://vigil.example.com');
    }
    // The badge alphabet of notifier-for-github: X, !, ?, off.
    expect(STATES.notConfigured.badge.text).toBe('X');
    expect(STATES.badToken.badge.text).toBe('!');
    expect(STATES.unreachable.badge.text).toBe('?');
    expect(STATES.offline.badge.text).toBe('off');
  });

  it('settles setup before asking the server', () => {
    expect(preconditionState({})?.id).toBe('notConfigured');
    expect(preconditionState({ serverUrl: 'https://x.example' })?.id).toBe('loggedOut');
    expect(preconditionState(settings)).toBeNull();
  });

  it('turns failures into states', async () => {
    expect((await stateFromError(trpcError('UNAUTHORIZED'), settings, yes)).id).toBe('badToken');
    const member = { ...settings, session: { kind: 'user' as const, user: { id: '1', username: 'mia', email: null, role: 'member' as const } } };
    const forbidden = await stateFromError(trpcError('FORBIDDEN'), member, yes);
    expect(forbidden.id).toBe('forbidden');
    expect(STATES.forbidden.message(forbidden.detail)).toContain('mia with the member role');
    const service = await stateFromError(trpcError('FORBIDDEN'), { ...settings, session: { kind: 'service' as const, name: 'ci' } }, yes);
    expect(STATES.forbidden.message(service.detail)).toContain('events:read');
    const bad = await stateFromError(trpcError('BAD_REQUEST', 'q: username:me needs a caller signed in as a user'), settings, yes);
    expect(bad).toMatchObject({ id: 'queryError', detail: { message: 'username:me needs a caller signed in as a user' } });
    expect((await stateFromError(new TypeError('Failed to fetch'), settings, yes)).id).toBe('unreachable');
    expect((await stateFromError(new TypeError('Failed to fetch'), settings, no)).id).toBe('noAccess');
    expect(STATES.unreachable.message({ server: 'https://vigil.example.com' })).toContain('https://vigil.example.com did not answer');
  });

  it('a query error is the parser message, word for word', () => {
    const parsed = parseAuditQuery('action:explode');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(STATES.queryError.message({ message: formatQueryError(parsed.error) })).toBe(formatQueryError(parsed.error));
  });
});
