// The one module for the Merkle tree's tables: merkle_leaves, merkle_nodes and
// merkle_tree_heads (migration 0011). Hashes travel as hex through SQL, so both drivers
// (postgres.js Buffers, PGlite Uint8Arrays) read and write them alike.
import { sql } from 'drizzle-orm';
import type { Subtree, SubtreeHash } from '../../shared/merkle.js';
import { queryRows, type Database } from './database.js';

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

const hexOf = (h: Uint8Array) => Buffer.from(h).toString('hex');
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

/** The number of leaves in the tree and the seq of the last event it holds (0 when empty). */
export async function selectTreeEnd(db: Database): Promise<{ size: number; lastSeq: number }> {
  const [row] = await queryRows<{ leaf_index: string | number; seq: string | number }>(
    db,
    sql`select leaf_index, seq from merkle_leaves order by leaf_index desc limit 1`,
  );
  return row ? { size: Number(row.leaf_index) + 1, lastSeq: Number(row.seq) } : { size: 0, lastSeq: 0 };
}

/** The stored hashes of these complete subtrees, by subtreeKey (one round trip). */
export async function selectSubtrees(db: Database, subtrees: readonly Subtree[]): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  if (subtrees.length === 0) return found;
  const leaves = subtrees.filter((s) => s.level === 0).map((s) => s.index);
  const nodes = subtrees.filter((s) => s.level > 0).map((s) => ({ l: s.level, i: s.index }));
  const rows = await queryRows<{ level: number; idx: string | number; hash: string }>(
    db,
    sql`select 0 as level, leaf_index as idx, encode(hash, 'hex') as hash from merkle_leaves
          where leaf_index in (select value::bigint from json_array_elements_text(${JSON.stringify(leaves)}::json))
        union all
        select n.level, n.node_index as idx, encode(n.hash, 'hex') as hash
          from json_to_recordset(${JSON.stringify(nodes)}::json) as x(l smallint, i bigint)
          join merkle_nodes n on n.level = x.l and n.node_index = x.i`,
  );
  for (const r of rows) found.set(subtreeKey(Number(r.level), Number(r.idx)), bytesOf(r.hash));
  return found;
}

/** Appends leaves and the nodes above them they completed (in the caller's transaction). */
export async function insertTreeNodes(db: Database, leaves: readonly TreeLeaf[], nodes: readonly SubtreeHash[]): Promise<void> {
  if (leaves.length > 0) {
    const json = JSON.stringify(leaves.map((l) => ({ i: l.leafIndex, s: l.seq, e: l.eventId, h: hexOf(l.hash) })));
    await db.execute(
      sql`insert into merkle_leaves (leaf_index, seq, event_id, hash)
          select x.i, x.s, x.e, decode(x.h, 'hex') from json_to_recordset(${json}::json) as x(i bigint, s bigint, e uuid, h text)`,
    );
  }
  if (nodes.length > 0) {
    const json = JSON.stringify(nodes.map((n) => ({ l: n.level, i: n.index, h: hexOf(n.hash) })));
    await db.execute(
      sql`insert into merkle_nodes (level, node_index, hash)
          select x.l, x.i, decode(x.h, 'hex') from json_to_recordset(${json}::json) as x(l smallint, i bigint, h text)`,
    );
  }
}

/** The leaf of an event, found by the event's id (kept after retention removed the event). */
export async function selectLeafOfEvent(db: Database, eventId: string): Promise<TreeLeaf | undefined> {
  const [row] = await queryRows<{ leaf_index: string | number; seq: string | number; hash: string }>(
    db,
    sql`select leaf_index, seq, encode(hash, 'hex') as hash from merkle_leaves where event_id = ${eventId}::uuid`,
  );
  return row ? { leafIndex: Number(row.leaf_index), seq: Number(row.seq), eventId, hash: bytesOf(row.hash) } : undefined;
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
