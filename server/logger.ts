// The process logger: JSON lines on stdout (pino), level from LOG_LEVEL.
import { pino } from 'pino';

const base = { level: process.env.LOG_LEVEL || 'info', base: { service: 'vigil' } };

export const logger = pino({
  ...base,
  // Credentials never reach a log line, whatever object is logged.
  redact: { paths: ['req.headers.authorization', '*.token', '*.password', 'authorization'], censor: '******' },
});

/**
 * The audit trail's own lines (one per stored event, server/services/eventLog.ts). Their
 * shape is fixed and masked before logging, so they skip the wildcard redaction above,
 * which cost more CPU than everything else in ingest.
 */
export const auditLineDestination = pino.destination({ dest: 1, sync: true });
export const auditLineLogger = pino(base, auditLineDestination);
/** The fields every line carries (pino's `base`). */
export const LINE_BASE = base.base;
