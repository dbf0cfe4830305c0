-- Sinks stream the audit trail to a SIEM. The events table is the buffer: each sink keeps
-- a durable cursor (the last seq it delivered or skipped), and one process at a time
-- delivers it, the one holding its lease (lease_owner until lease_until).
CREATE TABLE "sinks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"q" text DEFAULT '' NOT NULL,
	"secret_ciphertext" text,
	"batch_size" integer NOT NULL,
	"ca_file" text,
	"cursor_seq" bigint NOT NULL,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"last_delivered_at" timestamp (3) with time zone,
	"last_error" text,
	"last_error_at" timestamp (3) with time zone,
	"lease_owner" text,
	"lease_until" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "sinks_name_key" ON "sinks" USING btree (lower("name"));
