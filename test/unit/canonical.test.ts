// The canonical form: the time fast path agrees with the Date round trip for every time;
// every key of diff and metadata is hashed; an export made before still verifies.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvent, isoTime } from '../../shared/canonical.js';
import { verifyExportFile, verifyExportLines } from '../../shared/verifyExport.js';

describe('isoTime', () => {
  it('agrees with Date#toISOString for any instant, as a string or a Date', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        expect(isoTime(iso)).toBe(iso);
        expect(isoTime(d)).toBe(iso);
      }),
      { numRuns: 20_000 },
    );
  });

  it('normalises other spellings of a time (offsets, precision, rolled-over days) through Date', () => {
    for (const value of ['2026-11-21T10:00:00+02:00', '2026-11-21T08:00:00Z', '2026-11-21T08:00:00.5Z', '2026-02-30T00:00:00.000Z', '2026-11-21T08:00:00.123456Z']) {
      expect(isoTime(value)).toBe(new Date(value).toISOString());
    }
  });
});

describe('canonicalEvent', () => {
  const base = {
    id: '3F2504E0-4F89-41D3-9A0C-0305E82C3301',
    time: '2026-05-01T10:00:00.000Z',
    recordedAt: new Date('2026-05-01T10:00:01.000Z'),
    action: 'create',
    resourceType: 'workspace',
    resourceId: null,
    resourceTarget: 'ws-1',
    actorId: null,
    actorUsername: 'alice',
    actorEmail: null,
    ip: null,
    userAgent: null,
    statusCode: null,
    requestId: null,
    diff: {},
    metadata: {},
  };

  it('covers every key, __proto__ and constructor included, at any depth', () => {
    // As JSON.parse and the database drivers give them: `__proto__` as an own key.
    for (const json of [
      '{"__proto__":{"approvedBy":"mallory"}}',
      '{"a":{"__proto__":{"approvedBy":"mallory"}}}',
      '{"a":[{"__proto__":1}]}',
      '{"constructor":{"approvedBy":"mallory"}}',
    ]) {
      const metadata = JSON.parse(json);
      const canonical = canonicalEvent({ ...base, metadata });
      expect(canonical).not.toBe(canonicalEvent(base));
      expect(JSON.stringify(JSON.parse(canonical).at(-1))).toBe(JSON.stringify(metadata));
      expect(canonicalEvent({ ...base, diff: metadata })).not.toBe(canonicalEvent(base));
    }
    expect(canonicalEvent({ ...base, metadata: JSON.parse('{"__proto__":{"a":1}}') })).not.toBe(
      canonicalEvent({ ...base, metadata: JSON.parse('{"__proto__":{"a":2}}') }),
    );
  });

  it('keeps the form of ordinary events: keys sorted at every depth, integer-like keys first', () => {
    const canonical = canonicalEvent({ ...base, metadata: { b: { z: 1, a: [{ y: 2, b: 3 }] }, a: null, '10': 1, '9': 2 } });
    expect(canonical).toBe(
      '["vigil.event.v1","3f2504e0-4f89-41d3-9a0c-0305e82c3301","2026-05-01T10:00:00.000Z","2026-05-01T10:00:01.000Z","create","workspace",null,"ws-1",null,"alice",null,null,null,null,null,{},{"9":2,"10":1,"a":null,"b":{"a":[{"b":3,"y":2}],"z":1}}]',
    );
  });
});

describe('an export made by an earlier version', () => {
  // Written by Vigil before `__proto__` keys were hashed (and before checkpoints were
  // chained): ordinary events must hash as they did, so old exports keep verifying.
  const fixture = (name: string) => path.join(import.meta.dirname, '../integration/fixtures', name);

  it('still verifies, offline, against its pinned key', async () => {
    const report = await verifyExportFile(fixture('export-v1.ndjson'), { publicKeyPem: await readFile(fixture('export-v1.pem'), 'utf8') });
    expect(report).toMatchObject({ ok: true, rows: 5, eventsVerified: 5, chainVerified: true, signatureVerified: true, checkpoint: 'verified', problems: [] });
  });

  it('an edit to one of its events is still caught', async () => {
    const lines = (await readFile(fixture('export-v1.ndjson'), 'utf8')).trimEnd().split('\n');
    const edited = lines.map((line) => line.replace('"constructor":{"name":"kept"}', '"constructor":{"name":"edited"}'));
    expect(edited).not.toEqual(lines);
    const report = await verifyExportLines(edited, { publicKeyPem: await readFile(fixture('export-v1.pem'), 'utf8') });
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/^seq 2: its content does not match its hash/);
  });
});
