// GET /export: who may export, bad input, ~20,000 events streamed as NDJSON and CSV that
// match events.list for the same query, offline verification by the standalone script
// (and its failure on a tampered file), the export's own `read` event, and backpressure.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { CSV_COLUMNS } from '../../server/services/export.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createSimulator } from '../../server/tools/simulator.js';
import type { AuditEvent } from '../../shared/event.js';
import { eventInputSchema } from '../../shared/event.js';
import { verifyExportFile, verifyExportLines } from '../../shared/verifyExport.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const EVENTS = 20_000;

/** Realistic events straight into the store (as the API would record them), in batches. */
async function seed(db: Database, count: number, seedValue: number): Promise<number> {
  const writer = new EventWriter(db);
  const sim = createSimulator({ seed: seedValue });
  const end = new Date();
  let batch = [];
  // About `count`: the simulator's hourly mix depends on the hour `end` falls in.
  let seeded = 0;
  for (const event of sim.backfill(14, Math.ceil(count / 14), end)) {
    seeded++;
    batch.push(eventInputSchema.parse(event));
    if (batch.length === 1000) {
      await recordEvents(writer, batch);
      batch = [];
      // PGlite answers through microtasks only: let timers (keep-alive sockets) run.
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  if (batch.length) await recordEvents(writer, batch);
  return seeded;
}

/** Every item events.list answers for `q`, page by page. */
async function listAll(server: TestServer, q: string): Promise<AuditEvent[]> {
  const items: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await server.client.events.list.query({ q, limit: 200, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

function exportUrl(server: TestServer, params: Record<string, string>): string {
  return `${server.url}/export?${new URLSearchParams(params)}`;
}

async function download(server: TestServer, params: Record<string, string>, token = server.token) {
  const response = await fetch(exportUrl(server, params), { headers: { authorization: `Bearer ${token}` } });
  return { response, text: await response.text() };
}

function ndjson(text: string): Record<string, any>[] {
  return text.trimEnd().split('\n').map((line) => JSON.parse(line));
}

/** An exported event line without its export-only fields: an events.list item. */
function asListItem(record: Record<string, unknown>): Record<string, unknown> {
  const { type: _type, prevHash: _prev, ...event } = record;
  return event;
}

async function metricValue(server: TestServer, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe.each(BACKENDS)('export on %s', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let dir: string;
  /** How many events seed() recorded (about EVENTS + 500). */
  let seeded = 0;
  const signer = generateSigner();
  const tokens: Record<'auditor' | 'member' | 'reader' | 'writer', string> = { auditor: '', member: '', reader: '', writer: '' };

  async function loginAs(role: 'auditor' | 'member'): Promise<string> {
    const username = `${role}-${backend}`;
    await server.client.users.create.mutate({ username, role, password: 'correct horse battery' });
    const { body } = await rawCall(server, 'auth.login', { body: JSON.stringify({ username, password: 'correct horse battery' }), token: null });
    return body.result.data.token;
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    server = await startTestServer(database.db, { signer });
    dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-export-'));
    tokens.auditor = await loginAs('auditor');
    tokens.member = await loginAs('member');
    tokens.reader = (await server.client.tokens.create.mutate({ name: 'siem', scopes: ['events:write', 'events:read'] })).token;
    tokens.writer = (await server.client.tokens.create.mutate({ name: 'app', scopes: ['events:write'] })).token;
    seeded = await seed(database.db, EVENTS, 7);
    // A signed checkpoint the exports can be held against, then more events after it.
    await server.client.integrity.checkpoint.mutate();
    seeded += await seed(database.db, 500, 8);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('no token is 401, a member or a write-only service token 403, a bad query or format 400', async () => {
    const anonymous = await fetch(exportUrl(server, {}));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await anonymous.json()).error.code).toBe('UNAUTHORIZED');
    expect((await download(server, {}, 'vgl_not-a-token')).response.status).toBe(401);
    const member = await download(server, {}, tokens.member);
    expect(member.response.status).toBe(403);
    expect(JSON.parse(member.text).error.code).toBe('FORBIDDEN');
    expect((await download(server, {}, tokens.writer)).response.status).toBe(403);

    const badQuery = await download(server, { q: 'date_to:2026-13-01' });
    expect(badQuery.response.status).toBe(400);
    expect(JSON.parse(badQuery.text).error.message).toBe('q: term "date_to:2026-13-01" has an invalid date "2026-13-01"; use YYYY-MM-DD');
    const head = await fetch(exportUrl(server, {}), { method: 'HEAD', headers: { authorization: `Bearer ${server.token}` } });
    expect(head.status).toBe(405);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const other = await fetch(exportUrl(server, {}), { method, headers: { authorization: `Bearer ${server.token}` } });
      expect(other.status, method).toBe(405);
      expect(other.headers.get('allow'), method).toBe('GET');
      expect(await other.json(), method).toEqual({ error: { code: 'METHOD_NOT_SUPPORTED', message: 'GET /export only' } });
    }
    const badFormat = await download(server, { format: 'xlsx' });
    expect(badFormat.response.status).toBe(400);
    expect(JSON.parse(badFormat.text).error.message).toBe('format: one of ndjson, csv');
    // Refused exports are not recorded as reads.
    const reads = await listAll(server, 'action:read resource_type:audit_log');
    expect(reads.filter((e) => e.actor?.username === `member-${backend}` || e.actor?.username === 'service:app' || e.actor?.username === 'bootstrap-token')).toEqual([]);
  });

  it(`a complete NDJSON export (~${EVENTS} events) matches events.list and verifies offline with the script`, async () => {
    const { response, text } = await download(server, { format: 'ndjson' }, tokens.auditor);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="vigil-audit-.*\.ndjson"$/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const records = ndjson(text);
    const [header, ...rest] = records;
    const trailer = rest.pop()!;
    expect(header).toMatchObject({ type: 'header', format: 'vigil.export.v1', complete: true, query: '', keyId: signer.keyId });
    expect(header!.checkpoint).toMatchObject({ kind: 'on_demand', keyId: signer.keyId });
    expect(trailer).toMatchObject({ type: 'trailer', rows: rest.length });
    // Every seeded event, and the events the test's own calls recorded (logins, tokens).
    expect(rest.length).toBeGreaterThan(seeded);

    // Row for row what events.list answers for the same query (read after: the export is a
    // snapshot at its head, and nothing was recorded since).
    const listed = await listAll(server, '');
    expect(rest.map(asListItem)).toEqual(listed);
    // The export recorded itself, and is part of its own snapshot (it is the newest event).
    expect(listed[0]).toMatchObject({ action: 'read', resourceType: 'audit_log', actor: { username: `auditor-${backend}` }, metadata: { export: true, query: '', format: 'ndjson' } });
    expect(listed[0]!.requestId).toBe(response.headers.get('x-request-id'));
    expect(header!.head).toEqual({ seq: listed[0]!.seq, hash: listed[0]!.hash });

    // The third party: the file and the public key fetched beforehand, nothing else.
    const file = path.join(dir, `complete-${backend}.ndjson`);
    const keyFile = path.join(dir, 'vigil.pem');
    await writeFile(file, text);
    await writeFile(keyFile, await (await fetch(`${server.url}/integrity/public-key`)).text());
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'shared/verifyExport.ts', file, '--public-key', keyFile]);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: true,
      complete: true,
      chainVerified: true,
      signatureVerified: true,
      checkpoint: 'verified',
      keyPinned: true,
      rows: rest.length,
      eventsVerified: rest.length,
      problems: [],
    });
    expect(stderr).toContain(`verified: ${rest.length} events, the complete chain to the head`);
  });

  it('a tampered, truncated or re-signed export fails verification, naming what is wrong', async () => {
    const { text } = await download(server, { q: 'action:cordon,uncordon,delete' });
    const lines = text.trimEnd().split('\n');
    const ok = await verifyExportLines(lines, { publicKeyPem: signer.publicKeyPem });
    expect(ok.ok).toBe(true);

    const edited = [...lines];
    const victim = JSON.parse(edited[2]!);
    edited[2] = JSON.stringify({ ...victim, resourceTarget: 'someone-else' });
    const changed = await verifyExportLines(edited, { publicKeyPem: signer.publicKeyPem });
    expect(changed.ok).toBe(false);
    expect(changed.problems[0]).toBe(`seq ${victim.seq}: its content does not match its hash (changed after it was recorded)`);

    const removed = await verifyExportLines([...lines.slice(0, 3), ...lines.slice(4)], { publicKeyPem: signer.publicKeyPem });
    expect(removed.ok).toBe(false);
    expect(removed.problems.join('\n')).toContain('the trailer counts');

    const truncated = await verifyExportLines(lines.slice(0, -5), { publicKeyPem: signer.publicKeyPem });
    expect(truncated.problems).toContain('no trailer: the export is truncated (the download was cut short, or rows were removed from its end)');

    // A forger's own key: everything verifies with the key in the file, but not with the pinned one.
    const otherKey = generateSigner();
    const pinnedToOther = await verifyExportLines(lines, { publicKeyPem: otherKey.publicKeyPem });
    expect(pinnedToOther.problems).toContain('the export is signed by another key than the pinned one (--public-key)');
  });

  it('a filtered export matches events.list for the same query and verifies each event', async () => {
    const q = 'action:delete,cordon,write -resource_type:settings since:7d';
    const { response, text } = await download(server, { q }, tokens.reader);
    expect(response.status).toBe(200);
    const records = ndjson(text);
    const events = records.slice(1, -1);
    expect(records[0]).toMatchObject({ complete: false, query: q });
    const listed = await listAll(server, q);
    expect(listed.length).toBeGreaterThan(100);
    expect(events.map(asListItem)).toEqual(listed);
    const file = path.join(dir, `filtered-${backend}.ndjson`);
    await writeFile(file, text);
    const report = await verifyExportFile(file, { publicKeyPem: signer.publicKeyPem });
    expect(report).toMatchObject({ ok: true, complete: false, chainVerified: false, signatureVerified: true, eventsVerified: listed.length });
    // The service token's export is recorded with its actor.
    const [read] = (await server.client.events.list.query({ q: 'action:read username:"service:siem"', limit: 1 })).items;
    expect(read).toMatchObject({ metadata: { export: true, query: q, format: 'ndjson' } });
  });

  it('CSV has a header, every field (diff and metadata as JSON) and the same rows', async () => {
    const q = 'resource_type:settings,token';
    const { response, text } = await download(server, { q, format: 'csv' }, tokens.auditor);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('x-vigil-key-id')).toBe(signer.keyId);
    const rows: Record<string, string>[] = parseCsv(text, { columns: true });
    expect(text.split('\n')[0]).toBe(CSV_COLUMNS.join(','));
    const listed = await listAll(server, q);
    expect(rows.map((r) => Number(r.seq))).toEqual(listed.map((e) => e.seq));
    for (const [i, row] of rows.entries()) {
      const e = listed[i]!;
      expect(row).toMatchObject({ id: e.id, time: e.time, action: e.action, resource_target: e.resourceTarget, hash: e.hash, actor_username: e.actor?.username ?? '' });
      expect(JSON.parse(row.diff!)).toEqual(e.diff);
      expect(JSON.parse(row.metadata!)).toEqual(e.metadata);
      expect(row.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // Secrets: only the flag, never a value.
    const secret = rows.find((r) => r.diff!.includes('"secret":true'));
    expect(secret).toBeDefined();
    for (const r of rows) {
      for (const entry of Object.values(JSON.parse(r.diff!) as Record<string, { secret?: boolean }>)) {
        if (entry.secret) expect(Object.keys(entry)).toEqual(['secret']);
      }
    }
  });

  it('CSV cells that a spreadsheet would run as formulas are escaped', async () => {
    await server.client.events.record.mutate({ action: 'create', resourceType: 'workspace', resourceTarget: '=HYPERLINK("http://evil")' });
    const { text } = await download(server, { q: 'resource_type:workspace since:1h action:create', format: 'csv' });
    const rows: Record<string, string>[] = parseCsv(text, { columns: true });
    expect(rows.find((r) => r.resource_target!.includes('HYPERLINK'))!.resource_target).toBe(`'=HYPERLINK("http://evil")`);
  });

  it('streams with backpressure: a reader that stops holds the server back, and leaving stops it', async () => {
    const before = await metricValue(server, 'vigil_export_rows_total', 'format="ndjson"');
    const abortedBefore = await metricValue(server, 'vigil_exports_total', 'format="ndjson",outcome="aborted"');
    const controller = new AbortController();
    const response = await fetch(exportUrl(server, {}), { headers: { authorization: `Bearer ${server.token}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = (await metricValue(server, 'vigil_export_rows_total', 'format="ndjson"')) - before;
    // Only what fits in the socket buffers (several MB on loopback) was read from the
    // database, not all ~20,500 rows; the benchmark (test/bench/export.ts) shows it at 1M.
    expect(whilePaused).toBeGreaterThan(0);
    expect(whilePaused).toBeLessThan(EVENTS * 0.75);
    controller.abort();
    await expect.poll(() => metricValue(server, 'vigil_exports_total', 'format="ndjson",outcome="aborted"'), { timeout: 5000 }).toBe(abortedBefore + 1);
    const afterAbort = await metricValue(server, 'vigil_export_rows_total', 'format="ndjson"');
    await new Promise((r) => setTimeout(r, 300));
    expect(await metricValue(server, 'vigil_export_rows_total', 'format="ndjson"')).toBe(afterAbort);
  });
});

describe('the export format', () => {
  it('the verifier checks checkpoints with the statement the server signs', async () => {
    const { checkpointStatement: serverStatement } = await import('../../server/services/integrity.js');
    const { checkpointStatement: verifierStatement } = await import('../../shared/verifyExport.js');
    const c = { kind: 'on_demand' as const, seq: 42, hash: 'a'.repeat(64), createdAt: new Date('2026-01-02T03:04:05.678Z') };
    expect(verifierStatement({ ...c, createdAt: c.createdAt.toISOString() })).toBe(serverStatement(c));
    // A chained checkpoint signs its link and count too.
    const chained = { ...c, prevId: 3, prevDigest: 'b'.repeat(64), events: 7 };
    expect(serverStatement(chained)).not.toBe(serverStatement(c));
    expect(serverStatement({ ...chained, prevDigest: 'c'.repeat(64) })).not.toBe(serverStatement(chained));
    expect(serverStatement({ ...chained, events: 8 })).not.toBe(serverStatement(chained));
  });

  it('reads a file written to disk exactly as downloaded', async () => {
    // (the CLI reads the file line by line; CRLF line ends from a Windows copy are tolerated by readline)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-export-'));
    const file = path.join(dir, 'empty.ndjson');
    await writeFile(file, 'not json\n');
    const report = await verifyExportFile(file);
    expect(report.ok).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('not json\n');
    await rm(dir, { recursive: true, force: true });
  });
});
