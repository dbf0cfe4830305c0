-- Each event's Merkle leaf hash, SHA-256(0x00 ‖ canonicalEvent), computed by the event
-- writer from the canonical form it already builds for the chain hash, and stored with
-- the row: the tree's integrator then reads 32 bytes per event instead of rebuilding its
-- canonical form. Rows written before (or without the writer) have none; the integrator
-- computes theirs. Not an event field (never listed, exported or hashed), and `vigil
-- verify` recomputes leaves from the rows, never from this column.
ALTER TABLE "audit_events" ADD COLUMN "leaf_hash" bytea;
