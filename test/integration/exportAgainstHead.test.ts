// `vigil verify-export`: an export (NDJSON or CSV) held offline against a checkpoint note
// from GET /checkpoint and the verifier key. A genuine export verifies; a changed, removed,
// added or reordered event fails, naming it; so does a note signed by another key. After
// retention, the NDJSON export carries the removed leaves' subtree hashes and still verifies.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalFieldsOf } from '../../shared/canonical.js';
import { chainHash } from '../../shared/chain.js';
import { verifyExportCommand } from '../../server/cli.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { runRetention } from '../../server/services/integrity.js';
import { integrateEvents, signTreeHead, treeLogOf } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ORIGIN = 'vigil.test/export';

/** Writes `text` to `name` in `dir`; answers the path. */
async function writeIn(dir: string, name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** `vigil verify-export` of an export text against a note and a key: its lines, or "FAILED <message>". */
async function verifyExportText(dir: string, exportText: string, options: { name: string; note: string; key: string }): Promise<string> {
  const file = await writeIn(dir, options.name, exportText);
  const checkpoint = await writeIn(dir, 'checkpoint.txt', options.note);
  return verifyExportCommand(['verify-export', '--export', file, '--checkpoint', checkpoint, '--key', options.key]).then(
    (lines) => lines.join('\n'),
    (e: Error) => `FAILED ${e.message}`,
  );
}

/** GET `path` (the export, the checkpoint) with the server's admin token; answers the body. */
async function fetchText(server: TestServer, path: string): Promise<string> {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
  expect(response.status).toBe(200);
  return response.text();
}

const downloadExport = (server: TestServer, format: string) => fetchText(server, `/export?format=${format}`);

describe.each(BACKENDS)('an export against a signed tree head (%s)', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let dir: string;
  const signer = generateSigner();
  const log = treeLogOf(signer, ORIGIN);
  let note: string;
  let ndjson: string[];
  let csv: string;

  const write = (name: string, text: string) => writeIn(dir, name, text);
  const check = (exportText: string, options: { key?: string; noteText?: string; name?: string } = {}) =>
    verifyExportText(dir, exportText, { name: options.name ?? 'events.ndjson', note: options.noteText ?? note, key: options.key ?? log.verifierKey });
  const download = (format: string) => downloadExport(server, format);
  /** The event lines of the NDJSON export, parsed, oldest first. */
  const events = () => ndjson.filter((l) => l.includes('"type":"event"')).map((l) => JSON.parse(l) as Record<string, any>).reverse();
  const withEvents = (list: Record<string, any>[]) => [ndjson[0]!, ...[...list].reverse().map((e) => JSON.stringify(e)), ndjson.at(-1)!].join('\n') + '\n';

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-export-head-'));
    server = await startTestServer(database.db, { signer, treeLog: log });
    await server.client.events.recordBatch.mutate({
      events: [
        { action: 'create', resourceType: 'workspace', resourceTarget: 'ws-1', actor: { username: 'ops', email: 'ops@example.com' }, ip: '10.0.0.7', metadata: { n: 1 } },
        // Cells CSV changes: one a spreadsheet would run (quoted), empty optional fields.
        { action: 'write', resourceType: 'workspace', resourceTarget: '=SUM(A1:A9)', resourceId: '-1', diff: { name: { old: 'a', new: 'b' } } },
        { action: 'delete', resourceType: 'user', resourceTarget: 'bob, "the builder"', userAgent: 'curl/8\nnext line', statusCode: 200 },
        ...Array.from({ length: 9 }, (_, i) => ({ action: 'login' as const, resourceType: 'user' as const, resourceTarget: `user-${i}`, actor: { username: `user-${i}` } })),
      ],
    });
    await integrateEvents(database.db);
    await signTreeHead(database.db, log);
    note = await fetchText(server, '/checkpoint');
    // Taken after the head, as an auditor would: the exports' own events are after it.
    ndjson = (await download('ndjson')).trimEnd().split('\n');
    csv = await download('csv');
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a genuine NDJSON or CSV export verifies against the head', async () => {
    expect(note).toMatch(new RegExp(`^${ORIGIN}\\n12\\n`));
    const out = await check(ndjson.join('\n') + '\n');
    expect(out).toMatch(/^ok: 13 events \(ndjson\) against the head of 12 events of vigil.test\/export: the signature verifies with the key, and the first 12 events/);
    expect(out).toContain('note: 1 events recorded after the head are not covered by it');
    expect(await check(csv, { name: 'events.csv' })).toMatch(/^ok: 14 events \(csv\) against the head of 12 events/);
    const keyFile = await write('pinned-key.txt', `${log.verifierKey}\n`);
    const byFile = await verifyExportCommand(['verify-export', '--export', await write('e.ndjson', ndjson.join('\n')), '--checkpoint', await write('c.txt', note), '--key-file', keyFile]);
    expect(byFile[0]).toMatch(/^ok: /);
  });

  it('a changed event fails, named, in NDJSON and in CSV', async () => {
    const list = events();
    list[4]!.resourceTarget = 'innocent';
    const out = await check(withEvents(list));
    expect(out).toMatch(/^FAILED FAILED: 13 events/);
    expect(out).toContain(`changed: seq ${list[4]!.seq} (${list[4]!.id}) no longer matches its hash`);
    expect(out).toMatch(/the first 12 events in seq order make the root \S+, the head signs \S+: they are not the events the head covers/);

    const changedCsv = csv.replace('user-3', 'user-X');
    expect(changedCsv).not.toBe(csv);
    expect(await check(changedCsv, { name: 'changed.csv' })).toMatch(/changed: seq \d+ \(\S+\) no longer matches its hash/);
  });

  it('a removed, an added and a reordered event each fail, named', async () => {
    const list = events();
    const removed = list.filter((_, i) => i !== 5);
    expect(await check(withEvents(removed))).toContain(`removed: events between seq ${list[4]!.seq} and seq ${list[6]!.seq} (${list[6]!.id}) are missing`);

    const forged: Record<string, any> = { ...list[7]!, id: '00000000-0000-4000-8000-000000000001', resourceTarget: 'forged', prevHash: list[6]!.hash, hash: 'f'.repeat(64) };
    const added = [...list.slice(0, 7), forged, ...list.slice(7).map((e) => ({ ...e, seq: e.seq + 1 }))];
    expect(await check(withEvents(added))).toContain(`added: seq ${forged.seq} (${forged.id}) is not part of the chain`);

    const swapped = list.map((e) => ({ ...e }));
    [swapped[2]!.seq, swapped[3]!.seq] = [list[3]!.seq, list[2]!.seq];
    const out = await check(withEvents(swapped));
    expect(out).toContain(`reordered: seq ${list[2]!.seq} (${list[3]!.id}) follows seq ${list[3]!.seq} in the chain, but seq ${list[1]!.seq} in the export`);
    expect(out).toMatch(/they are not the events the head covers/);

    // The chain recomputed to hide a removal (as an operator with the key could, re-signing
    // the export too): the chain has nothing to say, the root still does.
    const hidden = events();
    hidden.splice(5, 1);
    for (let i = 5; i < hidden.length; i++) {
      hidden[i]!.prevHash = hidden[i - 1]!.hash;
      hidden[i]!.hash = chainHash(hidden[i]!.prevHash, canonicalFieldsOf(hidden[i]!));
    }
    const rehashed = await check(withEvents(hidden));
    expect(rehashed).toMatch(/they are not the events the head covers \(their chain hashes were recomputed to hide which: compare with an earlier export\)/);
    expect(rehashed).not.toMatch(/removed:|changed:|added:|reordered:/);
  });

  it('a note signed by another key, a changed note, or a note of a larger tree fails', async () => {
    const other = treeLogOf(generateSigner(), ORIGIN);
    const foreign = await other.sign(note.slice(0, note.indexOf('\n\n') + 1));
    const genuine = ndjson.join('\n') + '\n';
    expect(await check(genuine, { noteText: foreign })).toMatch(/^FAILED FAILED: .*\n {2}the checkpoint does not verify with the given key: the note is not signed by vigil.test\/export\+[0-9a-f]{8}/);
    expect(await check(genuine, { noteText: note.replace('\n12\n', '\n11\n') })).toContain('the signature by vigil.test/export does not verify');
    // A head of more events than the export holds (say, the export was cut short).
    const cut = withEvents(events().slice(0, 10));
    expect(await check(cut)).toContain('the head covers 12 events, the export holds 10: 2 missing');
  });

  it('refuses bad usage clearly', async () => {
    await expect(verifyExportCommand(['verify-export', '--export', 'x.ndjson'])).rejects.toThrow(/^verify-export needs --checkpoint/);
    await expect(verifyExportCommand(['verify-export', '--export', 'x', '--checkpoint', 'y'])).rejects.toThrow(/needs the verifier key: --key or --key-file/);
    await expect(verifyExportCommand(['verify-export', '--export', path.join(dir, 'none.ndjson'), '--checkpoint', await write('n.txt', note), '--key', log.verifierKey])).rejects.toThrow(/^--export \S+none.ndjson: no such file$/);
  });
});

describe.each(BACKENDS)('an export taken after retention, against a signed tree head (%s)', (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let dir: string;
  const signer = generateSigner();
  const log = treeLogOf(signer, ORIGIN);
  let note: string;
  let ndjson: string[];

  const check = (exportText: string, name = 'kept.ndjson') => verifyExportText(dir, exportText, { name, note, key: log.verifierKey });
  const download = (format: string) => downloadExport(server, format);
  const header = () => JSON.parse(ndjson[0]!) as Record<string, any>;
  const withHeader = (changed: Record<string, any>) => [JSON.stringify(changed), ...ndjson.slice(1)].join('\n') + '\n';

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-export-retained-'));
    server = await startTestServer(database.db, { signer, treeLog: log });
    // Eleven old events (removed by retention: a tree of 11 leaves has three complete subtrees), then new ones.
    const old = () => new Date('2026-01-01T00:00:00.000Z');
    const writer = new EventWriter(database.db);
    await recordEvents(writer, Array.from({ length: 11 }, (_, i) => ({ action: 'create' as const, resourceType: 'workspace' as const, resourceTarget: `old-${i}` })), old);
    const result = await runRetention(database.db, writer, signer, { retentionDays: 30 });
    expect(result.deleted).toBe(11);
    await server.client.events.recordBatch.mutate({
      events: Array.from({ length: 6 }, (_, i) => ({ action: 'write' as const, resourceType: 'template' as const, resourceTarget: `kept-${i}`, diff: { n: { old: i, new: i + 1 } } })),
    });
    await integrateEvents(database.db);
    await signTreeHead(database.db, log);
    note = await fetchText(server, '/checkpoint');
    ndjson = (await download('ndjson')).trimEnd().split('\n');
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verifies: the header carries the removed leaves as subtree hashes, bound by the signed root', async () => {
    // 11 removed, then the retention `delete` event and the 6 new ones: a head of 18.
    expect(note).toMatch(new RegExp(`^${ORIGIN}\\n18\\n`));
    expect(header().treeStart).toEqual({ leafIndex: 11, subtrees: [expect.any(String), expect.any(String), expect.any(String)] });
    const out = await check(ndjson.join('\n') + '\n');
    expect(out).toMatch(/^ok: 8 events \(ndjson\) against the head of 18 events of vigil.test\/export: .* the first 7 events in seq order \(after the 11 leaves of events removed by retention, from the export's header\) make the root it signs/);
  });

  it('a changed kept event, a forged removed leaf or a dropped treeStart each fail', async () => {
    const lines = ndjson.map((l) => l.replace('"kept-2"', '"kept-X"'));
    expect(await check(lines.join('\n') + '\n', 'changed.ndjson')).toMatch(/changed: seq \d+ \(\S+\) no longer matches its hash/);

    const forged = header();
    forged.treeStart.subtrees[1] = Buffer.alloc(32, 7).toString('base64');
    const out = await check(withHeader(forged), 'forged.ndjson');
    expect(out).toMatch(/^FAILED FAILED: /);
    expect(out).toMatch(/the first 7 events in seq order after the 11 removed by retention make the root \S+, the head signs \S+/);

    const malformed = header();
    malformed.treeStart.subtrees.pop();
    expect(await check(withHeader(malformed), 'malformed.ndjson')).toContain("the header's treeStart is malformed");

    const dropped = header();
    delete dropped.treeStart;
    const without = await check(withHeader(dropped), 'dropped.ndjson');
    expect(without).toContain('the head covers 18 events, the export holds 8: 10 missing');
    expect(without).toContain('removed: the first exported event');
  });

  it('a CSV export after retention fails, pointing to the NDJSON export', async () => {
    const out = await check(await download('csv'), 'kept.csv');
    expect(out).toMatch(/^FAILED FAILED: /);
    expect(out).toContain("note: a CSV export cannot carry the tree hashes of events removed by retention; the NDJSON export of the same moment carries them (its header's treeStart)");
  });
});
