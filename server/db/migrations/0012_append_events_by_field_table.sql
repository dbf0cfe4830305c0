-- vigil_append_events (0006) again, with no list of its own: the server passes the columns
-- it writes (shared/eventFields.ts, the one list of the event's fields) and the writers'
-- lock key (server/db/eventWriter.ts, where it is defined). Each event of `events` is a
-- JSON object keyed by column name; json_populate_recordset reads it as an audit_events
-- row, so every column keeps its type from the table itself. Answers as before:
--   {"inserted": n, "first_seq": s, "last_seq": t}   the rows got seqs s..t, in array order
--   {"head": h}                                       nothing inserted: the head is h, not the expected one
--   {"duplicates": [{"id", "seq"}...], "head": h}     nothing inserted: these ids are stored
DROP FUNCTION vigil_append_events(json, uuid[], text, text, text);
--> statement-breakpoint
CREATE FUNCTION vigil_append_events(events json, ids uuid[], expected_head text, genesis_hash text, channel text,
  lock_key bigint, columns text[])
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
  column_list text;
BEGIN
  -- The lock every writer takes: seq order is commit order, and the chain is extended
  -- from the true head. Each statement below takes a new snapshot, so it sees what the
  -- previous holder committed.
  PERFORM pg_advisory_xact_lock(lock_key);

  SELECT e.hash INTO head FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF head IS NULL THEN
    SELECT c.hash INTO head FROM integrity_checkpoints c WHERE c.kind = 'retention' ORDER BY c.seq DESC LIMIT 1;
  END IF;
  head := coalesce(head, genesis_hash);

  IF head IS DISTINCT FROM expected_head THEN
    RETURN json_build_object('head', head);
  END IF;

  SELECT string_agg(quote_ident(c), ', ') INTO column_list FROM unnest(columns) AS c;
  -- Rows are inserted in array order, so the identity gives them consecutive seqs in that
  -- order (no other session draws from the sequence while the lock is held). A stored id
  -- fails the unique index; only then are the stored ids looked up (checking them first
  -- would cost a probe per row on every write, for the rare replay).
  BEGIN
    EXECUTE format(
      'WITH ins AS (
         INSERT INTO audit_events (%1$s)
         SELECT %1$s FROM json_populate_recordset(null::audit_events, $1) WITH ORDINALITY AS x ORDER BY x.ordinality
         RETURNING seq
       )
       SELECT min(seq), max(seq), count(*) FROM ins', column_list)
      INTO first_seq, last_seq, inserted
      USING events;
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
