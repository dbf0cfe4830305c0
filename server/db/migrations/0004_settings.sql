CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb,
	"secret_ciphertext" text,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"updated_by" text,
	CONSTRAINT "settings_one_value" CHECK (("settings"."value" is null) <> ("settings"."secret_ciphertext" is null))
);
