-- Announces every change to who may do what (a token revoked or re-scoped, a user
-- disabled, demoted or given a new password), whatever code path or process made it, so
-- every server replica re-checks its open WebSockets and live streams at once. The
-- payload names the row: `token:<id>` or `user:<id>`. Only api_tokens' last_used_at is
-- left out: it changes on use, not on rights.
CREATE FUNCTION announce_access_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  row_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
BEGIN
  PERFORM pg_notify('vigil_access', CASE WHEN TG_TABLE_NAME = 'users' THEN 'user:' ELSE 'token:' END || row_id::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER users_access_changed
  AFTER UPDATE OF role, disabled_at, password_hash, username, email OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION announce_access_change();
--> statement-breakpoint
CREATE TRIGGER api_tokens_access_changed
  AFTER UPDATE OF kind, token_hash, user_id, scopes, expires_at, revoked_at OR DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION announce_access_change();
