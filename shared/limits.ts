// Limits the server enforces and its clients respect, so a client never trips them.

/** Calls one HTTP batch or one WebSocket frame may carry (larger: BAD_REQUEST). */
export const CALLS_PER_BATCH = 50;

/** Limits on what one event may carry; generous for real events, firm against abuse. */
export const EVENT_LIMITS = {
  textField: 512,
  userAgent: 1024,
  diffFields: 200,
  /** Serialized JSON size of `metadata`. */
  metadataBytes: 8 * 1024,
  /** Serialized JSON size of `diff`. */
  diffBytes: 64 * 1024,
  batchSize: 1000,
  /** Nesting depth of `metadata` and diff values. */
  jsonDepth: 32,
} as const;
