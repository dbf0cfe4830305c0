// The one module for the Merkle tree's tables: merkle_tiles (C2SP tlog-tiles, migration
// 0014; server/services/merkleTiles.ts says what a tile holds), merkle_removed_events and
// merkle_tree_heads, and the leaf hashes the event writer stores on audit_events. Hashes
// travel as hex through SQL, so both drivers (postgres.js Buffers, PGlite Uint8Arrays)
// read and write them alike; arrays travel as array literals, which Postgres splits far
// faster than JSON.
import { sql } from 'drizzle-orm';
import type { SubtreeHash } from '../../shared/merkle.js';
import type { TileAppend, TileKey, TileSlot } from '../services/merkleTiles.js';
import { queryRows, queryRowsPrepared, type Database } from './database.js';

/** Any procedure of the tree holds this for its transaction: one integrator at a time, across replicas. */
export const TREE_LOCK_KEY = 7_162_021_005;

export interface StoredTreeHead {
  treeSize: number;
  rootHash: Uint8Array;
  note: string;
  createdAt: Date;
}

const hexOf = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
/** A Postgres array literal of numbers, uuids, booleans or hex (no quoting needed). */
const arrayOf = (values: readonly (number | string | boolean)[]) => `{${values.map((v) => (v === '' ? '""' : v === true ? 't' : v === false ? 'f' : v)).join(',')}}`;
const bytesOf = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
/** Hex of hashes end to end, split into 32-byte hashes. */
function hashesOf(hex: string): Uint8Array[] {
  const all = Buffer.from(hex, 'hex');
  const out: Uint8Array[] = [];
  for (let at = 0; at + 32 <= all.length; at += 32) out.push(new Uint8Array(all.buffer, all.byteOffset + at, 32));
  return out;
}
const numbersOf = (list: string | null) => (list ? list.split(',').map(Number) : []);

/** Takes the tree's lock for the transaction `tx` is in; false when another process holds it. */
export async function tryLockTree(tx: Database): Promise<boolean> {
  const [row] = await queryRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${TREE_LOCK_KEY}) as locked`);
  return row?.locked === true;
}

/** Waits for the tree's lock for the transaction `tx` is in. */
export async function lockTree(tx: Database): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${TREE_LOCK_KEY})`);
}

/** Where the tree ends: its number of leaves, the seq and hash of its last leaf (0 and null when empty). */
export interface TreeEnd {
  size: number;
  lastSeq: number;
  lastHash: Uint8Array | null;
}

type EndRow = { t: string | number | null; w: string | number | null; s: string | number | null; h: string | null };
const toEnd = (row: EndRow | undefined): TreeEnd =>
  row && row.t !== null
    ? { size: Number(row.t) * 256 + Number(row.w), lastSeq: Number(row.s), lastHash: bytesOf(row.h!) }
    : { size: 0, lastSeq: 0, lastHash: null };

/** Where the tree ends: merkle_slots (migration 0016) says it beside any slots, here beside none. */
export async function selectTreeEnd(db: Database): Promise<TreeEnd> {
  return (await selectSlots(db, [])).end;
}

/**
 * The hashes stored at these slots (undefined where none is: the tree is not that large,
 * or the hash was deleted), in order, and where the tree ends, in one round trip: a
 * proof's reads are a few index probes and one toast chunk each, at any tree size.
 */
export async function selectSlots(db: Database, slots: readonly TileSlot[]): Promise<{ found: (Uint8Array | undefined)[]; end: TreeEnd }> {
  const rows = await queryRowsPrepared<EndRow & { k: string | number }>(
    db,
    sql`select k, t, w, s, h from merkle_slots(${arrayOf(slots.map((s) => s.level))}::smallint[], ${arrayOf(slots.map((s) => s.index))}::bigint[],
                                             ${arrayOf(slots.map((s) => s.inner))}::boolean[], ${arrayOf(slots.map((s) => s.position))}::int[])`,
  );
  const found: (Uint8Array | undefined)[] = new Array(slots.length).fill(undefined);
  let end = toEnd(undefined);
  for (const r of rows) {
    const k = Number(r.k);
    if (k === -1) end = toEnd(r);
    else if (r.h && r.h.length === 64) found[k - 1] = bytesOf(r.h);
  }
  return { found, end };
}

/** The next events to integrate: their seqs, and the leaf hash each one's writer stored (null: written without one). */
export interface LeafHashSlice {
  seqs: number[];
  hashes: (Uint8Array | null)[];
}

/**
 * The next events after `afterSeq`, in seq order, `limit` at most: what the integrator
 * reads. One row, the hashes as one bytea: a row per event cost more to send than to hash.
 */
export async function selectLeafHashSlice(db: Database, afterSeq: number, limit: number): Promise<LeafHashSlice> {
  const [row] = await queryRows<{ seqs: string | null; hashes: Uint8Array | null; missing: string | null }>(
    db,
    sql`select array_to_string(array_agg(seq order by seq), ',') as seqs,
               string_agg(leaf_hash, ''::bytea order by seq) as hashes,
               array_to_string(array_agg(seq order by seq) filter (where leaf_hash is null), ',') as missing
          from (select seq, leaf_hash from audit_events where seq > ${afterSeq} order by seq limit ${limit}) next`,
  );
  const seqs = numbersOf(row?.seqs ?? null);
  const missing = new Set(numbersOf(row?.missing ?? null));
  const all = row?.hashes ?? new Uint8Array(0);
  let at = 0;
  const hashes = seqs.map((seq) => {
    if (missing.has(seq)) return null;
    const hash = all.subarray(at, at + 32);
    at += 32;
    return hash;
  });
  return { seqs, hashes };
}

/**
 * Appends to tiles (in the caller's transaction, under the tree's lock), in one
 * statement: a new tile is inserted, a partial one grows by concatenation. Hashes go as
 * two bytea parameters; a leaf tile's seqs and event ids are read from audit_events by the
 * seq range of its new leaves (the integrator read every event in it), not sent.
 */
export async function appendTiles(db: Database, appends: readonly TileAppend[]): Promise<void> {
  if (appends.length === 0) return;
  const offsets = (lists: Uint8Array[][]) => {
    let at = 0;
    return lists.map((l) => ((at += l.length), at - l.length));
  };
  const hashes = appends.map((a) => a.hashes);
  const inner = appends.map((a) => a.inner);
  const isLeafTile = (a: TileAppend) => a.level === 0 && a.seqs.length > 0;
  await db.execute(
    sql`insert into merkle_tiles as t (level, tile_index, hashes, inner_hashes, seqs, event_ids, last_seq)
        select x.l, x.i, substring(${Buffer.concat(hashes.flat())}::bytea from x.ho * 32 + 1 for x.hn * 32),
               substring(${Buffer.concat(inner.flat())}::bytea from x.io * 32 + 1 for x.inn * 32), e.seqs, e.ids, x.last
          from unnest(${arrayOf(appends.map((a) => a.level))}::smallint[], ${arrayOf(appends.map((a) => a.index))}::bigint[],
                      ${arrayOf(offsets(hashes))}::int[], ${arrayOf(hashes.map((h) => h.length))}::int[],
                      ${arrayOf(offsets(inner))}::int[], ${arrayOf(inner.map((h) => h.length))}::int[],
                      ${arrayOf(appends.map((a) => (isLeafTile(a) ? a.seqs[0]! : 'NULL')))}::bigint[],
                      ${arrayOf(appends.map((a) => (isLeafTile(a) ? a.seqs.at(-1)! : 'NULL')))}::bigint[])
            as x(l, i, ho, hn, io, inn, first, last)
          left join lateral (
            select array_agg(seq order by seq) as seqs, array_agg(id order by seq) as ids
              from audit_events where x.first is not null and seq between x.first and x.last) e on true
        on conflict (level, tile_index) do update set
          hashes = t.hashes || excluded.hashes, inner_hashes = t.inner_hashes || excluded.inner_hashes,
          seqs = t.seqs || excluded.seqs, event_ids = t.event_ids || excluded.event_ids, last_seq = coalesce(excluded.last_seq, t.last_seq)`,
  );
}

/** The leaf of an event: its index, seq and hash. */
export interface TreeLeaf {
  leafIndex: number;
  seq: number;
  eventId: string;
  hash: Uint8Array;
}

/** What an inclusion proof needs, read in one round trip (selectInclusionPath). */
export interface InclusionPath {
  /** The event's leaf; undefined when the event is unknown or not integrated yet. */
  leaf: TreeLeaf | undefined;
  /** Whether the event itself is still stored (false: unknown, or removed by retention). */
  eventStored: boolean;
  end: TreeEnd;
  /**
   * The complete subtrees the proof of that leaf in the tree of the asked size is made
   * of, with their hashes; empty when that tree does not hold the leaf or is larger than
   * the stored one.
   */
  subtrees: SubtreeHash[];
}

/**
 * The event's leaf (found from its seq: the event's row, or the record retention left of
 * it), whether the event is still stored, where the tree ends, and the subtree hashes of
 * the leaf's inclusion proof in the tree of `treeSize` leaves: one call of the function
 * merkle_inclusion_path (migration 0015, which says how it finds them), so a proof is one
 * round trip.
 */
export async function selectInclusionPath(db: Database, eventId: string, treeSize: number): Promise<InclusionPath> {
  const rows = await queryRowsPrepared<{ k: string | number; x: string | number | null; y: string | number | null; z: string | number | null; h: string | null }>(
    db,
    sql`select k, x, y, z, h from merkle_inclusion_path(${eventId}::uuid, ${treeSize}::bigint)`,
  );
  let end = toEnd(undefined);
  let leaf: TreeLeaf | undefined;
  let eventStored = false;
  const subtrees: SubtreeHash[] = [];
  for (const r of rows) {
    const k = Number(r.k);
    if (k === -1) end = toEnd({ t: r.x, w: r.y, s: r.z, h: r.h });
    else if (k === 0) {
      eventStored = Number(r.z) === 1;
      if (r.x !== null) leaf = { leafIndex: Number(r.x), seq: Number(r.y), eventId, hash: bytesOf(r.h!) };
    } else if (r.h && r.h.length === 64) subtrees.push({ level: Number(r.x), index: Number(r.y), hash: bytesOf(r.h) });
  }
  return { leaf, eventStored, end, subtrees };
}

/** How many leaves the events through `seq` (in seq order) take: the leaf index of the next one. */
export async function selectLeafCountThroughSeq(db: Database, seq: number): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(
    db,
    sql`select coalesce(
          (select t.tile_index * 256 + (select count(*) from unnest(t.seqs) as s where s <= ${seq})
             from merkle_tiles t where t.level = 0 and t.last_seq > ${seq} order by t.last_seq limit 1),
          (select tile_index * 256 + cardinality(seqs) from merkle_tiles where level = 0 order by tile_index desc limit 1),
          0) as n`,
  );
  return Number(row?.n ?? 0);
}

/** A tile as verification reads it: every hash it holds, and at level 0 its leaves' events. */
export interface StoredTile extends TileKey {
  hashes: Uint8Array[];
  inner: Uint8Array[];
  seqs: number[];
  eventIds: string[];
}

type TileRow = { level: number; tile_index: string | number; hashes: string; inner: string; seqs: string | null; event_ids: string | null };
const toTile = (r: TileRow): StoredTile => ({
  level: Number(r.level),
  index: Number(r.tile_index),
  hashes: hashesOf(r.hashes),
  inner: hashesOf(r.inner),
  seqs: numbersOf(r.seqs),
  eventIds: r.event_ids ? r.event_ids.split(',') : [],
});
const TILE_COLUMNS = sql`level, tile_index, encode(hashes, 'hex') as hashes, encode(inner_hashes, 'hex') as inner,
  array_to_string(seqs, ',') as seqs, array_to_string(event_ids, ',') as event_ids`;

/** Tiles of one level from index `fromIndex` on, in order, `limit` at a time (verification walks them). */
export async function selectTilesFrom(db: Database, level: number, fromIndex: number, limit: number): Promise<StoredTile[]> {
  const rows = await queryRows<TileRow>(
    db,
    sql`select ${TILE_COLUMNS} from merkle_tiles where level = ${level} and tile_index >= ${fromIndex} order by tile_index limit ${limit}`,
  );
  return rows.map(toTile);
}

/** The leaf indexes of the events at these seqs (those the tree holds), by seq. */
export async function selectLeafIndexesAtSeqs(db: Database, seqs: readonly number[]): Promise<Map<number, number>> {
  const rows = await queryRows<{ seq: string | number; leaf_index: string | number }>(
    db,
    sql`select x.s as seq, t.tile_index * 256 + array_position(t.seqs, x.s) - 1 as leaf_index
          from unnest(${arrayOf(seqs)}::bigint[]) as x(s)
          cross join lateral (select tile_index, seqs from merkle_tiles where level = 0 and last_seq >= x.s order by last_seq limit 1) t
         where array_position(t.seqs, x.s) is not null`,
  );
  return new Map(rows.map((r) => [Number(r.seq), Number(r.leaf_index)]));
}

export async function insertTreeHead(db: Database, head: StoredTreeHead): Promise<void> {
  await db.execute(
    sql`insert into merkle_tree_heads (tree_size, root_hash, note, created_at)
        values (${head.treeSize}, decode(${hexOf(head.rootHash)}, 'hex'), ${head.note}, ${head.createdAt.toISOString()}::timestamptz)`,
  );
}

type HeadRow = { tree_size: string | number; root_hash: string; note: string; created_at: string | Date };
const toHead = (r: HeadRow): StoredTreeHead => ({
  treeSize: Number(r.tree_size),
  rootHash: bytesOf(r.root_hash),
  note: r.note,
  createdAt: new Date(r.created_at),
});

export async function selectLatestTreeHead(db: Database): Promise<StoredTreeHead | undefined> {
  const [row] = await queryRows<HeadRow>(
    db,
    sql`select tree_size, encode(root_hash, 'hex') as root_hash, note, created_at from merkle_tree_heads order by tree_size desc limit 1`,
  );
  return row ? toHead(row) : undefined;
}

export async function selectTreeHead(db: Database, treeSize: number): Promise<StoredTreeHead | undefined> {
  const [row] = await queryRows<HeadRow>(
    db,
    sql`select tree_size, encode(root_hash, 'hex') as root_hash, note, created_at from merkle_tree_heads where tree_size = ${treeSize}`,
  );
  return row ? toHead(row) : undefined;
}

