-- The Merkle tree stored as C2SP tlog-tiles (server/services/merkleTiles.ts) instead of a
-- row per leaf and per node: a row per tile of up to 256 hashes (tree levels 0, 8, 16...)
-- with the complete nodes between them, so integration writes a few rows per 256 leaves
-- and a proof reads a few rows at any tree size. The tree's hashes do not change, only
-- where they are kept: every stored leaf and node is moved here, and the signed heads stay
-- valid. Level-0 tiles also name their leaves' events (seq and id, in leaf order): an
-- event's leaf is found from its seq through last_seq.
CREATE TABLE "merkle_tiles" (
	"level" smallint NOT NULL,
	"tile_index" bigint NOT NULL,
	"hashes" bytea NOT NULL,
	"inner_hashes" bytea NOT NULL,
	"seqs" bigint[],
	"event_ids" uuid[],
	"last_seq" bigint,
	CONSTRAINT "merkle_tiles_pkey" PRIMARY KEY("level","tile_index"),
	CONSTRAINT "merkle_tiles_width" CHECK (length("hashes") % 32 = 0 AND length("hashes") BETWEEN 32 AND 8192
		AND length("inner_hashes") % 32 = 0 AND length("inner_hashes") <= 8128),
	CONSTRAINT "merkle_tiles_leaves" CHECK (CASE WHEN "level" = 0
		THEN cardinality("seqs") * 32 = length("hashes") AND cardinality("event_ids") * 32 = length("hashes") AND "last_seq" = "seqs"[cardinality("seqs")]
		ELSE "level" > 0 AND "seqs" IS NULL AND "event_ids" IS NULL AND "last_seq" IS NULL END)
);
--> statement-breakpoint
-- Hashes do not compress: kept out of line as they are, so a proof's substring reads only its chunk.
ALTER TABLE "merkle_tiles" ALTER COLUMN "hashes" SET STORAGE EXTERNAL;
--> statement-breakpoint
ALTER TABLE "merkle_tiles" ALTER COLUMN "inner_hashes" SET STORAGE EXTERNAL;
--> statement-breakpoint
CREATE INDEX "merkle_tiles_last_seq_idx" ON "merkle_tiles" ("last_seq") WHERE "level" = 0;
--> statement-breakpoint
-- Events retention removed, recorded as it deletes them: their leaves stay in the tree,
-- and a proof asked for one says it was removed by retention.
CREATE TABLE "merkle_removed_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO "merkle_tiles" ("level", "tile_index", "hashes", "inner_hashes", "seqs", "event_ids", "last_seq")
SELECT 0, l.leaf_index / 256, string_agg(l.hash, ''::bytea ORDER BY l.leaf_index), ''::bytea,
       array_agg(l.seq ORDER BY l.leaf_index), array_agg(l.event_id ORDER BY l.leaf_index), max(l.seq)
FROM "merkle_leaves" l GROUP BY l.leaf_index / 256;
--> statement-breakpoint
INSERT INTO "merkle_tiles" ("level", "tile_index", "hashes", "inner_hashes")
SELECT n.level / 8, n.node_index / 256, string_agg(n.hash, ''::bytea ORDER BY n.node_index), ''::bytea
FROM "merkle_nodes" n WHERE n.level % 8 = 0 GROUP BY n.level / 8, n.node_index / 256;
--> statement-breakpoint
-- A tile's inner nodes in the order appending completes them: by the tile entry that
-- completes each, lower levels first.
UPDATE "merkle_tiles" t SET "inner_hashes" = i.hashes FROM (
	SELECT n.level / 8 AS tile_level, (n.node_index * (1::bigint << (n.level % 8))) / 256 AS tile_index,
	       string_agg(n.hash, ''::bytea ORDER BY (n.node_index + 1) * (1::bigint << (n.level % 8)), n.level) AS hashes
	FROM "merkle_nodes" n WHERE n.level % 8 <> 0 GROUP BY 1, 2
) i WHERE t.level = i.tile_level AND t.tile_index = i.tile_index;
--> statement-breakpoint
INSERT INTO "merkle_removed_events" ("event_id", "seq")
SELECT l.event_id, l.seq FROM "merkle_leaves" l
WHERE l.seq <= coalesce((SELECT max(c.seq) FROM integrity_checkpoints c WHERE c.kind = 'retention'), 0)
  AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.id = l.event_id);
--> statement-breakpoint
DROP TABLE "merkle_leaves";
--> statement-breakpoint
DROP TABLE "merkle_nodes";
--> statement-breakpoint
-- Append-only: a tile only grows (its hashes, inner nodes and leaves so far stay a prefix).
CREATE FUNCTION merkle_tiles_grow_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.level = OLD.level AND NEW.tile_index = OLD.tile_index
     AND substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) = OLD.hashes
     AND substring(NEW.inner_hashes FROM 1 FOR length(OLD.inner_hashes)) = OLD.inner_hashes
     AND (OLD.seqs IS NULL OR NEW.seqs[1:cardinality(OLD.seqs)] = OLD.seqs)
     AND (OLD.event_ids IS NULL OR NEW.event_ids[1:cardinality(OLD.event_ids)] = OLD.event_ids) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'merkle_tiles is append-only: % is not allowed (a tile only grows)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER merkle_tiles_append_only BEFORE UPDATE OR DELETE ON merkle_tiles FOR EACH ROW EXECUTE FUNCTION merkle_tiles_grow_only();
--> statement-breakpoint
CREATE TRIGGER merkle_tiles_no_truncate BEFORE TRUNCATE ON merkle_tiles FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_removed_events_append_only BEFORE UPDATE OR DELETE ON merkle_removed_events FOR EACH ROW EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_removed_events_no_truncate BEFORE TRUNCATE ON merkle_removed_events FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
-- The only DELETE audit_events allows is retention's (migration 0003): each one is recorded.
CREATE FUNCTION merkle_record_removed_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO merkle_removed_events (event_id, seq) SELECT id, seq FROM removed ON CONFLICT (event_id) DO NOTHING;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_removed_by_retention AFTER DELETE ON audit_events
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION merkle_record_removed_events();
