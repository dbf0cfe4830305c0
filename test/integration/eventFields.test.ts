// One table of the event's fields (shared/eventFields.ts) matches the real columns of
// audit_events on each backend. And the event's shape stays what it was: an export made by an earlier version still verifies,
// and the same events recorded again list, export and hash byte for byte as they did then
// (test/fixtures/eventFields.*, written once from eventFields.inputs.ts by the code of the
// time: the canonical form, the listed JSON and the CSV columns are contracts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { listEvents, recordEvents } from '../../server/services/events.js';
import { startExport, type ExportFormat } from '../../server/services/export.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { eventInputSchema } from '../../shared/event.js';
import { EVENT_FIELDS, type SqlType } from '../../shared/eventFields.js';
import { verifyExportLines } from '../../shared/verifyExport.js';
import { FIXTURE_EVENTS, RECORDED_AT } from '../fixtures/eventFields.inputs.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

/** information_schema's data_type of each SqlType. */
const SQL_TYPE_NAMES: Record<SqlType, string> = {
  bigint: 'bigint',
  uuid: 'uuid',
  timestamptz: 'timestamp with time zone',
  text: 'text',
  inet: 'inet',
  integer: 'integer',
  jsonb: 'jsonb',
};

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fixture = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');
const fixtureIds = new Set(FIXTURE_EVENTS.map((e) => e.id));
const clock = () => new Date(RECORDED_AT);

it('an export made by an earlier version verifies', async () => {
  const lines = (await fixture('eventFields.export.ndjson')).trimEnd().split('\n');
  const report = await verifyExportLines(lines);
  expect(report).toMatchObject({ ok: true, rows: 5, eventsVerified: 5, signatureVerified: true, chainVerified: true });
});

describe.each(BACKENDS)('the same events recorded again on %s', (backend) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    await recordEvents(new EventWriter(database.db), FIXTURE_EVENTS.map((e) => eventInputSchema.parse(e)), clock);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  async function exported(format: ExportFormat): Promise<string> {
    const caller = { kind: 'user', userId: 'u-9', username: 'auditor', email: null, role: 'auditor', tokenId: null } as const;
    const started = await startExport(database.db, new EventWriter(database.db), generateSigner(), {
      q: undefined,
      format,
      caller,
      request: { ip: null, userAgent: null, requestId: undefined },
      clock,
    });
    let text = '';
    for await (const chunk of started.body as Readable) text += chunk;
    return text;
  }

  it('the field table has a row for every column of audit_events, and a column for every row', async () => {
    // leaf_hash is the Merkle tree's (its writer's copy of the leaf), not a field of the event.
    const columns = await queryRows<{ column_name: string; data_type: string; is_nullable: string; is_identity: string }>(
      database.db,
      sql`select column_name, data_type, is_nullable, is_identity from information_schema.columns
          where table_schema = 'public' and table_name = 'audit_events' and column_name <> 'leaf_hash' order by column_name`,
    );
    expect(columns.length).toBeGreaterThan(10);
    const inDatabase = columns.map((c) => ({
      column: c.column_name,
      sqlType: c.data_type,
      nullable: c.is_nullable === 'YES',
      generated: c.is_identity === 'YES',
    }));
    const inTable = EVENT_FIELDS.map((f) => ({ column: f.column, sqlType: SQL_TYPE_NAMES[f.sqlType], nullable: f.nullable, generated: f.generated }));
    expect(inTable.sort((a, b) => a.column.localeCompare(b.column))).toEqual(inDatabase);
  });

  it('list as they did', async () => {
    const page = await listEvents(database.db, { limit: 50 }, undefined, clock);
    expect(page.items.filter((e) => fixtureIds.has(e.id))).toEqual(JSON.parse(await fixture('eventFields.listed.json')));
  });

  it('export as NDJSON lines and CSV rows byte for byte as they did', async () => {
    const ndjsonEvents = (text: string) => text.split('\n').filter((l) => fixtureIds.has(/"id":"([^"]+)"/.exec(l)?.[1] ?? ''));
    const ndjson = ndjsonEvents(await exported('ndjson'));
    expect(ndjson).toHaveLength(FIXTURE_EVENTS.length);
    expect(ndjson).toEqual(ndjsonEvents(await fixture('eventFields.export.ndjson')));

    const csvRows = (text: string) => text.split('\n').filter((l, i) => i === 0 || fixtureIds.has(l.split(',')[1]!));
    const csv = csvRows(await exported('csv'));
    expect(csv).toHaveLength(FIXTURE_EVENTS.length + 1);
    expect(csv).toEqual(csvRows(await fixture('eventFields.export.csv')));
  });
});
