// Offline verification of a Vigil NDJSON export, by anyone, without the server:
//
//   node --import tsx shared/verifyExport.ts export.ndjson [--public-key vigil.pem]
//
// (a third party needs only this file, shared/canonical.ts, shared/chain.ts, shared/eventFields.ts and Node 20 with tsx; the key is
// the server's `GET /integrity/public-key`, obtained beforehand and kept apart from the
// export, so a forger cannot swap both). Exit status 0: verified; 1: not; 2: bad usage.
//
// The export (GET /export?q=...&format=ndjson) is one JSON object per line:
//   1. a header  {"type":"header","format":"vigil.export.v1", "query", "exportedAt",
//                 "complete", "head":{seq,hash}, "chainStart":{seq,hash},
//                 "checkpoint":{kind,seq,hash,createdAt,keyId,signature}|null,
//                 "publicKey", "keyId", ...}
//   2. the events, newest first (time, then seq), each an `events.list` item plus
//      {"type":"event","prevHash"}: the hash of the event before it in the chain
//   3. a trailer {"type":"trailer","rows","sha256","signature","keyId"}
//
// What is checked:
//   - every event's hash: SHA-256(prevHash || canonicalEvent(event)) (shared/canonical.ts)
//   - the order, and that every event was recorded by the head (seq <= head.seq)
//   - the trailer: the row count, the SHA-256 of every byte before it, and the server's
//     Ed25519 signature over ["vigil.export.v1", sha256, rows] (nothing added, removed or
//     edited after the server wrote it)
//   - the signed checkpoint in the header (signature; its event's hash if exported)
//   - the key: the header's key must be the pinned one (--public-key) when given
//   - a complete export (no filter: every kept event up to the head) is also walked as
//     a chain in seq order: the first event chains from chainStart, each from the one
//     before, the last is the head, and the signed checkpoint lies on it. A filtered
//     export cannot show that no other event exists; each of its events is still bound
//     to its predecessor's hash, which a complete export or the server can confirm.
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { canonicalFieldsOf, type ListedEventFields } from './canonical.js';
import { chainHash } from './chain.js';

export const EXPORT_FORMAT = 'vigil.export.v1';

export interface ExportCheckpoint {
  id?: number;
  kind: string;
  seq: number;
  hash: string;
  createdAt: string;
  keyId: string;
  signature: string;
  /** Chained checkpoints name the one before (0 and 64 zeros: none); absent on older ones. */
  prevId?: number | null;
  prevDigest?: string | null;
  /** Events after the previous checkpoint's seq through this one's (null: not counted). */
  events?: number | null;
}

export interface ExportHeader {
  type: 'header';
  format: typeof EXPORT_FORMAT;
  exportedAt: string;
  /** The query as given (`q`), and whether it selected every event (no filter at all). */
  query: string;
  complete: boolean;
  order: 'time desc, seq desc';
  /** The newest event when the export began: every exported event has seq <= head.seq. */
  head: { seq: number; hash: string };
  /** The kept chain begins after `seq` with previous hash `hash` (genesis or a retention checkpoint). */
  chainStart: { seq: number; hash: string };
  /** The newest signed checkpoint at or before the head, if any. */
  checkpoint: ExportCheckpoint | null;
  /** After retention: the Merkle tree's hashes of the removed events' leaves (absent: none removed). */
  treeStart?: ExportTreeStart;
  /** The server's Ed25519 public key (SPKI PEM) and its id (SHA-256 of the SPKI DER, hex). */
  publicKey: string;
  keyId: string;
  hashRule: string;
}

/**
 * The leaves before the first exported event (removed by retention) as the hashes of the
 * complete subtrees covering leaves [0, leafIndex), left to right, base64. They are not
 * trusted: a signed head's root, recomputed from them and the exported events, binds them.
 */
export interface ExportTreeStart {
  leafIndex: number;
  subtrees: string[];
}

export interface ExportTrailer {
  type: 'trailer';
  rows: number;
  /** SHA-256 (hex) of every byte of the file before the trailer line. */
  sha256: string;
  /** Ed25519 (base64) over exportStatement(sha256, rows). */
  signature: string;
  keyId: string;
}

/** The text the trailer's signature covers. */
export function exportStatement(sha256: string, rows: number): string {
  return JSON.stringify([EXPORT_FORMAT, sha256, rows]);
}

type CheckpointFields = Pick<ExportCheckpoint, 'kind' | 'seq' | 'hash' | 'prevId' | 'prevDigest' | 'events'> & { createdAt: string | Date };

/**
 * The text a checkpoint's signature covers (the server signs exactly this). Checkpoints
 * made before they were chained (no prevDigest) were signed as v1.
 */
export function checkpointStatement(c: CheckpointFields): string {
  const createdAt = new Date(c.createdAt).toISOString();
  if (c.prevDigest === null || c.prevDigest === undefined) return JSON.stringify(['vigil.checkpoint.v1', c.kind, c.seq, c.hash, createdAt]);
  return JSON.stringify(['vigil.checkpoint.v2', c.kind, c.seq, c.hash, createdAt, c.prevId ?? null, c.prevDigest, c.events ?? null]);
}

/** What the next checkpoint names this one by: SHA-256 (hex) of its statement and signature. */
export function checkpointDigest(c: CheckpointFields & { signature: string }): string {
  return createHash('sha256').update(checkpointStatement(c)).update('\n').update(c.signature).digest('hex');
}

/** SHA-256 (hex) of a public key's SPKI DER: the key id Vigil names keys by. */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** An event line of an NDJSON export: a listed event plus its place in the chain. */
interface ExportedEvent extends ListedEventFields {
  type: 'event';
  seq: number;
  time: string;
  hash: string;
  prevHash: string;
}

/** The hash an exported event must carry. */
export function expectedHash(e: ExportedEvent): string {
  return chainHash(e.prevHash, canonicalFieldsOf(e));
}

export interface ExportVerification {
  ok: boolean;
  rows: number;
  complete: boolean;
  query: string | null;
  head: { seq: number; hash: string } | null;
  /** Every event's hash recomputed and matched. */
  eventsVerified: number;
  /** The trailer's digest and signature matched (nothing added, removed or edited). */
  signatureVerified: boolean;
  /** A complete export walked as one chain from chainStart to the head. */
  chainVerified: boolean;
  /** The header's checkpoint: its signature verified, and its hash matched if its event was exported. */
  checkpoint: 'none' | 'verified' | 'verified, event not in this export' | 'failed';
  /** The key was pinned with --public-key (else the export's own key was trusted). */
  keyPinned: boolean;
  keyId: string | null;
  /** What failed, the first few. */
  problems: string[];
  notes: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_PROBLEMS = 20;

/** Growable typed arrays of (seq, hash, prevHash): 72 bytes a row, for the chain walk. */
class ChainTable {
  seqs = new Float64Array(1024);
  hashes = new Uint8Array(1024 * 32);
  prevs = new Uint8Array(1024 * 32);
  length = 0;

  push(seq: number, hash: string, prev: string): void {
    if (this.length === this.seqs.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.seqs = grow(this.seqs, (n) => new Float64Array(n));
      this.hashes = grow(this.hashes, (n) => new Uint8Array(n));
      this.prevs = grow(this.prevs, (n) => new Uint8Array(n));
    }
    this.seqs[this.length] = seq;
    this.hashes.set(Buffer.from(hash, 'hex'), this.length * 32);
    this.prevs.set(Buffer.from(prev, 'hex'), this.length * 32);
    this.length++;
  }

  hashAt(i: number): string {
    return Buffer.from(this.hashes.subarray(i * 32, i * 32 + 32)).toString('hex');
  }

  prevAt(i: number): string {
    return Buffer.from(this.prevs.subarray(i * 32, i * 32 + 32)).toString('hex');
  }

  /** Row indexes in ascending seq. */
  bySeq(): Uint32Array {
    const order = new Uint32Array(this.length);
    for (let i = 0; i < this.length; i++) order[i] = i;
    return order.sort((a, b) => this.seqs[a]! - this.seqs[b]!);
  }
}

/**
 * Verifies an export given as its lines (without their newlines), in order. Memory:
 * constant for a filtered export, 72 bytes per event for a complete one (the chain walk).
 */
export async function verifyExportLines(
  lines: AsyncIterable<string> | Iterable<string>,
  options: { publicKeyPem?: string } = {},
): Promise<ExportVerification> {
  const report: ExportVerification = {
    ok: false,
    rows: 0,
    complete: false,
    query: null,
    head: null,
    eventsVerified: 0,
    signatureVerified: false,
    chainVerified: false,
    checkpoint: 'none',
    keyPinned: false,
    keyId: null,
    problems: [],
    notes: [],
  };
  const problem = (message: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(message);
  };
  const digest = createHash('sha256');
  let header: ExportHeader | null = null;
  let trailer: ExportTrailer | null = null;
  let publicKey: ReturnType<typeof createPublicKey> | null = null;
  let previous: { time: number; seq: number } | null = null;
  let checkpointEventSeen = false;
  const seen = new Set<number>();
  const chain = new ChainTable();
  let lineNo = 0;

  for await (const line of lines) {
    lineNo++;
    if (trailer) {
      if (line.trim() !== '') problem(`line ${lineNo}: content after the trailer`);
      continue;
    }
    let record: { type?: unknown } & Record<string, unknown>;
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      problem(`line ${lineNo}: not JSON`);
      digest.update(`${line}\n`);
      continue;
    }
    if (record.type === 'trailer') {
      trailer = record as unknown as ExportTrailer;
      continue;
    }
    digest.update(`${line}\n`);

    if (lineNo === 1) {
      if (record.type !== 'header' || record.format !== EXPORT_FORMAT) {
        problem(`line 1: not a ${EXPORT_FORMAT} header`);
        break;
      }
      header = record as unknown as ExportHeader;
      report.complete = header.complete === true;
      report.query = header.query;
      report.head = header.head;
      try {
        report.keyId = keyIdOf(header.publicKey);
        publicKey = createPublicKey(header.publicKey);
      } catch {
        problem('header: the public key is not a valid PEM key');
        break;
      }
      if (report.keyId !== header.keyId) problem('header: keyId is not the id of the public key given');
      if (options.publicKeyPem) {
        report.keyPinned = true;
        if (keyIdOf(options.publicKeyPem) !== report.keyId) {
          problem('the export is signed by another key than the pinned one (--public-key)');
        }
      } else {
        report.notes.push(`the key was taken from the export itself (keyId ${report.keyId.slice(0, 16)}...): compare it with the server's GET /integrity/public-key, or pass --public-key`);
      }
      const c = header.checkpoint;
      if (c) {
        const signed = c.keyId === report.keyId && verifySignature(null, Buffer.from(checkpointStatement(c)), publicKey, Buffer.from(c.signature, 'base64'));
        report.checkpoint = signed ? 'verified, event not in this export' : 'failed';
        if (!signed) problem(`checkpoint at seq ${c.seq}: the signature does not verify with the export's key`);
        if (c.seq > header.head.seq) problem(`checkpoint at seq ${c.seq} is after the head ${header.head.seq}`);
      }
      continue;
    }
    if (!header) break;
    if (record.type !== 'event') {
      problem(`line ${lineNo}: unexpected record type ${JSON.stringify(record.type)}`);
      continue;
    }
    const e = record as unknown as ExportedEvent;
    report.rows++;
    if (typeof e.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prevHash !== 'string' || !HEX64.test(e.prevHash)) {
      problem(`line ${lineNo}: an event without seq, hash and prevHash`);
      continue;
    }
    if (expectedHash(e) === e.hash) report.eventsVerified++;
    else problem(`seq ${e.seq}: its content does not match its hash (changed after it was recorded)`);
    if (e.seq > header.head.seq) problem(`seq ${e.seq}: after the export's head ${header.head.seq}`);
    if (e.seq <= header.chainStart.seq) problem(`seq ${e.seq}: before the start of the kept chain`);
    if (seen.has(e.seq)) problem(`seq ${e.seq}: exported twice`);
    seen.add(e.seq);
    const time = Date.parse(e.time);
    if (previous && !(time < previous.time || (time === previous.time && e.seq < previous.seq))) {
      problem(`seq ${e.seq}: out of order (the export is newest first)`);
    }
    previous = { time, seq: e.seq };
    if (e.seq === header.head.seq && e.hash !== header.head.hash) problem(`seq ${e.seq}: not the head the header names`);
    if (header.checkpoint && e.seq === header.checkpoint.seq) {
      checkpointEventSeen = true;
      if (e.hash !== header.checkpoint.hash) {
        problem(`seq ${e.seq}: its hash differs from the signed checkpoint's (the chain was rewritten)`);
        report.checkpoint = 'failed';
      } else if (report.checkpoint !== 'failed') {
        report.checkpoint = 'verified';
      }
    }
    if (report.complete) chain.push(e.seq, e.hash, e.prevHash);
  }

  if (!header) {
    problem('no header: not a Vigil NDJSON export');
    return report;
  }
  if (!trailer) {
    problem('no trailer: the export is truncated (the download was cut short, or rows were removed from its end)');
  } else {
    const sha256 = digest.digest('hex');
    if (trailer.rows !== report.rows) problem(`the trailer counts ${trailer.rows} events, the file holds ${report.rows}`);
    if (trailer.sha256 !== sha256) problem('the file differs from what the server wrote (its SHA-256 does not match the trailer)');
    const signed =
      publicKey !== null &&
      trailer.keyId === report.keyId &&
      verifySignature(null, Buffer.from(exportStatement(trailer.sha256, trailer.rows)), publicKey, Buffer.from(trailer.signature, 'base64'));
    if (!signed) problem("the trailer's signature does not verify with the export's key");
    report.signatureVerified = signed && trailer.sha256 === sha256 && trailer.rows === report.rows;
  }

  if (report.complete) {
    const before = report.problems.length;
    const order = chain.bySeq();
    let prevHash = header.chainStart.hash;
    for (const i of order) {
      if (chain.prevAt(i) !== prevHash) {
        problem(`seq ${chain.seqs[i]}: does not chain from the event before it (an event was removed, inserted or reordered)`);
        break;
      }
      prevHash = chain.hashAt(i);
    }
    if (chain.length > 0 && prevHash !== header.head.hash) problem('the chain does not end at the head the header names');
    if (chain.length === 0 && header.head.seq > header.chainStart.seq) problem('a complete export without the events up to its head');
    if (header.checkpoint && header.checkpoint.seq > header.chainStart.seq && !checkpointEventSeen) {
      problem(`the signed checkpoint's event (seq ${header.checkpoint.seq}) is missing from a complete export`);
    }
    report.chainVerified = report.problems.length === before;
  } else {
    report.notes.push('a filtered export: each event is verified against its hash and its predecessor\'s, not that no other event matched');
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** Verifies an NDJSON export file. */
export async function verifyExportFile(file: string, options: { publicKeyPem?: string } = {}): Promise<ExportVerification> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  return verifyExportLines(lines, options);
}

async function main(argv: string[]): Promise<number> {
  const keyAt = argv.indexOf('--public-key');
  const keyFile = keyAt === -1 ? undefined : argv[keyAt + 1];
  const files = argv.filter((_, i) => i !== keyAt && i !== keyAt + 1);
  if (files.length !== 1 || (keyAt !== -1 && !keyFile)) {
    console.error('usage: node --import tsx shared/verifyExport.ts EXPORT.ndjson [--public-key KEY.pem]');
    return 2;
  }
  const report = await verifyExportFile(files[0]!, keyFile ? { publicKeyPem: await readFile(keyFile, 'utf8') } : {});
  console.log(JSON.stringify(report, null, 2));
  console.error(
    report.ok
      ? `verified: ${report.rows} events${report.complete ? ', the complete chain to the head' : ' (filtered export)'}, signed by ${report.keyId?.slice(0, 16)}...${report.keyPinned ? ' (pinned key)' : ''}`
      : `NOT verified: ${report.problems[0]}`,
  );
  return report.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
