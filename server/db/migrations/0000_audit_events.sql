CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" uuid NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"recorded_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"resource_type" text NOT NULL,
	"resource_id" text,
	"resource_target" text NOT NULL,
	"actor_id" text,
	"actor_username" text,
	"actor_email" text,
	"ip" "inet",
	"user_agent" text,
	"status_code" integer,
	"request_id" text,
	"diff" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "audit_events_id_key" UNIQUE("id")
);
--> statement-breakpoint
CREATE INDEX "audit_events_time_idx" ON "audit_events" USING btree ("time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_action_time_idx" ON "audit_events" USING btree ("action","time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_resource_type_time_idx" ON "audit_events" USING btree ("resource_type","time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_resource_target_time_idx" ON "audit_events" USING btree (lower("resource_target"),"time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_resource_id_time_idx" ON "audit_events" USING btree (lower("resource_id"),"time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_username_time_idx" ON "audit_events" USING btree (lower("actor_username"),"time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_email_time_idx" ON "audit_events" USING btree (lower("actor_email"),"time","seq");--> statement-breakpoint
CREATE INDEX "audit_events_request_id_time_idx" ON "audit_events" USING btree (lower("request_id"),"time","seq");