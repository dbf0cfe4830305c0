// The process logger: JSON lines on stdout (pino), level from LOG_LEVEL.
import { pino } from 'pino';
import { logLevelFromEnv } from './config.js';

const base = { level: logLevelFromEnv() ?? 'info', base: { service: 'vigil' } };

/**
 * Fields of database errors that carry a query's parameter values (which hold whole events,
 * secrets in metadata included) or pieces of them: the driver's parameter lists, and
 * Postgres's detail/where lines, which quote the input they choke on.
 */
const PARAMETER_FIELDS = new Set(['params', 'parameters', 'args', 'types', 'queryOptions', 'detail', 'where', 'internalQuery']);
/** Drizzle's failed-query message appends the parameters: "Failed query: <sql>\nparams: <values>". */
const PARAMS_TEXT = /\nparams: [\s\S]*?(?=\n\s+at |$)/g;

/** An error and its causes as they may be logged: messages, codes and stacks, never parameter values. */
function withoutParameters(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 5) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error & Record<string, unknown>;
  for (const key of Object.keys(error)) {
    if (!PARAMETER_FIELDS.has(key) && key !== 'cause') copy[key] = (error as unknown as Record<string, unknown>)[key];
  }
  Object.defineProperty(copy, 'message', { value: error.message.replace(PARAMS_TEXT, ''), enumerable: false });
  Object.defineProperty(copy, 'stack', { value: error.stack?.replace(PARAMS_TEXT, ''), enumerable: false });
  if (error.cause !== undefined) Object.defineProperty(copy, 'cause', { value: withoutParameters(error.cause, depth + 1), enumerable: false });
  return copy;
}

/** Receives log lines (pino's destination interface). */
export interface LogSink {
  write(chunk: string): void;
}

let redirected: LogSink | null = null;

/**
 * Sends every log line of this process to `sink` instead of stdout (null: stdout again).
 * Tests keep their servers' lines this way and print them only when a test fails
 * (test/support/logCapture.ts).
 */
export function redirectLogs(sink: LogSink | null): void {
  redirected = sink;
}

/** A destination that writes to `stdout` unless the logs are redirected. */
function switchable(stdout: LogSink): LogSink {
  return { write: (chunk) => (redirected ?? stdout).write(chunk) };
}

export const logger = pino(
  {
    ...base,
    // Credentials never reach a log line, whatever object is logged.
    redact: { paths: ['req.headers.authorization', '*.token', '*.password', 'authorization'], censor: '******' },
    serializers: { err: (error: unknown) => pino.stdSerializers.err(withoutParameters(error) as Error) },
  },
  switchable(pino.destination({ dest: 1, sync: false })),
);

/**
 * The audit trail's own lines (one per stored event, server/services/eventLog.ts). Their
 * shape is fixed and masked before logging, so they skip the wildcard redaction above,
 * which cost more CPU than everything else in ingest.
 */
export const auditLineDestination = switchable(pino.destination({ dest: 1, sync: true }));
export const auditLineLogger = pino(base, auditLineDestination);
/** The fields every line carries (pino's `base`). */
export const LINE_BASE = base.base;
