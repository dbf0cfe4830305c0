// Every stored audit event also goes to the process log as one JSON line, the way Coder
// exports its audit log to its logs ("message.fields.audit_log.action"):
//   {"level":30,"time":...,"service":"vigil","fields":{"audit_log":{"action":"delete",
//    "resource_type":"workspace","seq":42,"id":"...",...}},"msg":"audit_log"}
// so log shippers and SIEMs get the trail without another API. Only events actually
// stored are logged (an idempotent replay is not), and counted in the metrics.
import { columnsOf, type InsertedEvent, type PreparedRow } from '../db/eventWriter.js';
import { auditLineDestination, auditLineLogger, LINE_BASE } from '../logger.js';
import { eventsDuplicate, eventsRecorded } from '../metrics.js';

// Secrets never reach the database (diffs keep only `secret: true`); metadata is free
// JSON, so credential-looking keys an app put there are censored in the log line too.
const CREDENTIAL_KEYS = ['password', 'token', 'secret', 'authorization', 'apiKey', 'api_key', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'privateKey', 'private_key', 'clientSecret', 'client_secret', 'cookie'];

const CREDENTIAL_KEY_SET = new Set(CREDENTIAL_KEYS.map((k) => k.toLowerCase()));

/** Metadata with credential-looking top-level keys censored (a copy only when needed). */
function maskedMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  let masked: Record<string, unknown> | null = null;
  for (const key of Object.keys(metadata)) {
    if (CREDENTIAL_KEY_SET.has(key.toLowerCase())) (masked ??= { ...metadata })[key] = '******';
  }
  return masked ?? metadata;
}

/**
 * The log line's `fields.audit_log` as JSON: the event's columns by their database names,
 * and its seq. It reuses the row's JSON made for the insert unless metadata needs masking.
 */
function auditLogJson({ row, json }: PreparedRow, seq: number): string {
  const masked = maskedMetadata(row.metadata);
  return masked === row.metadata ? `{"seq":${seq},${json.slice(1)}` : JSON.stringify({ ...columnsOf(row), seq, metadata: masked });
}

export const auditLogger = auditLineLogger;

const INFO = auditLogger.levels.values.info!;
const SERVICE = JSON.stringify(LINE_BASE.service);

/** Called by recordEvents once the insert returned: logs and counts the stored events. */
export function observeRecorded(rows: PreparedRow[], stored: InsertedEvent[]): void {
  const logging = auditLogger.isLevelEnabled('info');
  const recordedByAction = new Map<string, number>();
  // The lines of a batch are made here and written at once: pino's per-call work (its
  // serialisers, one write each) was a fifth of the server's CPU in ingest. The shape is
  // the one pino writes: {"level","time","service","fields":{"audit_log":{...}},"msg"}.
  let lines = '';
  const time = Date.now();
  stored.forEach((result, i) => {
    if (result.duplicate) {
      eventsDuplicate.inc();
      return;
    }
    const prepared = rows[i]!;
    recordedByAction.set(prepared.row.action, (recordedByAction.get(prepared.row.action) ?? 0) + 1);
    if (logging) {
      lines += `{"level":${INFO},"time":${time},"service":${SERVICE},"fields":{"audit_log":${auditLogJson(prepared, result.seq)}},"msg":"audit_log"}\n`;
    }
  });
  for (const [action, n] of recordedByAction) eventsRecorded.inc({ action }, n);
  if (lines) auditLineDestination.write(lines);
}
