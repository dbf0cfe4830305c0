-- The RFC 9162 Merkle tree over audit_events (in seq order) and its signed heads. Every
-- complete subtree's hash is kept, so any inclusion or consistency proof of any tree size
-- is a few index lookups: leaves (level 0) with the event they hash, the nodes above them
-- keyed by (level, index), and one row per signed tree head. Retention deletes events,
-- never these: proofs of what remains, and consistency across the deletion, still hold.
CREATE TABLE "merkle_leaves" (
	"leaf_index" bigint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"event_id" uuid NOT NULL,
	"hash" bytea NOT NULL,
	CONSTRAINT "merkle_leaves_event_id_key" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "merkle_nodes" (
	"level" smallint NOT NULL,
	"node_index" bigint NOT NULL,
	"hash" bytea NOT NULL,
	CONSTRAINT "merkle_nodes_pkey" PRIMARY KEY("level","node_index"),
	CONSTRAINT "merkle_nodes_level" CHECK ("level" >= 1)
);
--> statement-breakpoint
CREATE TABLE "merkle_tree_heads" (
	"tree_size" bigint PRIMARY KEY NOT NULL,
	"root_hash" bytea NOT NULL,
	"note" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
-- Append-only, like audit_events: a changed hash would be a rewritten history.
CREATE FUNCTION merkle_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER merkle_leaves_append_only BEFORE UPDATE OR DELETE ON merkle_leaves FOR EACH ROW EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_leaves_no_truncate BEFORE TRUNCATE ON merkle_leaves FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes FOR EACH ROW EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_tree_heads_append_only BEFORE UPDATE OR DELETE ON merkle_tree_heads FOR EACH ROW EXECUTE FUNCTION merkle_append_only();
--> statement-breakpoint
CREATE TRIGGER merkle_tree_heads_no_truncate BEFORE TRUNCATE ON merkle_tree_heads FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only();
