// Offline check of an export against a signed tree head (a C2SP checkpoint note, e.g. the
// one an external witness kept from GET /checkpoint): the note's signature with the
// verifier key the checker pinned, then the Merkle tree root recomputed from the exported
// events — leaf i is the i-th event in seq order, SHA-256(0x00 ‖ canonicalEvent) — and
// compared with the note's root. The export must hold every event from leaf 0 through the
// note's tree size (GET /export with no query, NDJSON or CSV, taken after the note);
// events recorded after the note are ignored. After retention, an NDJSON export's header
// carries the tree's hashes of the removed events' leaves (treeStart), which stand in for
// them: the signed root binds them as it binds the events.
//
// The root says whether the events are the ones the head signed. Where they are not, the
// events' chain hashes say which: an event whose content no longer matches its hash was
// changed; a predecessor hash no exported event has means events were removed; an event
// no one chains from was added; a predecessor exported elsewhere means reordered. An
// operator who also recomputed the chain hashes is still caught by the root, but then the
// root cannot say which event differs.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { canonicalEvent, canonicalFieldsOf, GENESIS_HASH, type CanonicalEventFields } from './canonical.js';
import { chainHash } from './chain.js';
import { EXPORTED_FIELDS, HASHED_FIELDS, type EventField } from './eventFields.js';
import { appendLeaves, foldSubtrees, hashesEqual, leafHash, rootOf, subtreesOfRange, type Hash } from './merkle.js';
import { NoteError, verifyCheckpoint, type Checkpoint } from './signedNote.js';
import { fromBase64, toBase64 } from './base64.js';
import { EXPORT_FORMAT, type ExportTreeStart } from './verifyExport.js';

export interface ExportHeadReport {
  ok: boolean;
  format: 'ndjson' | 'csv' | null;
  /** The note verified with the given key. */
  signatureVerified: boolean;
  /** The head's size and origin (when the note could be read). */
  treeSize: number | null;
  origin: string | null;
  /** Events in the export, and how many of them the head covers (the first treeSize in seq order). */
  events: number;
  covered: number;
  /** Leaves before the first exported event, removed by retention (their hashes came with the export). */
  removedByRetention: number;
  /** The root of the covered events equals the note's. */
  rootMatches: boolean;
  /** What is wrong, the first few, each naming the event (seq and id). */
  problems: string[];
  notes: string[];
}

/** One exported event, reduced to what the check needs. */
interface ExportedLeaf {
  seq: number;
  id: string;
  hash: string;
  prevHash: string;
  leaf: Hash;
  /** Its content matches its own chain hash. */
  intact: boolean;
}

const MAX_PROBLEMS = 20;
const utf8 = new TextEncoder();
const leafOf = (fields: CanonicalEventFields): Hash => leafHash(utf8.encode(canonicalEvent(fields)));

function fromListed(e: Record<string, unknown>): ExportedLeaf {
  const fields = canonicalFieldsOf(e);
  const hash = String(e.hash);
  const prevHash = String(e.prevHash);
  return { seq: Number(e.seq), id: String(e.id), hash, prevHash, leaf: leafOf(fields), intact: chainHash(prevHash, fields) === hash };
}

/** The characters csv-stringify's escape_formulas prefixes with a quote. */
const FORMULA_START = /^'[-=+@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * The values a CSV cell may stand for. CSV loses two things: null and '' are both empty,
 * and a cell a spreadsheet would run as a formula got a leading quote. The event's own
 * hash settles which reading is the recorded one.
 */
function readingsOf(f: EventField, cell: string): unknown[] {
  if (f.sqlType === 'jsonb') {
    try {
      return [JSON.parse(cell)];
    } catch {
      return [cell];
    }
  }
  if (f.sqlType === 'integer' || f.sqlType === 'bigint') return cell === '' ? [null] : [Number(cell)];
  const readings: unknown[] = [];
  if (cell === '' && f.nullable) readings.push(null);
  if (FORMULA_START.test(cell)) readings.push(cell.slice(1));
  readings.push(cell);
  return readings;
}

/** At most this many readings of one row are tried before it counts as changed. */
const MAX_READINGS = 512;

function fromCsv(record: Record<string, string>): ExportedLeaf {
  const hash = record.hash ?? '';
  const prevHash = record.prev_hash ?? '';
  const options = HASHED_FIELDS.map((f) => readingsOf(f, record[f.column] ?? ''));
  const fieldsOf = (choice: number[]): CanonicalEventFields => {
    const fields: Record<string, unknown> = {};
    HASHED_FIELDS.forEach((f, i) => (fields[f.key] = options[i]![choice[i]!]));
    return fields as CanonicalEventFields;
  };
  // Every combination of readings, the likeliest (each cell's first) first.
  const choice = options.map(() => 0);
  for (let tried = 0; tried < MAX_READINGS; tried++) {
    const fields = fieldsOf(choice);
    if (chainHash(prevHash, fields) === hash) return { seq: Number(record.seq), id: record.id ?? '', hash, prevHash, leaf: leafOf(fields), intact: true };
    let i = 0;
    while (i < choice.length && ++choice[i]! >= options[i]!.length) choice[i++] = 0;
    if (i === choice.length) break;
  }
  return { seq: Number(record.seq), id: record.id ?? '', hash, prevHash, leaf: leafOf(fieldsOf(options.map(() => 0))), intact: false };
}

interface ReadExport {
  format: 'ndjson' | 'csv' | null;
  leaves: ExportedLeaf[];
  /** From an NDJSON header, after retention: the removed leaves' subtree hashes and the kept chain's start. */
  treeStart?: { leafIndex: number; subtrees: Hash[]; chainStartHash: string };
}

/** The header's treeStart, checked for shape (its hashes are bound by the root, not trusted). */
function readTreeStart(record: Record<string, unknown>, problem: (message: string) => void): ReadExport['treeStart'] {
  const start = record.treeStart as ExportTreeStart | undefined;
  if (start === undefined) return undefined;
  const chainStart = record.chainStart as { hash?: unknown } | undefined;
  const subtrees = Array.isArray(start?.subtrees) ? start.subtrees.map((h) => (typeof h === 'string' ? fromBase64(h) : null)) : [];
  const leafIndex = start?.leafIndex;
  if (
    !Number.isSafeInteger(leafIndex) ||
    leafIndex < 1 ||
    subtrees.length !== subtreesOfRange(0, leafIndex).length ||
    subtrees.some((h) => h?.length !== 32) ||
    typeof chainStart?.hash !== 'string'
  ) {
    problem('the header\'s treeStart is malformed: it must give leafIndex and one 32-byte base64 hash per complete subtree of the leaves before it');
    return undefined;
  }
  return { leafIndex, subtrees: subtrees as Hash[], chainStartHash: chainStart.hash };
}

/** The exported events of an NDJSON or CSV export file, whichever it is. */
async function readExport(file: string, problem: (message: string) => void): Promise<ReadExport> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let first: string | undefined;
  for await (const line of lines) {
    first = line;
    break;
  }
  lines.close();
  if (first === undefined) {
    problem('the export is empty');
    return { format: null, leaves: [] };
  }
  const leaves: ExportedLeaf[] = [];
  let treeStart: ReadExport['treeStart'];
  if (first.startsWith('{')) {
    let lineNo = 0;
    for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problem(`line ${lineNo}: not JSON`);
        continue;
      }
      if (record.type === 'header') {
        if (record.format !== EXPORT_FORMAT) problem(`line ${lineNo}: not a ${EXPORT_FORMAT} export`);
        if (record.complete !== true) problem(`the export was filtered (query ${JSON.stringify(record.query)}): only an export of every event (no query) can be held against a head`);
        treeStart = readTreeStart(record, problem);
      } else if (record.type === 'event') {
        leaves.push(fromListed(record));
      }
    }
    return { format: 'ndjson', leaves, ...(treeStart ? { treeStart } : {}) };
  }
  const expected = [...EXPORTED_FIELDS.map((f) => f.column), 'prev_hash'].join(',');
  if (first !== expected) {
    problem(`not a Vigil export: an NDJSON export starts with its header, a CSV export with the columns ${expected}`);
    return { format: null, leaves };
  }
  for await (const record of createReadStream(file).pipe(parseCsv({ columns: true, relax_column_count: false }))) {
    leaves.push(fromCsv(record as Record<string, string>));
  }
  return { format: 'csv', leaves };
}

const named = (e: ExportedLeaf) => `seq ${e.seq} (${e.id})`;

/** What the chain hashes say about the events in seq order: changed, removed, added, reordered. */
function chainFindings(events: readonly ExportedLeaf[], chainStartHash: string, problem: (message: string) => void): void {
  const byHash = new Map(events.map((e, i) => [e.hash, i]));
  // The hashes some event chains from: an added event's is in none.
  const chainedFrom = new Set(events.map((e) => e.prevHash));
  for (const e of events) if (!e.intact) problem(`changed: ${named(e)} no longer matches its hash`);
  let expected = chainStartHash;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.prevHash === expected) {
      expected = e.hash;
      continue;
    }
    const previous = events[i - 1];
    const beforePrevious = events[i - 2];
    const predecessor = byHash.get(e.prevHash);
    if (!previous) {
      problem(`removed: the first exported event, ${named(e)}, is not the first event of the log: events before it are missing (removed, by retention or otherwise, or not exported)`);
    } else if (beforePrevious && e.prevHash === beforePrevious.hash && !chainedFrom.has(previous.hash)) {
      problem(`added: ${named(previous)} is not part of the chain (seq ${e.seq} after it chains from seq ${beforePrevious.seq})`);
    } else if (events[i + 1]?.prevHash === previous.hash && !chainedFrom.has(e.hash)) {
      problem(`added: ${named(e)} is not part of the chain (seq ${events[i + 1]!.seq} after it chains from seq ${previous.seq})`);
      // The chain goes on from the event before it.
      continue;
    } else if (predecessor !== undefined) {
      problem(`reordered: ${named(e)} follows seq ${events[predecessor]!.seq} in the chain, but seq ${previous.seq} in the export`);
    } else {
      problem(`removed: events between seq ${previous.seq} and ${named(e)} are missing (its predecessor is in no exported event)`);
    }
    expected = e.hash;
  }
}

/**
 * Verifies an export file (NDJSON or CSV) against a checkpoint note and a verifier key
 * (`<name>+<key id>+<base64 key>`, as integrity.treeHead gives it; pin it apart from the export).
 */
export async function verifyExportAgainstHead(file: string, note: string, verifierKey: string): Promise<ExportHeadReport> {
  const report: ExportHeadReport = {
    ok: false,
    format: null,
    signatureVerified: false,
    treeSize: null,
    origin: null,
    events: 0,
    covered: 0,
    removedByRetention: 0,
    rootMatches: false,
    problems: [],
    notes: [],
  };
  let problems = 0;
  const problem = (message: string) => {
    problems++;
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(message);
  };
  let head: Checkpoint;
  try {
    head = await verifyCheckpoint(note, verifierKey);
    report.signatureVerified = true;
  } catch (error) {
    if (!(error instanceof NoteError)) throw error;
    problem(`the checkpoint does not verify with the given key: ${error.message}`);
    return report;
  }
  report.treeSize = head.treeSize;
  report.origin = head.origin;

  const { format, leaves, treeStart } = await readExport(file, problem);
  report.format = format;
  report.events = leaves.length;
  const events = leaves.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < events.length; i++) if (events[i]!.seq === events[i - 1]!.seq) problem(`seq ${events[i]!.seq} is exported twice`);

  // After retention the export starts at leaf `removed`; the header's subtree hashes stand in for the leaves before.
  const removed = treeStart?.leafIndex ?? 0;
  report.removedByRetention = removed;
  if (removed > head.treeSize) {
    problem(`retention removed ${removed} events before this export, more than the head's ${head.treeSize}: hold the export against a newer head`);
    return report;
  }
  const wanted = head.treeSize - removed;
  const covered = events.slice(0, wanted);
  report.covered = covered.length;
  if (covered.length < wanted) {
    problem(`the head covers ${wanted} events, the export holds ${covered.length}: ${wanted - covered.length} missing (removed, or the export was taken before the head)`);
  }
  const root = treeStart
    ? foldSubtrees(appendLeaves(removed, treeStart.subtrees, covered.map((e) => e.leaf)).frontier.map((s) => s.hash))
    : rootOf(covered.map((e) => e.leaf));
  report.rootMatches = covered.length === wanted && hashesEqual(root, head.rootHash);
  // Where the root differs, the chain hashes of the covered events (and the one after) say which.
  chainFindings(events.slice(0, wanted + 1), treeStart?.chainStartHash ?? GENESIS_HASH, problem);
  if (format === 'csv' && events[0] && events[0].prevHash !== GENESIS_HASH) {
    report.notes.push('a CSV export cannot carry the tree hashes of events removed by retention; the NDJSON export of the same moment carries them (its header\'s treeStart)');
  }
  if (!report.rootMatches && covered.length === wanted) {
    problem(
      `the first ${wanted} events in seq order${removed ? ` after the ${removed} removed by retention` : ''} make the root ${toBase64(root)}, the head signs ${toBase64(head.rootHash)}: ` +
        'they are not the events the head covers' +
        (problems === 0 ? ' (their chain hashes were recomputed to hide which: compare with an earlier export)' : ''),
    );
  }
  if (events.length > wanted) report.notes.push(`${events.length - wanted} events recorded after the head are not covered by it`);
  if (problems > report.problems.length) report.notes.push(`${problems - report.problems.length} more problems not listed`);
  report.ok = problems === 0;
  return report;
}
