// Sinks, as site managers manage them: create, change, delete (each with its audit event,
// in one transaction with the change; the secret only as `{ secret: true }`), list with
// their delivery state and lag, and send a test message. VIGIL_SINKS is applied here too.
// Delivery itself is server/services/sinkDelivery.ts.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { DiffEntry, ParsedEventInput } from '../../shared/event.js';
import { SECRET_MASK } from '../../shared/settingsCatalog.js';
import type { SinkFormat, SinkKind, SinkState, SinkView } from '../../shared/sinkCatalog.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import type { SinkRow } from '../db/schema.js';
import {
  deleteSinkRow,
  insertSink,
  isDuplicateSinkName,
  selectSinkById,
  selectSinkByName,
  selectSinkLags,
  selectSinks,
  updateSinkConfig,
  type SinkConfigChange,
} from '../db/sinksStore.js';
import { actorOf, requestFields, type Caller, type RequestInfo } from './caller.js';
import { auditedTransaction, recordEvents, type Clock } from './events.js';
import { checkSinkConfig, configOf, type SinkConfig, type SinkCreateInput, type SinkUpdateInput } from './sinkConfig.js';
import { encryptSinkSecret, revealSinkSecret } from './sinkSecrets.js';
import { createTransport } from './sinkTransports.js';
import type { SecretsKey } from './secretsKey.js';

/** What a sink change needs from the request's context; no caller: the system (VIGIL_SINKS). */
export interface SinksContext {
  db: Database;
  /** The process's event writer (built in server/app.ts). */
  events: EventWriter;
  caller: Caller | null;
  request: RequestInfo;
  clock: Clock;
  secretsKey: SecretsKey;
}

/** The fields of a sink an audit diff shows, in order; `secret` only ever as `{ secret: true }`. */
const AUDITED_FIELDS = ['name', 'kind', 'url', 'format', 'q', 'batchSize', 'caFile'] as const;

function sinkEvent(ctx: SinksContext, action: 'create' | 'write' | 'delete', id: string, name: string, diff: Record<string, DiffEntry>): ParsedEventInput {
  return {
    action,
    resourceType: 'sink',
    resourceTarget: name,
    resourceId: id,
    ...(ctx.caller ? { actor: actorOf(ctx.caller) } : {}),
    ...requestFields(ctx.request),
    diff,
  };
}

function configOfRow(row: SinkRow, secretsKey: SecretsKey): SinkConfig {
  return {
    name: row.name,
    kind: row.kind as SinkKind,
    url: row.url,
    format: row.format as SinkFormat,
    q: row.q,
    secret: revealSinkSecret(secretsKey, row),
    batchSize: row.batchSize,
    caFile: row.caFile,
  };
}

function notFound(id: string): never {
  throw new TRPCError({ code: 'NOT_FOUND', message: `id: no sink ${id}` });
}

function duplicateName(name: string): never {
  throw new TRPCError({ code: 'CONFLICT', message: `name: a sink named ${JSON.stringify(name)} exists` });
}

export async function createSink(ctx: SinksContext, input: SinkCreateInput): Promise<{ id: string }> {
  const config = configOf(input);
  checkSinkConfig(config);
  const id = randomUUID();
  const diff: Record<string, DiffEntry> = {};
  for (const field of AUDITED_FIELDS) if (config[field] !== null && config[field] !== '') diff[field] = { new: config[field] };
  if (config.secret !== null) diff.secret = { secret: true };
  try {
    await auditedTransaction(ctx.events, async (audited) => {
      const tx = audited.db;
      if (await selectSinkByName(tx, config.name)) duplicateName(config.name);
      // The sink's first event is its own creation: delivery starts there, not with history.
      const [stored] = await recordEvents(audited, [sinkEvent(ctx, 'create', id, config.name, diff)], ctx.clock);
      const now = ctx.clock();
      await insertSink(tx, {
        id,
        name: config.name,
        kind: config.kind,
        url: config.url,
        format: config.format,
        q: config.q,
        secretCiphertext: encryptSinkSecret(ctx.secretsKey, id, config.secret),
        batchSize: config.batchSize,
        caFile: config.caFile,
        cursorSeq: stored!.seq - 1,
        createdAt: now,
        updatedAt: now,
      });
    });
  } catch (error) {
    if (isDuplicateSinkName(error)) duplicateName(config.name);
    throw error;
  }
  return { id };
}

/** The configuration after `input`: `secret` `******` keeps the stored one, `''` removes it. */
function mergedConfig(current: SinkConfig, input: Omit<SinkUpdateInput, 'id'>): SinkConfig {
  const secret = input.secret === undefined || input.secret === SECRET_MASK ? current.secret : input.secret === '' ? null : input.secret;
  return {
    name: input.name ?? current.name,
    kind: input.kind ?? current.kind,
    url: input.url ?? current.url,
    format: input.format ?? current.format,
    q: input.q === undefined ? current.q : input.q.trim(),
    secret,
    batchSize: input.batchSize ?? current.batchSize,
    caFile: input.caFile === undefined ? current.caFile : input.caFile,
  };
}

/** Changes a sink; one `write` event lists the changed fields. Nothing changed: no event. */
export async function updateSink(ctx: SinksContext, input: SinkUpdateInput): Promise<{ id: string; changed: string[] }> {
  const { id, ...changes } = input;
  try {
    return await auditedTransaction(ctx.events, async (audited) => {
      const tx = audited.db;
      const row = await selectSinkById(tx, id, true);
      if (!row) notFound(id);
      let current: SinkConfig;
      try {
        current = configOfRow(row, ctx.secretsKey);
      } catch {
        // A secret under another key: unknown, so any secret given replaces it.
        current = { ...configOfRow({ ...row, secretCiphertext: null }, ctx.secretsKey), secret: null };
      }
      const next = mergedConfig(current, changes);
      checkSinkConfig(next);
      const diff: Record<string, DiffEntry> = {};
      const change: SinkConfigChange = {};
      for (const field of AUDITED_FIELDS) {
        if (next[field] === current[field]) continue;
        diff[field] = { old: current[field], new: next[field] };
        (change as Record<string, unknown>)[field] = next[field];
      }
      if (next.secret !== current.secret || (changes.secret !== undefined && changes.secret !== SECRET_MASK && row.secretCiphertext !== null && current.secret === null)) {
        diff.secret = { secret: true };
        change.secretCiphertext = encryptSinkSecret(ctx.secretsKey, id, next.secret);
      }
      const changed = Object.keys(diff);
      if (changed.length === 0) return { id, changed };
      if (change.name !== undefined) {
        const other = await selectSinkByName(tx, change.name);
        if (other && other.id !== id) duplicateName(change.name);
      }
      await updateSinkConfig(tx, id, change, ctx.clock());
      await recordEvents(audited, [sinkEvent(ctx, 'write', id, next.name, diff)], ctx.clock);
      return { id, changed };
    });
  } catch (error) {
    if (isDuplicateSinkName(error)) duplicateName(input.name ?? '');
    throw error;
  }
}

/** Deletes a sink: its delivery stops, and retention no longer waits for it. */
export async function deleteSink(ctx: SinksContext, id: string): Promise<{ id: string }> {
  return auditedTransaction(ctx.events, async (audited) => {
      const tx = audited.db;
    const row = await selectSinkById(tx, id, true);
    if (!row) notFound(id);
    const diff: Record<string, DiffEntry> = {};
    for (const field of AUDITED_FIELDS) {
      const value = row[field];
      if (value !== null && value !== '') diff[field] = { old: value };
    }
    if (row.secretCiphertext !== null) diff.secret = { secret: true };
    await deleteSinkRow(tx, id);
    await recordEvents(audited, [sinkEvent(ctx, 'delete', id, row.name, diff)], ctx.clock);
    return { id };
  });
}

function stateOf(row: SinkRow, lagEvents: number): SinkState {
  if (row.lastError !== null) return 'failing';
  return lagEvents > 0 ? 'delivering' : 'caught_up';
}

export async function listSinks(db: Database, clock: Clock): Promise<SinkView[]> {
  const [rows, lags] = await Promise.all([selectSinks(db), selectSinkLags(db)]);
  const lagById = new Map(lags.map((l) => [l.id, l]));
  const now = clock().getTime();
  return rows.map((row) => {
    const lag = lagById.get(row.id);
    const events = lag?.events ?? 0;
    const oldest = lag?.oldestWaitingAt ?? null;
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as SinkKind,
      url: row.url,
      format: row.format as SinkFormat,
      q: row.q,
      batchSize: row.batchSize,
      caFile: row.caFile,
      hasSecret: row.secretCiphertext !== null,
      delivered: row.delivered,
      lag: { events, seconds: events > 0 && oldest ? Math.max(0, Math.round((now - oldest.getTime()) / 100) / 10) : 0 },
      state: stateOf(row, events),
      lastError: row.lastError,
      lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
      lastDeliveredAt: row.lastDeliveredAt?.toISOString() ?? null,
    };
  });
}

export interface SinkTestResult {
  ok: boolean;
  /** The receiver's answer (HTTP status and text) or why nothing arrived. */
  message: string;
  status: number | null;
  durationMs: number;
}

/**
 * Sends one test message (an event that is not stored: `connect` on the sink itself,
 * `metadata.test: true`) and reports the answer. The cursor does not move.
 */
export async function testSink(ctx: Pick<SinksContext, 'db' | 'secretsKey' | 'clock'>, id: string, timeoutMs = 10_000): Promise<SinkTestResult> {
  const row = await selectSinkById(ctx.db, id);
  if (!row) notFound(id);
  const config = configOfRow(row, ctx.secretsKey);
  const transport = createTransport(config, { timeoutMs });
  const now = ctx.clock().toISOString();
  const started = Date.now();
  try {
    const answer = await transport.send(
      [
        {
          id: randomUUID(),
          seq: 0,
          time: now,
          recordedAt: now,
          action: 'connect',
          resourceType: 'sink',
          resourceId: row.id,
          resourceTarget: row.name,
          actor: null,
          ip: null,
          userAgent: null,
          statusCode: null,
          requestId: null,
          diff: {},
          metadata: { test: true, message: 'Vigil sink test message' },
          hash: '0'.repeat(64),
        },
      ],
      randomUUID(),
    );
    return { ok: true, status: answer.status ?? null, message: answer.status ? `HTTP ${answer.status}` : 'sent', durationMs: Date.now() - started };
  } catch (error) {
    return { ok: false, status: null, message: (error as Error).message, durationMs: Date.now() - started };
  } finally {
    transport.close();
  }
}

/**
 * VIGIL_SINKS at start-up, idempotently by name: a missing sink is created, one that
 * differs is changed (fields not given keep their defaults), one that matches is left as it is.
 * Sinks created by hand and absent from the list are kept. The system is the actor.
 */
export async function applyConfiguredSinks(
  ctx: Omit<SinksContext, 'caller' | 'request'>,
  inputs: SinkCreateInput[],
): Promise<{ created: string[]; changed: string[] }> {
  const created: string[] = [];
  const changed: string[] = [];
  const system: SinksContext = { ...ctx, caller: null, request: { ip: null, userAgent: null, transport: 'local' } };
  for (const input of inputs) {
    const existing = await selectSinkByName(ctx.db, input.name);
    if (!existing) {
      try {
        await createSink(system, input);
        created.push(input.name);
        continue;
      } catch (error) {
        // Another replica starting at the same time created it first: apply as a change.
        if (!(error instanceof TRPCError && error.code === 'CONFLICT')) throw error;
      }
    }
    const current = existing ?? (await selectSinkByName(ctx.db, input.name));
    if (!current) throw new Error(`VIGIL_SINKS: sink ${input.name} vanished while being applied`);
    const wanted = configOf(input);
    const result = await updateSink(system, { id: current.id, ...wanted, secret: wanted.secret ?? '' });
    if (result.changed.length > 0) changed.push(input.name);
  }
  return { created, changed };
}
