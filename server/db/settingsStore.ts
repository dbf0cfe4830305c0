// The one module that reads and writes the settings table.
import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { settings, type SettingRow } from './schema.js';

/** Settings changes take this lock for their transaction: one change at a time, so each diff's old value is the true one. */
const SETTINGS_LOCK_KEY = 7_162_021_004;

export async function lockSettings(tx: Database): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${SETTINGS_LOCK_KEY})`);
}

/** The stored rows (all, or those of `keys`); `value` is the parsed JSON value. */
export async function selectSettingRows(db: Database, keys?: readonly string[]): Promise<SettingRow[]> {
  if (keys !== undefined && keys.length === 0) return [];
  // The JSON comes back as text and is parsed here: a driver's own jsonb parsing would
  // turn a stored string such as "true" into a boolean on the way.
  const query = db
    .select({
      key: settings.key,
      valueJson: sql<string | null>`${settings.value}::text`,
      secretCiphertext: settings.secretCiphertext,
      updatedAt: settings.updatedAt,
      updatedBy: settings.updatedBy,
    })
    .from(settings);
  const rows = await (keys === undefined ? query : query.where(inArray(settings.key, [...keys])));
  return rows.map(({ valueJson, ...row }) => ({
    ...row,
    value: valueJson === null ? null : (JSON.parse(valueJson) as string | boolean),
  }));
}

export interface SettingWrite {
  key: string;
  /** Exactly one of value and secretCiphertext. */
  value: string | boolean | null;
  secretCiphertext: string | null;
  updatedAt: Date;
  updatedBy: string | null;
}

export async function upsertSettingRow(db: Database, row: SettingWrite): Promise<void> {
  // drizzle would store a bare JSON string as text; pass the JSON explicitly.
  const value = row.value === null ? null : sql`${JSON.stringify(row.value)}::jsonb`;
  await db
    .insert(settings)
    .values({ ...row, value })
    .onConflictDoUpdate({
      target: settings.key,
      set: { value, secretCiphertext: row.secretCiphertext, updatedAt: row.updatedAt, updatedBy: row.updatedBy },
    });
}

export async function deleteSettingRow(db: Database, key: string): Promise<void> {
  await db.delete(settings).where(eq(settings.key, key));
}
