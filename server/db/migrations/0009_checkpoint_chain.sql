-- Signed checkpoints are append-only like the events, and chained: each names the one
-- before it (its id, and the SHA-256 of its signed statement and signature), so a deleted
-- checkpoint breaks the chain of checkpoints. `events` counts the events after the
-- previous checkpoint through this one, so verify can tell removed events from a changed
-- one. Rows made before this migration have none of these (prev_digest is null) and
-- keep verifying with the statement they were signed with.
ALTER TABLE "integrity_checkpoints" ADD COLUMN "prev_id" bigint;
--> statement-breakpoint
ALTER TABLE "integrity_checkpoints" ADD COLUMN "prev_digest" text;
--> statement-breakpoint
ALTER TABLE "integrity_checkpoints" ADD COLUMN "events" bigint;
--> statement-breakpoint
-- Nothing ever removes a checkpoint: retention deletes events only (it signs a new checkpoint first).
CREATE FUNCTION integrity_checkpoints_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'integrity_checkpoints is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'signed checkpoints are never changed or removed';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER integrity_checkpoints_no_update_delete
  BEFORE UPDATE OR DELETE ON integrity_checkpoints
  FOR EACH ROW EXECUTE FUNCTION integrity_checkpoints_append_only();
--> statement-breakpoint
CREATE TRIGGER integrity_checkpoints_no_truncate
  BEFORE TRUNCATE ON integrity_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION integrity_checkpoints_append_only();
