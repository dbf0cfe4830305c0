// Admin settings: read them (secrets masked), change several at once, and their history.
// A change and its audit events are written in ONE transaction: the new values and one
// `write` event per changed field, or nothing at all. Secret values are encrypted before
// they reach the database and never leave this module in clear (diffs say `secret: true`).
import { randomUUID } from 'node:crypto';
import type { DiffEntry, ParsedEventInput } from '../../shared/event.js';
import {
  SECRET_MASK,
  SETTINGS,
  SETTING_KEYS,
  settingDiffEntry,
  type SettingDefinition,
  type SettingKey,
  type SettingTarget,
  type SettingType,
  type DisplayRule,
  type settingsChangesSchema,
} from '../../shared/settingsCatalog.js';
import type { z } from 'zod';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import type { SettingRow } from '../db/schema.js';
import { deleteSettingRow, lockSettings, selectSettingRows, upsertSettingRow } from '../db/settingsStore.js';
import { logger } from '../logger.js';
import { actorOf, requestFields, type Caller, type RequestInfo } from './caller.js';
import { auditedTransaction, listEvents, recordEvents, type Clock, type EventPage } from './events.js';
import type { SecretsKey } from './secretsKey.js';

/** What a settings change needs from the request's context. */
export interface SettingsContext {
  db: Database;
  /** The process's event writer (built in server/app.ts). */
  events: EventWriter;
  caller: Caller;
  request: RequestInfo;
  clock: Clock;
  secretsKey: SecretsKey;
}

/** One setting as settings.get answers it: a secret's value is `******` when set, else empty. */
export interface SettingView {
  key: SettingKey;
  label: string;
  target: SettingTarget;
  field: string;
  type: SettingType;
  display: DisplayRule;
  value: string | boolean;
  default: string | boolean;
  /** True while the setting holds its default (a secret: while it is not set). */
  isDefault: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** Encryption context of a secret setting: its ciphertext cannot be moved to another setting. */
const secretContext = (key: SettingKey) => `vigil-setting:${key}`;

function storedValue(def: SettingDefinition, row: SettingRow | undefined): string | boolean {
  return row?.value ?? def.default;
}

export async function getSettings(db: Database): Promise<SettingView[]> {
  const rows = new Map((await selectSettingRows(db)).map((row) => [row.key, row]));
  return SETTING_KEYS.map((key) => {
    const def: SettingDefinition = SETTINGS[key];
    const row = rows.get(key);
    const secret = def.display === 'secret';
    const value = secret ? (row ? SECRET_MASK : '') : storedValue(def, row);
    return {
      key,
      label: def.label,
      target: def.target,
      field: def.field,
      type: def.type,
      display: def.display,
      value,
      default: def.default,
      isDefault: secret ? !row : value === def.default,
      updatedAt: row?.updatedAt.toISOString() ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  });
}

export type SettingsUpdate = z.output<typeof settingsChangesSchema>;

export interface SettingsUpdateResult {
  /** Links the events of this change (their `request_id`); null when nothing changed. */
  requestId: string | null;
  changed: { key: SettingKey; target: SettingTarget; field: string; diff: DiffEntry; eventId: string }[];
}

/** A secret's current value, or null when it cannot be decrypted (then any new value counts as a change). */
function currentSecret(key: SettingKey, row: SettingRow | undefined, secretsKey: SecretsKey): string | null {
  if (!row?.secretCiphertext) return '';
  try {
    return secretsKey.decrypt(row.secretCiphertext, secretContext(key));
  } catch (error) {
    logger.warn({ setting: key, reason: (error as Error).message }, 'a stored secret setting cannot be decrypted; it will be replaced');
    return null;
  }
}

/**
 * Applies `changes` (already validated against the catalog): stores every value that
 * differs and records one `write` event per changed field, all in one transaction.
 * Unchanged values make no event. For a secret, `******` (what settings.get shows) means
 * "keep it" and the empty string clears it.
 */
export async function updateSettings(ctx: SettingsContext, changes: SettingsUpdate): Promise<SettingsUpdateResult> {
  const wanted = (Object.entries(changes) as [SettingKey, string | boolean | undefined][]).filter(
    (entry): entry is [SettingKey, string | boolean] => entry[1] !== undefined,
  );
  if (wanted.length === 0) return { requestId: null, changed: [] };
  // One id ties the change's events together: the HTTP request's, else a new one.
  const requestId = ctx.request.requestId ?? randomUUID();
  const actor = actorOf(ctx.caller);
  const updatedBy = actor.username;

  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    await lockSettings(tx);
    const rows = new Map((await selectSettingRows(tx, wanted.map(([key]) => key))).map((row) => [row.key, row]));
    const now = ctx.clock();
    const events: ParsedEventInput[] = [];
    const changed: Omit<SettingsUpdateResult['changed'][number], 'eventId'>[] = [];

    for (const [key, value] of wanted) {
      const def: SettingDefinition = SETTINGS[key];
      const row = rows.get(key);
      let diff: DiffEntry | null;
      if (def.display === 'secret') {
        if (value === SECRET_MASK || typeof value !== 'string') continue;
        const old = currentSecret(key, row, ctx.secretsKey);
        diff = old === null ? { secret: true } : settingDiffEntry(def, old, value);
        if (!diff) continue;
        if (value === '') await deleteSettingRow(tx, key);
        else {
          const secretCiphertext = ctx.secretsKey.encrypt(value, secretContext(key));
          await upsertSettingRow(tx, { key, value: null, secretCiphertext, updatedAt: now, updatedBy });
        }
      } else {
        diff = settingDiffEntry(def, storedValue(def, row), value);
        if (!diff) continue;
        await upsertSettingRow(tx, { key, value, secretCiphertext: null, updatedAt: now, updatedBy });
      }
      changed.push({ key, target: def.target, field: def.field, diff });
      events.push({
        action: 'write',
        resourceType: 'settings',
        resourceTarget: def.target,
        resourceId: key,
        actor,
        ...requestFields(ctx.request),
        requestId,
        diff: { [def.field]: diff },
        metadata: { setting: key, label: def.label },
      });
    }

    if (events.length === 0) return { requestId: null, changed: [] };
    const stored = await recordEvents(audited, events, ctx.clock);
    return { requestId, changed: changed.map((c, i) => ({ ...c, eventId: stored[i]!.id })) };
  });
}

/**
 * A secret setting's value in clear, for Vigil's own use (never for an API answer): empty
 * when it is not set.
 */
export async function revealSecretSetting(db: Database, secretsKey: SecretsKey, key: SettingKey): Promise<string> {
  if (SETTINGS[key].display !== 'secret') throw new Error(`${key} is not a secret setting`);
  const [row] = await selectSettingRows(db, [key]);
  return row?.secretCiphertext ? secretsKey.decrypt(row.secretCiphertext, secretContext(key)) : '';
}

export interface SettingsHistoryInput {
  key?: SettingKey | undefined;
  target?: SettingTarget | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** The audit trail of one setting (by its key, the events' resource_id) or of a target, newest first. */
export function settingsHistory(db: Database, input: SettingsHistoryInput, me: string | undefined, clock: Clock): Promise<EventPage> {
  const which = input.key !== undefined ? `resource_id:"${input.key}"` : `resource_target:"${input.target ?? ''}"`;
  return listEvents(db, { q: `resource_type:settings ${which}`, cursor: input.cursor, limit: input.limit }, me, clock);
}
