// How audit events are appended to audit_events: the writers' lock, the chain head, the
// group commit and its pipeline. A server builds one EventWriter (server/app.ts) and hands
// it to procedures through the context; the queries are in auditEventsStore.ts.
import { sql } from 'drizzle-orm';
import { GENESIS_HASH, canonicalEvent } from '../../shared/canonical.js';
import { chainStep, leafStep } from '../../shared/chain.js';
import { WRITTEN_FIELDS, type WrittenEventFields } from '../../shared/eventFields.js';
import { databaseKindOf, isDatabaseUnavailable, queryRows, type Database } from './database.js';
import { GroupCommit } from './groupCommit.js';

// Writers take this lock for the length of their transaction, so `seq` order is commit
// order (a reader resuming "after seq N" never misses a row committed later with a
// smaller seq) and each batch extends the hash chain from the true head. Defined here
// only: vigil_append_events is given it.
export const WRITE_LOCK_KEY = 7_162_021_002;
/** The NOTIFY channel that announces committed events (payload: the batch's highest seq). */
export const EVENTS_CHANNEL = 'vigil_events';

/** A row ready to insert: everything resolved (id, times) by the service; the hash is the writer's. */
export type NewAuditEventRow = Omit<WrittenEventFields, 'hash'>;

export interface InsertedEvent {
  id: string;
  seq: number;
  /** True when an event with this id was already stored (idempotent replay). */
  duplicate: boolean;
}

/** A row as the writer sends it and the audit log line shows it. */
export interface PreparedRow {
  row: NewAuditEventRow;
  /** canonicalEvent(row), or '' when not chaining. */
  canonical: string;
  /** The row's Merkle leaf hash (hex) from the same canonical form, or '' when not chaining. */
  leafHash: string;
  /** The row as a JSON object in the database's column names, without its hash. */
  json: string;
}

/** The columns the writer sends, by field (the hash is added per write). */
const SENT_FIELDS = WRITTEN_FIELDS.filter((f) => f.key !== 'hash');
/**
 * Every written column, for vigil_append_events: the hash too, and the leaf hash (not an
 * event field: the Merkle tree's integrator reads it instead of rebuilding the canonical form).
 */
const WRITTEN_COLUMNS = `{${[...WRITTEN_FIELDS.map((f) => f.column), 'leaf_hash'].join(',')}}`;

/** A row's fields by their column names (the database's, and the audit log line's). */
export function columnsOf(row: NewAuditEventRow): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const f of SENT_FIELDS) columns[f.column] = (row as Record<string, unknown>)[f.key];
  return columns;
}

const PLAIN_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** IP addresses as Postgres will give them back (its inet text form), so hashes recompute. */
async function normaliseIps(db: Database, rows: NewAuditEventRow[]): Promise<void> {
  // A dotted quad without leading zeros is already Postgres's form; only the rest (IPv6,
  // mapped, zero-padded) is normalised by Postgres itself.
  const withIp = rows.filter((r) => r.ip !== null && !PLAIN_IPV4.test(r.ip));
  if (withIp.length === 0) return;
  const normal = await queryRows<{ ip: string }>(
    db,
    sql`select value::inet as ip from jsonb_array_elements_text(${JSON.stringify(withIp.map((r) => r.ip))}::jsonb) with ordinality order by ordinality`,
  );
  withIp.forEach((row, i) => {
    row.ip = normal[i]!.ip;
  });
}

/** What vigil_append_events answered (migration 0012). */
type AppendAnswer =
  | { inserted: number; first_seq: number | string; last_seq: number | string }
  | { duplicates: { id: string; seq: number | string }[]; head: string }
  | { head: string };

/**
 * Where a writer expects the chain to continue: the last hash it sent (a guess the
 * database checks). It moves on when a write is sent, not when it is confirmed, so a
 * pipelined write can follow it; a write that is refused puts it back to the true head.
 */
interface ChainTip {
  head: string | null;
  /** Until then (ms since the epoch), one write at a time: another process moved the head lately. */
  contendedUntil: number;
  /**
   * The last hashes this process sent (group writes and transactions alike). A refusal
   * naming one of them is this process's own doing (a transaction's event came between
   * two pipelined writes), not another process's: no reason to stop pipelining.
   */
  sent: Set<string>;
}

/** How many of this process's last hashes a tip remembers. */
const SENT_REMEMBERED = 64;

function rememberSent(tip: ChainTip, hash: string): void {
  tip.sent.add(hash);
  if (tip.sent.size > SENT_REMEMBERED) tip.sent.delete(tip.sent.values().next().value!);
}

/** A write that keeps finding its expected head taken (other writers) takes the lock first after this many tries. */
const OPTIMISTIC_ATTEMPTS = 3;
/** Requests merged into one transaction hold at most this many events. */
const GROUP_COMMIT_MAX_EVENTS = 5000;
/**
 * Writes a Postgres server keeps under way at once. With one, the writer was never idle,
 * yet Postgres held the lock for only ~70% of its time: the rest went on sending the
 * next write and on each answer waiting for the busy event loop. With two, the next write
 * is already waiting for the lock when the previous one commits. (PGlite runs one query
 * at a time, in this process: one.)
 */
const PIPELINED_WRITES = 2;
/**
 * After a refusal for a head another process moved, one write at a time for this long:
 * with several processes writing, a pipeline's second write is refused over and over (it
 * was chained from the first, and another process's write comes in between).
 */
const CONTENDED_MS = 2_000;

interface AppendOutcome {
  seqById: Map<string, number>;
  /** Ids this write inserted (the rest were stored before). */
  inserted: Set<string>;
}

/** Appends rows to the chain through one database handle (the pool, or a transaction). */
class Appender {
  constructor(
    private readonly db: Database,
    private readonly chain: boolean,
    private readonly tip: ChainTip,
  ) {}

  /** Normalises and serialises rows; outside any lock, so concurrent writers overlap in it. */
  async prepare(rows: NewAuditEventRow[]): Promise<PreparedRow[]> {
    if (this.chain) await normaliseIps(this.db, rows);
    return rows.map((row) => {
      const canonical = this.chain ? canonicalEvent(row) : '';
      return { row, canonical, leafHash: this.chain ? leafStep(canonical).toString('hex') : '', json: JSON.stringify(columnsOf(row)) };
    });
  }

  /**
   * Writes prepared rows in one transaction: all new ids inserted, or none. Events whose
   * id is already stored, or repeated earlier in `prepared`, are not inserted again.
   *
   * The common case is ONE round trip: hashes are chained here from the head this writer
   * expects, and vigil_append_events checks the expectation and the ids under the
   * writers' lock, then inserts. When the head moved (another writer) or some ids exist,
   * it inserts nothing and says so; we recompute and try again.
   */
  async write(prepared: PreparedRow[]): Promise<InsertedEvent[]> {
    const seen = new Set<string>();
    const unique = prepared.filter((p) => (seen.has(p.row.id) ? false : (seen.add(p.row.id), true)));
    const outcome: AppendOutcome = { seqById: new Map(), inserted: new Set() };
    const appended =
      (await this.appendWithRetries(this.db, unique, outcome, OPTIMISTIC_ATTEMPTS)) ||
      // Losing again and again to other writers: hold the lock across the tries, so the
      // head cannot move between them (they learn the head, then the stored ids, then insert).
      (await this.db.transaction(async (t) => {
        const tx = t as unknown as Database;
        await tx.execute(sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
        return this.appendWithRetries(tx, unique, outcome, 3);
      }));
    if (!appended) throw new Error("vigil_append_events: the chain head moved under the writers' lock");
    const reported = new Set<string>();
    return prepared.map((p) => {
      const id = p.row.id;
      const duplicate = !outcome.inserted.has(id) || reported.has(id);
      reported.add(id);
      return { id, seq: outcome.seqById.get(id)!, duplicate };
    });
  }

  /** Tries up to `attempts` appends of the rows not yet known to be stored; true once none is left. */
  private async appendWithRetries(db: Database, rows: PreparedRow[], outcome: AppendOutcome, attempts: number): Promise<boolean> {
    const tip = this.tip;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const pending = rows.filter((p) => !outcome.seqById.has(p.row.id));
      if (pending.length === 0) return true;
      const expected = tip.head;
      const hashes = this.chainHashes(pending, expected ?? GENESIS_HASH);
      // A write sent while this one is under way (the pipeline) continues from its last hash.
      tip.head = hashes.at(-1)!;
      rememberSent(tip, tip.head);
      const answer = await appendOnce(db, pending, hashes, expected);
      if ('inserted' in answer) {
        const first = Number(answer.first_seq);
        pending.forEach((p, i) => {
          outcome.seqById.set(p.row.id, first + i);
          outcome.inserted.add(p.row.id);
        });
        return true;
      }
      if ('duplicates' in answer) for (const d of answer.duplicates) outcome.seqById.set(d.id, Number(d.seq));
      // A head this process did not write, where it expected its own: another process
      // wrote in between, and its writes would keep refusing the second one of a pipeline.
      // (With no expectation yet, the refusal only told the head.)
      else if (expected !== null && !tip.sent.has(answer.head)) tip.contendedUntil = Date.now() + CONTENDED_MS;
      tip.head = answer.head;
    }
    return rows.every((p) => outcome.seqById.has(p.row.id));
  }

  /** The chain hashes of `rows` in order, continuing from `head` (a constant when not chaining). */
  private chainHashes(rows: PreparedRow[], head: string): string[] {
    let prev = head;
    return rows.map((p) => (this.chain ? (prev = chainStep(prev, p.canonical)) : GENESIS_HASH));
  }
}

async function appendOnce(db: Database, rows: PreparedRow[], hashes: string[], expectedHead: string | null): Promise<AppendAnswer> {
  // One JSON parameter, assembled from each row's JSON made before the write began:
  // far faster than a VALUES list of 17 x 1000 parameters, and the same on both drivers.
  // A leaf hash goes as bytea's hex text (`\\x...` in JSON); without one, the column stays null.
  const events = `[${rows.map((p, i) => `${p.json.slice(0, -1)},"hash":"${hashes[i]}"${p.leafHash ? `,"leaf_hash":"\\\\x${p.leafHash}"` : ''}}`).join(',')}]`;
  const ids = `{${rows.map((p) => p.row.id).join(',')}}`;
  const [result] = await queryRows<{ answer: AppendAnswer | string }>(
    db,
    sql`select vigil_append_events(${events}::json, ${ids}::uuid[], ${expectedHead}::text, ${GENESIS_HASH}::text,
      ${EVENTS_CHANNEL}::text, ${WRITE_LOCK_KEY}::bigint, ${WRITTEN_COLUMNS}::text[]) as answer`,
  );
  const answer = result!.answer;
  return typeof answer === 'string' ? (JSON.parse(answer) as AppendAnswer) : answer;
}

/** Appends to the chain inside a caller's transaction (one that records an event with its change). */
export interface TransactionAppender {
  prepare(rows: NewAuditEventRow[]): Promise<PreparedRow[]>;
  write(prepared: PreparedRow[]): Promise<InsertedEvent[]>;
}

/**
 * The process's writer of audit events. Outside transactions, requests go through its
 * group commit: waiting writers hold no connection (the pool stays free for reads) and
 * are written together, two writes under way at once on Postgres.
 */
export class EventWriter {
  private readonly tip: ChainTip = { head: null, contendedUntil: 0, sent: new Set() };
  private readonly appender: Appender;
  private readonly queue: GroupCommit<PreparedRow, InsertedEvent>;
  private readonly pipelined: number;

  constructor(
    readonly db: Database,
    /** `chain: false` writes a constant hash: only for the benchmark that measures what chaining costs. */
    private readonly options: { chain?: boolean } = {},
  ) {
    this.appender = new Appender(db, options.chain ?? true, this.tip);
    this.pipelined = databaseKindOf(db).kind === 'postgres' ? PIPELINED_WRITES : 1;
    this.queue = new GroupCommit((items) => this.appender.write(items), GROUP_COMMIT_MAX_EVENTS, () => this.writesAtOnce(), isDatabaseUnavailable);
  }

  prepare(rows: NewAuditEventRow[]): Promise<PreparedRow[]> {
    return this.appender.prepare(rows);
  }

  /**
   * Inserts events, all or nothing, extending the hash chain. Events whose id is already
   * stored (or repeated within the batch) are not inserted again; their stored seq is
   * returned.
   */
  write(prepared: PreparedRow[]): Promise<InsertedEvent[]> {
    return this.queue.submit(prepared);
  }

  /** Writes it keeps under way at once now: 1 for a while after another process moved the head. */
  writesAtOnce(): number {
    return Date.now() < this.tip.contendedUntil ? 1 : this.pipelined;
  }

  /** prepare, then write. */
  async insert(rows: NewAuditEventRow[]): Promise<InsertedEvent[]> {
    return this.write(await this.prepare(rows));
  }

  /**
   * Writes inside `tx`. Its first try expects the head this writer knows of, and what it
   * sends is remembered, so the group commit does not take it for another process.
   */
  inTransaction(tx: Database): TransactionAppender {
    const tip: ChainTip = { head: this.tip.head, contendedUntil: 0, sent: this.tip.sent };
    return new Appender(tx, this.options.chain ?? true, tip);
  }
}
