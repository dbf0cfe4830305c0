-- Audit events are append-only. UPDATE, DELETE and TRUNCATE are refused, except the
-- retention job's DELETE of the oldest events, which it announces for its own
-- transaction with SET LOCAL vigil.retention_through_seq = <seq> (and records as an
-- event, behind a signed checkpoint, so what remains still verifies).
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  through text := current_setting('vigil.retention_through_seq', true);
BEGIN
  IF TG_OP = 'DELETE' AND coalesce(through, '') <> '' THEN
    IF OLD.seq <= through::bigint THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'events are removed only by the retention job (VIGIL_RETENTION_DAYS)';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
