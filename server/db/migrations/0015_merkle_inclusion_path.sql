-- What an inclusion proof reads, in one call (server/db/merkleStore.ts selectInclusionPath):
-- the event's leaf, found from its seq (its row, or the record retention left of it);
-- where the tree ends; and the hashes of the complete subtrees the proof of that leaf in
-- the tree of `tree_size` leaves is made of. A function so its statement is planned once
-- per session, on PGlite too (which has no named prepared statements): planned at every
-- call it cost more than running it.
--
-- The subtrees are those shared/merkle.ts subtreesOfRanges(inclusionProofRanges(leaf,
-- tree_size)) lists: at each tree level below the tree's height, the sibling of the leaf's
-- ancestor, or where that sibling reaches past the tree's end, the complete subtrees it
-- holds (the tree's frontier below that level). None when that tree does not hold the leaf
-- or is larger than the stored one. Each is read at its tile slot, computed as
-- server/services/merkleTiles.ts slotOf does (test/integration/inclusionPath.test.ts holds
-- the two together).
--
-- Rows: (-1, last level-0 tile's index, its width, its last seq, its last hash) where the
-- tree ends; (0, leaf index, seq, 1 when the event is still stored, leaf hash) for the
-- event, leaf index and hash null when it is not integrated yet; (1, level, index, null,
-- hash) per subtree. Hashes in hex.
CREATE FUNCTION merkle_inclusion_path(wanted_id uuid, tree_size bigint)
RETURNS TABLE (k int, x bigint, y bigint, z bigint, h text)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH ev AS (
    (SELECT seq, true AS stored FROM audit_events WHERE id = wanted_id
     UNION ALL
     SELECT seq, false FROM merkle_removed_events WHERE event_id = wanted_id)
    LIMIT 1),
  last AS (SELECT tile_index, hashes, last_seq FROM merkle_tiles WHERE level = 0 ORDER BY tile_index DESC LIMIT 1),
  leaf AS (
    SELECT t.tile_index * 256 + p.at - 1 AS leaf_index, substring(t.hashes FROM (p.at - 1) * 32 + 1 FOR 32) AS hash
      FROM ev
      CROSS JOIN LATERAL (SELECT tile_index, seqs, hashes FROM merkle_tiles WHERE level = 0 AND last_seq >= ev.seq ORDER BY last_seq LIMIT 1) t
      CROSS JOIN LATERAL (SELECT array_position(t.seqs, ev.seq) AS at) p
     WHERE p.at IS NOT NULL),
  -- a: the leaf's ancestor at tree level l; n: the tree's size.
  path AS (
    SELECT l, leaf.leaf_index >> l AS a, tree_size AS n
      FROM leaf CROSS JOIN generate_series(0, 62) l
     WHERE (1::bigint << l) < tree_size AND leaf.leaf_index < tree_size
       AND tree_size <= (SELECT tile_index * 256 + length(hashes) / 32 FROM last)),
  subtrees AS (
    -- The ancestor is a right child: its left sibling, complete.
    SELECT l AS level, a - 1 AS idx FROM path WHERE a & 1 = 1
    UNION ALL
    -- A left child whose right sibling is complete in the tree.
    SELECT l, a + 1 FROM path WHERE a & 1 = 0 AND (a + 2) << l <= n
    UNION ALL
    -- A left child whose right sibling reaches past the end: the subtrees of the tree's
    -- frontier below level l (one per set bit of n).
    SELECT b, (n >> b) - 1 FROM path CROSS JOIN generate_series(0, l - 1) b
     WHERE a & 1 = 0 AND (a + 1) << l < n AND n < (a + 2) << l AND (n >> b) & 1 = 1),
  slots AS (
    -- slotOf: a subtree at tile-relative level 0 is its tile's hash; above, an inner node,
    -- stored after those completed before it (innerCountOf of the tile's width when it
    -- completed), less the ones above it that the same hash completes.
    SELECT s.level, s.idx, g.tile_level, g.tile, g.within > 0 AS inner,
           CASE WHEN g.within = 0 THEN g.first - (g.tile << 8)
                ELSE (w.w >> 1) + (w.w >> 2) + (w.w >> 3) + (w.w >> 4) + (w.w >> 5) + (w.w >> 6) + (w.w >> 7) - (w.highest - g.within) - 1 END::int AS position
      FROM subtrees s
      CROSS JOIN LATERAL (SELECT s.level / 8 AS tile_level, s.level % 8 AS within, s.idx << (s.level % 8) AS first,
                                 (s.idx << (s.level % 8)) >> 8 AS tile) g
      CROSS JOIN LATERAL (SELECT ((s.idx + 1) << g.within) - (g.tile << 8) AS w) width
      CROSS JOIN LATERAL (SELECT width.w,
                                 CASE WHEN width.w % 128 = 0 THEN 7 WHEN width.w % 64 = 0 THEN 6 WHEN width.w % 32 = 0 THEN 5
                                      WHEN width.w % 16 = 0 THEN 4 WHEN width.w % 8 = 0 THEN 3 WHEN width.w % 4 = 0 THEN 2
                                      WHEN width.w % 2 = 0 THEN 1 ELSE 0 END AS highest) w)
  SELECT -1, last.tile_index, (length(last.hashes) / 32)::bigint, last.last_seq,
         encode(substring(last.hashes FROM length(last.hashes) - 31), 'hex')
    FROM last
  UNION ALL
  SELECT 0, leaf.leaf_index, ev.seq, CASE WHEN ev.stored THEN 1 ELSE 0 END::bigint, encode(leaf.hash, 'hex')
    FROM ev LEFT JOIN leaf ON true
  UNION ALL
  SELECT 1, s.level::bigint, s.idx, NULL::bigint,
         encode(CASE WHEN s.inner THEN substring(t.inner_hashes FROM s.position * 32 + 1 FOR 32)
                     ELSE substring(t.hashes FROM s.position * 32 + 1 FOR 32) END, 'hex')
    FROM slots s JOIN merkle_tiles t ON t.level = s.tile_level AND t.tile_index = s.tile;
END;
$$;
