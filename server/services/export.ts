// Exports of the audit log: the events a query matches, streamed from the database in
// keyset-paginated chunks (constant memory whatever the size; a chunk is read only when
// the client has taken the previous one, so a slow reader holds the server back, not its
// memory), as CSV for spreadsheets or NDJSON with everything needed to verify it offline
// (shared/verifyExport.ts documents the format and checks it).
//
// Every export is itself an audit event (`read` on `audit_log`, the query in metadata),
// recorded before the first byte is sent: no record, no export.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { DiffEntry } from '../../shared/event.js';
import { EXPORTED_FIELDS, type EventField } from '../../shared/eventFields.js';
import { EXPORT_FORMAT, exportStatement, type ExportHeader, type ExportTrailer } from '../../shared/verifyExport.js';
import { selectExportChunk, type EventQuery, type ExportRow, type Position } from '../db/auditEventsStore.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import { selectChainStart, selectHead, selectLatestCheckpointThrough } from '../db/integrityStore.js';
import { exportRows } from '../metrics.js';
import { actorOf, requestFields, usernameOf, type Caller } from './caller.js';
import { parseQueryFor, recordEvents, resolveFilter, toAuditEvent, type Clock } from './events.js';
import { toPublicCheckpoint } from './integrity.js';
import { treePrefix } from './merkleTree.js';
import type { Signer } from './signingKey.js';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Rows per database read: big enough to amortise a round trip, small enough to hold. */
export const EXPORT_CHUNK_ROWS = 1000;

/** CSV columns: the exported fields (shared/eventFields.ts), then the chain predecessor's hash. */
export const CSV_COLUMNS = [...EXPORTED_FIELDS.map((f) => f.column), 'prev_hash'];

export interface ExportRequest {
  q: string | undefined;
  format: ExportFormat;
  caller: Caller;
  request: { ip: string | null; userAgent: string | null; requestId: string | undefined };
  clock?: Clock;
  chunkRows?: number;
}

export interface StartedExport {
  /** Integrity data as HTTP headers too (the only place a CSV export can carry it). */
  headers: Record<string, string>;
  contentType: string;
  filename: string;
  /** The body; destroy it to stop reading the database. */
  body: Readable;
  /** Events sent so far. */
  rows: () => number;
}

/** Secrets are never stored; this only guards an export against a row written some other way. */
function maskedDiff(diff: Record<string, DiffEntry>): Record<string, DiffEntry> {
  let masked: Record<string, DiffEntry> | null = null;
  for (const [field, entry] of Object.entries(diff)) {
    if (entry.secret && ('old' in entry || 'new' in entry)) {
      masked ??= { ...diff };
      masked[field] = { secret: true };
    }
  }
  return masked ?? diff;
}

/** The events of an export, chunk by chunk, with each one's predecessor hash resolved. */
async function* chunksOf(
  db: Database,
  query: EventQuery,
  throughSeq: number,
  chainStartHash: string,
  chunkRows: number,
  format: ExportFormat,
): AsyncGenerator<ExportRow[]> {
  let after: Position | undefined;
  for (;;) {
    const rows = await selectExportChunk(db, query, after, throughSeq, chunkRows);
    if (rows.length === 0) return;
    exportRows.inc({ format }, rows.length);
    for (const row of rows) {
      row.prevHash ??= chainStartHash;
      row.diff = maskedDiff(row.diff);
    }
    yield rows;
    if (rows.length < chunkRows) return;
    const last = rows.at(-1)!;
    after = { time: last.time, seq: last.seq };
  }
}

/** A CSV cell of a field: times in ISO form, JSON as text. */
function csvCell(f: EventField, value: unknown): string | number | null {
  if (value instanceof Date) return value.toISOString();
  if (f.sqlType === 'jsonb') return JSON.stringify(value);
  return value as string | number | null;
}

function csvRecord(row: ExportRow): Record<string, string | number | null> {
  const record: Record<string, string | number | null> = {};
  for (const f of EXPORTED_FIELDS) record[f.column] = csvCell(f, (row as Record<string, unknown>)[f.key]);
  record.prev_hash = row.prevHash;
  return record;
}

/**
 * Checks the query, records the export, fixes the snapshot (the chain head now: events
 * recorded later are not part of it) and answers the body to stream. Throws the
 * parser's BAD_REQUEST for a bad query, before anything is recorded.
 */
export async function startExport(db: Database, events: EventWriter, signer: Signer, input: ExportRequest): Promise<StartedExport> {
  const clock = input.clock ?? (() => new Date());
  const now = clock();
  const filter = parseQueryFor(input.q, usernameOf(input.caller));
  const query = resolveFilter(filter, now);
  const complete = Object.keys(query.fields).length === 0 && !query.from && !query.to;

  await recordEvents(
    events,
    [
      {
        action: 'read',
        resourceType: 'audit_log',
        resourceTarget: 'audit_events',
        actor: actorOf(input.caller),
        ...requestFields(input.request),
        metadata: { export: true, query: input.q ?? '', format: input.format },
      },
    ],
    clock,
  );

  // The head includes the export's own `read` event (recorded just above).
  const head = (await selectHead(db))!;
  const chainStart = await selectChainStart(db);
  const checkpointRow = await selectLatestCheckpointThrough(db, head.seq);
  const checkpoint = checkpointRow ? toPublicCheckpoint(checkpointRow) : null;
  const treeStart = chainStart.seq > 0 ? await treePrefix(db, chainStart.seq) : null;
  const chunkRows = input.chunkRows ?? EXPORT_CHUNK_ROWS;
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const headers: Record<string, string> = {
    'x-vigil-export-format': EXPORT_FORMAT,
    'x-vigil-head-seq': String(head.seq),
    'x-vigil-head-hash': head.hash,
    'x-vigil-chain-start-hash': chainStart.hash,
    'x-vigil-key-id': signer.keyId,
    ...(checkpoint ? { 'x-vigil-checkpoint': JSON.stringify(checkpoint) } : {}),
    ...(treeStart ? { 'x-vigil-tree-start': JSON.stringify(treeStart) } : {}),
  };
  let sent = 0;
  const chunks = chunksOf(db, query, head.seq, chainStart.hash, chunkRows, input.format);

  if (input.format === 'csv') {
    // One string per database chunk (not one write per row: a million tiny chunks cost
    // more than the rows). escape_formulas: a cell starting with = + - @ is prefixed with
    // ' so a spreadsheet shows it instead of running it (CSV injection); the NDJSON
    // export is the byte-exact one.
    async function* csvText(): AsyncGenerator<string> {
      yield stringifyCsv([], { header: true, columns: [...CSV_COLUMNS] });
      for await (const rows of chunks) {
        sent += rows.length;
        yield stringifyCsv(rows.map(csvRecord), { header: false, columns: [...CSV_COLUMNS], escape_formulas: true });
      }
    }
    const body = Readable.from(csvText(), { highWaterMark: 1, objectMode: true });
    return { headers, contentType: 'text/csv; charset=utf-8', filename: `vigil-audit-${stamp}.csv`, body, rows: () => sent };
  }

  async function* lines(): AsyncGenerator<string> {
    const digest = createHash('sha256');
    const emit = (text: string) => {
      digest.update(text);
      return text;
    };
    const header: ExportHeader = {
      type: 'header',
      format: EXPORT_FORMAT,
      exportedAt: now.toISOString(),
      query: input.q ?? '',
      complete,
      order: 'time desc, seq desc',
      head,
      chainStart,
      checkpoint,
      ...(treeStart ? { treeStart } : {}),
      publicKey: signer.publicKeyPem,
      keyId: signer.keyId,
      hashRule: 'hash = SHA-256(prevHash || canonicalEvent(event)), see shared/canonical.ts; verify with shared/verifyExport.ts',
    };
    yield emit(`${JSON.stringify(header)}\n`);
    for await (const rows of chunks) {
      let text = '';
      for (const row of rows) text += `${JSON.stringify({ type: 'event', ...toAuditEvent(row), prevHash: row.prevHash })}\n`;
      sent += rows.length;
      yield emit(text);
    }
    const sha256 = digest.digest('hex');
    const trailer: ExportTrailer = {
      type: 'trailer',
      rows: sent,
      sha256,
      signature: signer.sign(exportStatement(sha256, sent)),
      keyId: signer.keyId,
    };
    yield `${JSON.stringify(trailer)}\n`;
  }
  // One chunk (a database read's worth of lines) buffered at a time.
  const body = Readable.from(lines(), { highWaterMark: 1, objectMode: true });
  return {
    headers,
    contentType: 'application/x-ndjson; charset=utf-8',
    filename: `vigil-audit-${stamp}.ndjson`,
    body,
    rows: () => sent,
  };
}
