// The process logger: JSON lines on stdout (pino), level from LOG_LEVEL.
import { pino } from 'pino';

export const logger = pino({
  level: process.env.LOG_LEVEL || 'info',
  base: { service: 'vigil' },
  // Credentials never reach a log line, whatever object is logged.
  redact: { paths: ['req.headers.authorization', '*.token', '*.password', 'authorization'], censor: '******' },
});
