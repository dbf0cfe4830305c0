// Limits the server enforces and its clients respect, so a client never trips them.

/** Calls one HTTP batch or one WebSocket frame may carry (larger: BAD_REQUEST). */
export const CALLS_PER_BATCH = 50;
