-- The hashes stored at tile slots, and where the tree ends, in one call
-- (server/db/merkleStore.ts selectSlots: consistency proofs, roots, the integrator's
-- frontier). A function for the same reason as merkle_inclusion_path (0015): planned once
-- per session, on PGlite too. Rows: (-1, last level-0 tile's index, its width, its last
-- seq, its last hash) where the tree ends; (k, null, null, null, hash) for the k-th slot
-- (from 1) that holds one. Hashes in hex.
CREATE FUNCTION merkle_slots(levels smallint[], tile_indexes bigint[], inner_nodes boolean[], positions int[])
RETURNS TABLE (k bigint, t bigint, w bigint, s bigint, h text)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT -1::bigint, last.tile_index, (length(last.hashes) / 32)::bigint, last.last_seq,
         encode(substring(last.hashes FROM length(last.hashes) - 31), 'hex')
    FROM (SELECT tile_index, hashes, last_seq FROM merkle_tiles WHERE level = 0 ORDER BY tile_index DESC LIMIT 1) last
  UNION ALL
  SELECT x.k, NULL::bigint, NULL::bigint, NULL::bigint,
         encode(CASE WHEN x.c THEN substring(tl.inner_hashes FROM x.p * 32 + 1 FOR 32) ELSE substring(tl.hashes FROM x.p * 32 + 1 FOR 32) END, 'hex')
    FROM unnest(levels, tile_indexes, inner_nodes, positions) WITH ORDINALITY AS x(l, i, c, p, k)
    JOIN merkle_tiles tl ON tl.level = x.l AND tl.tile_index = x.i;
END;
$$;
