// Hostile input, generated: the parser, cursors and the event schema never throw, and
// the API never answers with a server error; what it stores comes back verbatim and
// the hash chain still verifies. Over 100,000 generated inputs in all.
import { TRPCError } from '@trpc/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../shared/cursor.js';
import { eventInputSchema } from '../../shared/event.js';
import { parseAuditQuery, QUERY_KEYS } from '../../shared/query.js';
import { AUDIT_ACTIONS, RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { createContextInner } from '../../server/context.js';
import { createCaller } from '../../server/routers/_app.js';
import { verifyChain } from '../../server/services/integrity.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createPglite, type TestDatabase } from '../support/databases.js';

/** Strings an attacker or a broken client would send. */
const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    "'; drop table audit_events; --",
    '" or 1=1 --',
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '${jndi:ldap://x}',
    '\u0000',
    '\ud800',
    '../../etc/passwd',
    '%00',
    '\\',
    '"',
    ' ',
    '',
    'a'.repeat(600),
  ),
);

/** Query-shaped strings: keys, values, quotes, commas, dashes and junk, glued by spaces. */
const queryLike = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...Object.keys(QUERY_KEYS), 'foo', ''), fc.oneof(hostileText, fc.constantFrom(...AUDIT_ACTIONS, ...RESOURCE_TYPES, 'me', '2026-02-30', '15m', '0d'))).map(
        ([k, v]) => `${k}:${v}`,
      ),
      fc.tuple(fc.constantFrom('-', '', '"', ','), hostileText).map(([p, v]) => p + v),
      hostileText,
    ),
    { maxLength: 6 },
  )
  .map((terms) => terms.join(' '));

/** Mostly a valid value, sometimes a hostile one: most events are stored, many are refused. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: hostileText, weight: 1 });
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((t) => t.trim().length > 0);
const eventLike = fc.record(
  {
    id: mostly(fc.uuid()),
    time: mostly(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString())),
    action: mostly(fc.constantFrom(...AUDIT_ACTIONS)),
    resourceType: mostly(fc.constantFrom(...RESOURCE_TYPES)),
    resourceId: mostly(text),
    resourceTarget: fc.oneof({ arbitrary: text, weight: 3 }, { arbitrary: hostileText, weight: 1 }),
    actor: fc.record({ id: mostly(text), username: mostly(text), email: mostly(fc.emailAddress()) }, { requiredKeys: ['username'] }),
    ip: mostly(fc.oneof(fc.ipV4(), fc.ipV6())),
    userAgent: mostly(fc.string({ unit: 'grapheme', maxLength: 80 })),
    statusCode: fc.oneof({ arbitrary: fc.integer({ min: 100, max: 599 }), weight: 6 }, { arbitrary: fc.oneof(fc.integer(), fc.double()), weight: 1 }),
    requestId: mostly(text),
    diff: fc.dictionary(text, fc.record({ old: fc.jsonValue({ maxDepth: 3 }), new: fc.jsonValue({ maxDepth: 3 }), secret: fc.boolean() }, { requiredKeys: [] }), { maxKeys: 3 }),
    metadata: fc.dictionary(fc.oneof(text, hostileText), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 }),
  },
  { requiredKeys: ['action', 'resourceType', 'resourceTarget'] },
);

describe('pure functions under generated input', () => {
  it('parseAuditQuery never throws and places every error inside the query (60,000 inputs)', () => {
    fc.assert(
      fc.property(fc.oneof(queryLike, fc.string({ unit: 'binary', maxLength: 200 })), (q) => {
        const result = parseAuditQuery(q, { me: 'alice' });
        if (!result.ok) {
          expect(result.error.message.length).toBeGreaterThan(0);
          expect(result.error.start).toBeGreaterThanOrEqual(0);
          expect(result.error.end).toBeLessThanOrEqual(q.length);
          expect(result.error.start).toBeLessThanOrEqual(result.error.end);
        }
      }),
      { numRuns: 60_000 },
    );
  });

  it('decodeCursor never throws and accepts only what encodeCursor makes (25,000 inputs)', () => {
    const valid = fc.record({ time: fc.date({ min: new Date(0), max: new Date('9999-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), seq: fc.integer({ min: 1, max: 2 ** 52 }) });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), valid.map(encodeCursor), valid.map((p) => encodeCursor(p).slice(1))), (cursor) => {
        const position = decodeCursor(cursor);
        if (position) expect(encodeCursor(position)).toBe(cursor);
      }),
      { numRuns: 25_000 },
    );
  });

  it('the event schema never throws (20,000 inputs)', () => {
    fc.assert(
      fc.property(fc.oneof(eventLike, fc.anything()), (input) => {
        const result = eventInputSchema.safeParse(input);
        if (!result.success) expect(result.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('the API under generated input (PGlite)', () => {
  let database: TestDatabase;
  const signer = generateSigner();
  const api = () =>
    createCaller(
      createContextInner({
        db: database.db,
        signer,
        caller: { kind: 'user', userId: null, username: 'alice', email: null, role: 'site_manager', tokenId: null },
      }),
    );
  /** Runs a call; a rejection must be a client error, never a server error. */
  async function clientErrorOrResult<T>(call: () => Promise<T>): Promise<T | null> {
    try {
      return await call();
    } catch (error) {
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code, (error as Error).message).toBe('BAD_REQUEST');
      expect((error as Error).message.length).toBeGreaterThan(0);
      return null;
    }
  }

  beforeAll(async () => {
    database = await createPglite();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('records hostile events or refuses them with BAD_REQUEST; stored ones come back verbatim (1,500 inputs)', async () => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(eventLike, async (event) => {
        const result = await clientErrorOrResult(() => api().events.record(event as never));
        if (!result || result.duplicate) return;
        stored++;
        const back = await api().events.get({ id: result.id });
        const parsed = eventInputSchema.parse(event);
        expect(back.resourceTarget).toBe(parsed.resourceTarget);
        expect(back.actor?.username ?? null).toBe(parsed.actor?.username ?? null);
        expect(back.userAgent).toBe(parsed.userAgent ?? null);
        expect(back.metadata).toEqual(JSON.parse(JSON.stringify(parsed.metadata ?? {})));
      }),
      { numRuns: 1500 },
    );
    expect(stored).toBeGreaterThan(150);
    // Plain, SQL-looking and script-looking values are stored as given.
    for (const target of ["'; drop table audit_events; --", '<script>alert(1)</script>']) {
      const { id } = await api().events.record({ action: 'create', resourceType: 'user', resourceTarget: target });
      expect((await api().events.get({ id })).resourceTarget).toBe(target);
    }
    expect(await verifyChain(database.db, { trusted: [signer] })).toMatchObject({ ok: true });
  });

  it('answers every generated query and cursor with a page or BAD_REQUEST (2,500 inputs)', async () => {
    await fc.assert(
      fc.asyncProperty(queryLike, fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.constant(encodeCursor({ time: new Date().toISOString(), seq: 5 })))), async (q, cursor) => {
        await clientErrorOrResult(() => api().events.list({ q, limit: 5, ...(cursor === null ? {} : { cursor }) }));
      }),
      { numRuns: 2000 },
    );
    await fc.assert(
      fc.asyncProperty(queryLike, async (q) => {
        await clientErrorOrResult(() => api().events.stats({ q, buckets: 10 }));
      }),
      { numRuns: 500 },
    );
  });
});

describe('every free-text input refuses what Postgres cannot store', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createPglite();
  });
  afterAll(async () => {
    await database?.destroy();
  });
  const admin = () =>
    createCaller(
      createContextInner({
        db: database.db,
        caller: { kind: 'user', userId: null, username: 'alice', email: null, role: 'site_manager', tokenId: null },
      }),
    );

  it.each(['\u0000', '\ud800', '\udfff'])('%j: BAD_REQUEST naming the field, never a server error', async (bad) => {
    const calls: [string, () => Promise<unknown>][] = [
      ['username', () => admin().auth.login({ username: `a${bad}`, password: 'whatever1' })],
      ['name', () => admin().tokens.create({ name: `bot${bad}`, scopes: ['events:write'] })],
      ['password', () => admin().users.create({ username: 'someone', role: 'member', password: `long enough ${bad}` })],
      ['q', () => admin().events.list({ q: `resource_target:x${bad}` })],
      ['changes.oauthClientSecret', () => admin().settings.update({ changes: { oauthClientSecret: `s${bad}` } })],
    ];
    for (const [field, call] of calls) {
      const error = await call().then(
        () => null,
        (e: TRPCError) => e,
      );
      expect(error?.code, field).toBe('BAD_REQUEST');
      expect(error?.message, field).toContain(field);
    }
  });
});
