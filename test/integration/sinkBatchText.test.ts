// A sink's batch as wire text (the listed JSON built by Postgres, OCSF written from it; over
// webhook NDJSON and TCP/TLS syslog) is byte for byte what the JavaScript formatters write
// of the same events, for the awkward ones too: unicode, line breaks and control characters, quotes
// and backslashes, diffs, a missing actor, nested metadata, every OCSF class and optional
// key; events whose JSON Postgres cannot write as JavaScript does (integer keys, decimals,
// long numbers) are written in JavaScript in their place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventInputSchema, type EventInput } from '../../shared/event.js';
import { selectEventsAfterSeq, selectSinkEventTexts, type EventQuery } from '../../server/db/auditEventsStore.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents, toAuditEvent } from '../../server/services/events.js';
import { SinkBatchReader, type SinkBatchFraming, type SinkReadRange } from '../../server/services/sinkBatches.js';
import { jsonPayload } from '../../server/services/sinkFormats.js';
import { octetCounted, syslogFraming, syslogMessage } from '../../server/services/sinkTransports.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

/** Events Postgres writes itself. */
const PLAIN: EventInput[] = [
  { action: 'auto_off', resourceType: 'workspace', resourceTarget: 'plain-system' },
  {
    action: 'write',
    resourceType: 'template',
    resourceTarget: 'plain-ünïcödé 漢字 😀 \u2028\u2029 tab\there',
    resourceId: 'quote " backslash \\ slash / ',
    actor: { id: 'u-"1"', username: 'zoë\\o', email: 'zoe@example.com' },
    ip: '2001:db8::1',
    userAgent: 'line\nbreak\r\nand \u0001\u001f\u007f controls',
    statusCode: 201,
    requestId: 'req-{"x": 1, "y": [2]}',
    diff: {
      name: { old: 'a": "b', new: 'c, "d": e' },
      ttl: { old: 1, new: -20 },
      tags: { old: ['x', 'y'], new: [] },
      nested: { new: { b: { z: null, a: true }, a: [1, { c: 'd' }], long_key_name: false, '': 'empty key' } },
      secret_field: { secret: true },
    },
    metadata: { emoji: '🔒', quote: '\\"', empty: {}, list: [[], [{}], 'x'], big: 900719925474099, negative: -1, zero: 0 },
  },
  {
    action: 'login',
    resourceType: 'user',
    resourceTarget: 'plain-actor-without-email',
    actor: { username: 'bob' },
    ip: '192.0.2.1',
    statusCode: 401,
    metadata: { 'a10': 1, 'b2x': 'key with digits not first', '-1': 'negative key' },
  },
  {
    action: 'create',
    resourceType: 'token',
    resourceTarget: 'plain-account-change',
    resourceId: 'tok-1',
    actor: { id: 'u-9', username: 'carol', email: 'carol@example.com' },
    userAgent: '',
    requestId: 'req-9',
    statusCode: 500,
  },
  { action: 'delete', resourceType: 'user', resourceTarget: 'plain-account-delete', userAgent: 'ua', time: '2026-01-02T03:04:05.000Z' },
  { action: 'view', resourceType: 'template', resourceTarget: 'plain-times', time: '1999-12-31T23:59:09.050Z' },
  { action: 'cordon', resourceType: 'resource_pool', resourceTarget: 'plain-api', resourceId: 'pool-1', requestId: 'req-2', statusCode: 399 },
];

/** Events whose diff or metadata JavaScript writes its own way: written in JavaScript. */
const QUIRKY: EventInput[] = [
  { action: 'connect', resourceType: 'workspace', resourceTarget: 'quirk-integer-keys', metadata: { b: 1, '10': 2, '2': 3 } },
  { action: 'write', resourceType: 'workspace', resourceTarget: 'quirk-decimal', diff: { ratio: { old: 1.5, new: 0.25 } } },
  { action: 'connect', resourceType: 'workspace', resourceTarget: 'quirk-huge', metadata: { huge: 1e21, tiny: 1e-7, unsafe: 9007199254740993 } },
];

describe.each(BACKENDS)('sink batch text on %s', (backend) => {
  let database: TestDatabase;
  let quirkySeqs: number[];
  const all: EventQuery = { fields: {} };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const writer = new EventWriter(database.db);
    const inputs = [...PLAIN, ...QUIRKY, ...PLAIN].map((e) => eventInputSchema.parse(e));
    const stored = await recordEvents(writer, inputs);
    quirkySeqs = stored.slice(PLAIN.length, PLAIN.length + QUIRKY.length).map((e) => e.seq);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  /** A read by a reader of its own (nothing shared with another read). */
  const readSinkBatch = (query: EventQuery, range: SinkReadRange, framing: SinkBatchFraming) => new SinkBatchReader(database.db).read(query, range, framing);

  /** What the JavaScript formatters write of the same events. */
  async function writtenInJs(query: EventQuery, framing: SinkBatchFraming): Promise<string> {
    const events = (await selectEventsAfterSeq(database.db, query, 0, Number.MAX_SAFE_INTEGER, 1000)).map(toAuditEvent);
    const format = framing.event.format;
    return framing.kind === 'ndjson'
      ? events.map((e) => `${JSON.stringify(jsonPayload(format, e))}\n`).join('')
      : octetCounted(events.map((e) => syslogMessage(e, format))).toString('utf8');
  }

  const VIGIL = { format: 'vigil' } as const;
  const OCSF = { format: 'ocsf' } as const;
  it.each([
    ['vigil, NDJSON', { kind: 'ndjson', event: VIGIL } as const],
    ['vigil, syslog (RFC 5424, octet counted)', syslogFraming(VIGIL)],
    ['ocsf, NDJSON', { kind: 'ndjson', event: OCSF } as const],
    ['ocsf, syslog', syslogFraming(OCSF)],
  ])('%s: the same bytes as the JavaScript formatter, every event', async (_name, framing: SinkBatchFraming) => {
    const batch = await readSinkBatch(all, { afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER, limit: 1000 }, framing);
    expect(batch.count).toBe(PLAIN.length * 2 + QUIRKY.length);
    expect('text' in batch.payload && batch.payload.text).toBe(await writtenInJs(all, framing));
  });

  it('Postgres writes the plain events itself and leaves exactly the quirky ones to JavaScript', async () => {
    const texts = await selectSinkEventTexts(database.db, all, 0, Number.MAX_SAFE_INTEGER, 1000);
    expect(texts.filter((t) => t.json === null).map((t) => t.seq)).toEqual(quirkySeqs);
    for (const t of texts) expect(t.bytes).toBe(t.json === null ? 0 : Buffer.byteLength(t.json, 'utf8'));
  });

  it('one reader shared by sinks answers every read as a read of its own would, whatever the order, format, framing, limit or filter', async () => {
    // A window of 5 events and read-ahead of 4: reads served from it, extended past it,
    // behind it (a sink the window moved past), and with filters that do not share it.
    const shared = new SinkBatchReader(database.db, { windowEvents: 5, readAheadEvents: 4 });
    const head = (await selectEventsAfterSeq(database.db, all, 0, Number.MAX_SAFE_INTEGER, 1000)).at(-1)!.seq;
    const writes: EventQuery = { fields: { action: { include: ['write'] } } };
    const reads: [EventQuery, SinkReadRange, SinkBatchFraming][] = [
      [all, { afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER, limit: 2 }, syslogFraming(VIGIL)],
      [all, { afterSeq: 0, throughSeq: head, limit: 3 }, { kind: 'ndjson', event: VIGIL }],
      [writes, { afterSeq: 0, throughSeq: head, limit: 3 }, { kind: 'ndjson', event: VIGIL }],
      [all, { afterSeq: 2, throughSeq: Number.MAX_SAFE_INTEGER, limit: 7 }, syslogFraming(VIGIL)],
      [all, { afterSeq: 2, throughSeq: head, limit: 4 }, { kind: 'ndjson', event: OCSF }],
      [all, { afterSeq: 3, throughSeq: 9, limit: 100 }, { kind: 'ndjson', event: VIGIL }],
      [all, { afterSeq: 1, throughSeq: head, limit: 2 }, { kind: 'ndjson', event: VIGIL }],
      [all, { afterSeq: 0, throughSeq: head, limit: 100 }, syslogFraming(OCSF)],
      [all, { afterSeq: 9, throughSeq: Number.MAX_SAFE_INTEGER, limit: 100 }, syslogFraming(VIGIL)],
      [all, { afterSeq: 4, throughSeq: head, limit: 6 }, { kind: 'ndjson', event: VIGIL }],
      [all, { afterSeq: head, throughSeq: Number.MAX_SAFE_INTEGER, limit: 5 }, syslogFraming(VIGIL)],
      [writes, { afterSeq: 3, throughSeq: Number.MAX_SAFE_INTEGER, limit: 2 }, syslogFraming(VIGIL)],
      [writes, { afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER, limit: 3 }, { kind: 'ndjson', event: OCSF }],
    ];
    for (const [query, range, framing] of reads) {
      expect(await shared.read(query, range, framing), JSON.stringify({ query, range, framing: framing.kind })).toEqual(await readSinkBatch(query, range, framing));
    }
    // Reads at once (sinks at the same cursor): one waits for the other's read and is served from it.
    const together = await Promise.all([
      shared.read(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 4 }, { kind: 'ndjson', event: VIGIL }),
      shared.read(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 6 }, syslogFraming(VIGIL)),
      shared.read(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 5 }, { kind: 'ndjson', event: OCSF }),
    ]);
    expect(together[0]).toEqual(await readSinkBatch(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 4 }, { kind: 'ndjson', event: VIGIL }));
    expect(together[1]).toEqual(await readSinkBatch(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 6 }, syslogFraming(VIGIL)));
    expect(together[2]).toEqual(await readSinkBatch(all, { afterSeq: head - 6, throughSeq: Number.MAX_SAFE_INTEGER, limit: 5 }, { kind: 'ndjson', event: OCSF }));
  });

  it('a filter, a range and a limit select the same events as the row read', async () => {
    const query: EventQuery = { fields: { action: { include: ['write', 'connect'] } } };
    const rows = await selectEventsAfterSeq(database.db, query, 1, Number.MAX_SAFE_INTEGER, 3);
    const batch = await readSinkBatch(query, { afterSeq: 1, throughSeq: Number.MAX_SAFE_INTEGER, limit: 3 }, syslogFraming(VIGIL));
    expect(batch).toMatchObject({ count: 3, lastSeq: rows.at(-1)!.seq, oldestRecordedAtMs: rows[0]!.recordedAt.getTime() });
    expect('text' in batch.payload && batch.payload.text).toBe(octetCounted(rows.map((r) => syslogMessage(toAuditEvent(r), 'vigil'))).toString('utf8'));
    const empty = await readSinkBatch(query, { afterSeq: rows.at(-1)!.seq, throughSeq: rows.at(-1)!.seq, limit: 3 }, { kind: 'ndjson', event: OCSF });
    expect(empty).toMatchObject({ count: 0, lastSeq: 0, oldestRecordedAtMs: null, payload: { text: '' } });
  });
});
