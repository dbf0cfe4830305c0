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

/**
 * Live connections' keep-alive, the same on server and clients: after `pingMs` of quiet a
 * ping goes out (a WebSocket ping frame, an SSE ping comment), often enough to keep an MV3
 * service worker awake (it sleeps after 30 s idle); a WebSocket whose pong has not come
 * within `pongWaitMs` is taken for dead.
 */
export const KEEP_ALIVE = { pingMs: 20_000, pongWaitMs: 10_000 } as const;
