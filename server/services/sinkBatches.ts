// How a sink reads a batch: for the `vigil` and `ocsf` formats on a transport that frames
// them (webhook NDJSON, TCP/TLS syslog), as the wire text itself, each event's built by
// Postgres, so the server neither decodes rows nor encodes events; otherwise as events,
// formatted by the transport. Both give the same bytes (test/integration/sinkBatchText.test.ts).
import type { AuditEvent } from '../../shared/event.js';
import type { Database } from '../db/database.js';
import { selectEventsAfterSeq, selectEventsBySeq, selectSinkBatchText, WRITTEN_IN_JS, type EventQuery, type SinkBatchFraming } from '../db/auditEventsStore.js';
import { toAuditEvent } from './events.js';
import { jsonPayload } from './sinkFormats.js';
import { syslogMessage } from './sinkTransports.js';

export interface SinkBatch {
  /** How many events were asked for: a batch this size is full (more may wait). */
  limit: number;
  count: number;
  /** The last event's seq (0 when empty). */
  lastSeq: number;
  /** When the oldest event was recorded (epoch ms; null when empty). */
  oldestRecordedAtMs: number | null;
  /** The batch as the transport's framing writes it, or its events. */
  payload: { text: string } | { events: AuditEvent[] };
}

/** One event framed in JavaScript, exactly as Postgres frames the others. */
function framedInJs(framing: SinkBatchFraming, event: AuditEvent): string {
  const format = framing.event.format;
  if (framing.kind === 'ndjson') return `${JSON.stringify(jsonPayload(format, event))}\n`;
  const message = syslogMessage(event, format);
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

/** The matching events above `afterSeq` (at most `throughSeq`), up to `limit`, in seq order. */
export async function readSinkBatch(
  db: Database,
  query: EventQuery,
  range: { afterSeq: number; throughSeq: number; limit: number },
  framing: SinkBatchFraming | undefined,
): Promise<SinkBatch> {
  const { afterSeq, throughSeq, limit } = range;
  if (!framing) {
    const rows = await selectEventsAfterSeq(db, query, afterSeq, throughSeq, limit);
    return {
      limit,
      count: rows.length,
      lastSeq: rows.at(-1)?.seq ?? 0,
      oldestRecordedAtMs: rows.length ? rows[0]!.recordedAt.getTime() : null,
      payload: { events: rows.map(toAuditEvent) },
    };
  }
  const batch = await selectSinkBatchText(db, query, afterSeq, throughSeq, limit, framing);
  let text = batch.body;
  if (batch.writtenInJs.length > 0) {
    const rows = await selectEventsBySeq(db, batch.writtenInJs);
    const pieces = text.split(WRITTEN_IN_JS);
    if (rows.length !== batch.writtenInJs.length || pieces.length !== rows.length + 1) {
      throw new Error(`a sink batch after seq ${afterSeq} could not be assembled (${rows.length} of ${batch.writtenInJs.length} events, ${pieces.length - 1} places)`);
    }
    text = pieces[0]!;
    for (let i = 0; i < rows.length; i++) text += framedInJs(framing, toAuditEvent(rows[i]!)) + pieces[i + 1]!;
  }
  return { limit, count: batch.count, lastSeq: batch.lastSeq, oldestRecordedAtMs: batch.oldestRecordedAtMs, payload: { text } };
}
