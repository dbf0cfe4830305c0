-- Appending events in ONE round trip (auditEventsStore.writeEvents). The server computes
-- each event's chain hash before it calls, from the chain head it expects (the last hash
-- it wrote); this function takes the writers' lock, checks that expectation, and inserts,
-- all inside Postgres, all or nothing. Before it, a write was six round trips under the
-- lock, each one waiting for the server's event loop while Postgres sat idle holding it.
--
-- Answers (json):
--   {"inserted": n, "first_seq": s, "last_seq": t}   the rows got seqs s..t, in array order
--   {"head": h}                                       nothing inserted: the head is h, not the expected one
--   {"duplicates": [{"id", "seq"}...], "head": h}     nothing inserted: these ids are stored
-- The caller recomputes and calls again in the last two cases.
CREATE FUNCTION vigil_append_events(events json, ids uuid[], expected_head text, genesis_hash text, channel text)
RETURNS json
LANGUAGE plpgsql
-- Plan each statement for the values at hand: a plan cached while the table was small (a
-- sequential scan for the stored-ids lookup) would otherwise be kept as it grows.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  head text;
  duplicates json;
  first_seq bigint;
  last_seq bigint;
  inserted bigint;
BEGIN
  -- The same lock as every writer (WRITE_LOCK_KEY): seq order is commit order, and the
  -- chain is extended from the true head. Each statement below takes a new snapshot, so
  -- it sees what the previous holder committed.
  PERFORM pg_advisory_xact_lock(7162021002);

  SELECT e.hash INTO head FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF head IS NULL THEN
    SELECT c.hash INTO head FROM integrity_checkpoints c WHERE c.kind = 'retention' ORDER BY c.seq DESC LIMIT 1;
  END IF;
  head := coalesce(head, genesis_hash);

  IF head IS DISTINCT FROM expected_head THEN
    RETURN json_build_object('head', head);
  END IF;

  -- Rows are inserted in array order, so the identity gives them consecutive seqs in that
  -- order (no other session draws from the sequence while the lock is held). A stored id
  -- fails the unique index; only then are the stored ids looked up (checking them first
  -- would cost a probe per row on every write, for the rare replay).
  BEGIN
    WITH ins AS (
      INSERT INTO audit_events (id, time, recorded_at, action, resource_type, resource_id, resource_target,
        actor_id, actor_username, actor_email, ip, user_agent, status_code, request_id, diff, metadata, hash)
      SELECT x.id, x.time, x.recorded_at, x.action, x.resource_type, x.resource_id, x.resource_target,
        x.actor_id, x.actor_username, x.actor_email, x.ip, x.user_agent, x.status_code, x.request_id, x.diff, x.metadata, x.hash
      FROM json_to_recordset(events) AS x(ord int, id uuid, time timestamptz, recorded_at timestamptz,
        action text, resource_type text, resource_id text, resource_target text, actor_id text,
        actor_username text, actor_email text, ip inet, user_agent text, status_code int, request_id text,
        diff jsonb, metadata jsonb, hash text)
      ORDER BY x.ord
      RETURNING seq
    )
    SELECT min(seq), max(seq), count(*) INTO first_seq, last_seq, inserted FROM ins;
  EXCEPTION WHEN unique_violation THEN
    SELECT json_agg(json_build_object('id', e.id, 'seq', e.seq)) INTO duplicates
    FROM audit_events e WHERE e.id = ANY (ids);
    IF duplicates IS NULL THEN
      RAISE;  -- some other unique index: a real error
    END IF;
    RETURN json_build_object('duplicates', duplicates, 'head', head);
  END;
  IF last_seq - first_seq + 1 <> inserted THEN
    RAISE EXCEPTION 'vigil_append_events: seqs % to % for % rows are not consecutive', first_seq, last_seq, inserted;
  END IF;

  -- Delivered when the transaction commits: live subscribers on every server wake up.
  PERFORM pg_notify(channel, last_seq::text);
  RETURN json_build_object('inserted', inserted, 'first_seq', first_seq, 'last_seq', last_seq);
END;
$$;
