// The one module for the Merkle tree's tables: merkle_leaves, merkle_nodes and
// merkle_tree_heads (migration 0011). Hashes travel as hex through SQL, so both drivers
// (postgres.js Buffers, PGlite Uint8Arrays) read and write them alike; arrays travel as
// array literals, which Postgres splits far faster than JSON.
import { sql } from 'drizzle-orm';
import type { Subtree, SubtreeHash } from '../../shared/merkle.js';
import { queryRows, type Database } from './database.js';
import { auditEvents } from './schema.js';

/** Any procedure of the tree holds this for its transaction: one integrator at a time, across replicas. */
export const TREE_LOCK_KEY = 7_162_021_005;

export interface TreeLeaf {
  leafIndex: number;
  seq: number;
  eventId: string;
  hash: Uint8Array;
}

export interface StoredTreeHead {
  treeSize: number;
  rootHash: Uint8Array;
  note: string;
  createdAt: Date;
}

const hexOf = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
/** 32-byte hashes end to end as one hex string (bytea parameters differ between the drivers). */
const hexesOf = (hashes: readonly Uint8Array[]) => Buffer.concat(hashes).toString('hex');
/** A Postgres array literal of numbers or uuids (no quoting needed). */
const arrayOf = (values: readonly (number | string)[]) => `{${values.join(',')}}`;
const bytesOf = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
export const subtreeKey = (level: number, index: number) => `${level}/${index}`;

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

const LAST_LEAF = sql`(select leaf_index, seq, hash from merkle_leaves order by leaf_index desc limit 1)`;

type EndRow = { leaf_index: string | number | null; seq: string | number | null; last_hash: string | null };
const toEnd = (row: EndRow | undefined): TreeEnd =>
  row && row.leaf_index !== null
    ? { size: Number(row.leaf_index) + 1, lastSeq: Number(row.seq), lastHash: bytesOf(row.last_hash!) }
    : { size: 0, lastSeq: 0, lastHash: null };

export async function selectTreeEnd(db: Database): Promise<TreeEnd> {
  const [row] = await queryRows<EndRow>(db, sql`select leaf_index, seq, encode(hash, 'hex') as last_hash from ${LAST_LEAF} last`);
  return toEnd(row);
}

/**
 * The stored hashes of these complete subtrees, by subtreeKey, and where the tree ends,
 * in one round trip: a proof's reads are index probes, the same few at any tree size.
 */
export async function selectSubtrees(db: Database, subtrees: readonly Subtree[]): Promise<{ found: Map<string, Uint8Array>; end: TreeEnd }> {
  const found = new Map<string, Uint8Array>();
  const leaves = subtrees.filter((s) => s.level === 0).map((s) => s.index);
  const nodes = subtrees.filter((s) => s.level > 0);
  const rows = await queryRows<{ level: number; idx: string | number; hash: string; seq: string | number | null }>(
    db,
    sql`select -1 as level, leaf_index as idx, encode(hash, 'hex') as hash, seq from ${LAST_LEAF} last
        union all
        select 0, l.leaf_index, encode(l.hash, 'hex'), null
          from unnest(${`{${leaves.join(',')}}`}::bigint[]) as x(i)
          join merkle_leaves l on l.leaf_index = x.i
        union all
        select n.level, n.node_index, encode(n.hash, 'hex'), null
          from unnest(${`{${nodes.map((s) => s.level).join(',')}}`}::smallint[], ${`{${nodes.map((s) => s.index).join(',')}}`}::bigint[]) as x(l, i)
          join merkle_nodes n on n.level = x.l and n.node_index = x.i`,
  );
  let end: TreeEnd = toEnd(undefined);
  for (const r of rows) {
    if (Number(r.level) === -1) end = toEnd({ leaf_index: r.idx, seq: r.seq, last_hash: r.hash });
    else found.set(subtreeKey(Number(r.level), Number(r.idx)), bytesOf(r.hash));
  }
  return { found, end };
}

/**
 * Appends leaves and the nodes above them they completed (in the caller's transaction),
 * in one statement: hashes as one hex string per table, split by Postgres.
 */
export async function insertTreeNodes(db: Database, leaves: readonly TreeLeaf[], nodes: readonly SubtreeHash[]): Promise<void> {
  if (leaves.length === 0 && nodes.length === 0) return;
  await db.execute(
    sql`with hashes as (select decode(${hexesOf(leaves.map((l) => l.hash))}::text, 'hex') as leaf, decode(${hexesOf(nodes.map((n) => n.hash))}::text, 'hex') as node),
        leaves as (
          insert into merkle_leaves (leaf_index, seq, event_id, hash)
          select x.i, x.s, x.e, substring(h.leaf from (x.n::int - 1) * 32 + 1 for 32)
            from hashes h, unnest(${arrayOf(leaves.map((l) => l.leafIndex))}::bigint[], ${arrayOf(leaves.map((l) => l.seq))}::bigint[],
                                  ${arrayOf(leaves.map((l) => l.eventId))}::uuid[]) with ordinality as x(i, s, e, n)
        )
        insert into merkle_nodes (level, node_index, hash)
        select x.l, x.i, substring(h.node from (x.n::int - 1) * 32 + 1 for 32)
          from hashes h, unnest(${arrayOf(nodes.map((n) => n.level))}::smallint[], ${arrayOf(nodes.map((n) => n.index))}::bigint[]) with ordinality as x(l, i, n)`,
  );
}

/** An event to integrate: its seq, id and the leaf hash its writer stored (null: written without one). */
export interface EventLeafHash {
  seq: number;
  id: string;
  leafHash: Uint8Array | null;
}

/** The next events after `afterSeq`, in seq order, with their stored leaf hashes: what the integrator reads. */
export async function selectLeafHashSlice(db: Database, afterSeq: number, limit: number): Promise<EventLeafHash[]> {
  const rows = await queryRows<{ seq: string | number; id: string; leaf_hash: string | null }>(
    db,
    sql`select seq, id, encode(leaf_hash, 'hex') as leaf_hash from audit_events where seq > ${afterSeq} order by seq limit ${limit}`,
  );
  return rows.map((r) => ({ seq: Number(r.seq), id: r.id, leafHash: r.leaf_hash === null ? null : bytesOf(r.leaf_hash) }));
}

/** The leaf of an event, found by the event's id (kept after retention removed the event). */
export async function selectLeafOfEvent(db: Database, eventId: string): Promise<TreeLeaf | undefined> {
  const [row] = await queryRows<{ leaf_index: string | number; seq: string | number; hash: string }>(
    db,
    sql`select leaf_index, seq, encode(hash, 'hex') as hash from merkle_leaves where event_id = ${eventId}::uuid`,
  );
  return row ? { leafIndex: Number(row.leaf_index), seq: Number(row.seq), eventId, hash: bytesOf(row.hash) } : undefined;
}

/** How many leaves the events through `seq` (in seq order) take: the leaf index of the next one. */
export async function selectLeafCountThroughSeq(db: Database, seq: number): Promise<number> {
  const [row] = await queryRows<{ leaf_index: string | number }>(
    db,
    sql`select leaf_index from merkle_leaves where seq <= ${seq} order by seq desc limit 1`,
  );
  return row ? Number(row.leaf_index) + 1 : 0;
}

/** Leaves from `fromIndex` on, in order, `limit` at a time (verification walks them). */
export async function selectLeaves(db: Database, fromIndex: number, limit: number): Promise<TreeLeaf[]> {
  const rows = await queryRows<{ leaf_index: string | number; seq: string | number; event_id: string; hash: string }>(
    db,
    sql`select leaf_index, seq, event_id, encode(hash, 'hex') as hash from merkle_leaves
        where leaf_index >= ${fromIndex} order by leaf_index limit ${limit}`,
  );
  return rows.map((r) => ({ leafIndex: Number(r.leaf_index), seq: Number(r.seq), eventId: r.event_id, hash: bytesOf(r.hash) }));
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

/**
 * What an inclusion proof starts from, in one round trip: the event's leaf (kept after
 * retention removed the event) and whether the event itself is still stored.
 */
export async function selectLeafAndEvent(db: Database, eventId: string): Promise<{ leaf: TreeLeaf | undefined; eventStored: boolean }> {
  const [row] = await queryRows<{ leaf_index: string | number | null; seq: string | number | null; hash: string | null; stored: boolean }>(
    db,
    sql`select l.leaf_index, l.seq, encode(l.hash, 'hex') as hash,
               exists (select 1 from ${auditEvents} e where e.id = ${eventId}::uuid) as stored
          from (select 1) one left join merkle_leaves l on l.event_id = ${eventId}::uuid`,
  );
  const leaf =
    row && row.leaf_index !== null
      ? { leafIndex: Number(row.leaf_index), seq: Number(row.seq), eventId, hash: bytesOf(row.hash!) }
      : undefined;
  return { leaf, eventStored: row?.stored === true };
}

/** The leaves of the events at these seqs (those the tree holds), by seq. */
export async function selectLeavesAtSeqs(db: Database, seqs: readonly number[]): Promise<Map<number, TreeLeaf>> {
  const rows = await queryRows<{ leaf_index: string | number; seq: string | number; event_id: string; hash: string }>(
    db,
    sql`select leaf_index, seq, event_id, encode(hash, 'hex') as hash from merkle_leaves
        where seq in (select value::bigint from json_array_elements_text(${JSON.stringify(seqs)}::json))`,
  );
  return new Map(rows.map((r) => [Number(r.seq), { leafIndex: Number(r.leaf_index), seq: Number(r.seq), eventId: r.event_id, hash: bytesOf(r.hash) }]));
}
