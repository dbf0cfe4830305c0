// The typed client internal apps use (the extension's pages use its core, callClient.ts):
//   const vigil = createVigilClient({ url: 'http://127.0.0.1:8080', token });
//   await vigil.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: 'dev-1' });
//   vigil.recordLater({ action: 'connect', resourceType: 'workspace', resourceTarget: 'alice/dev' });
//   await vigil.close();   // flushes what recordLater buffered
//
// Recording is safe to retry: the client gives every event it sends an `id` (a UUID, the
// server's idempotency key) and a `time` when it has none, so a retried call is the same
// event and is stored once. Calls that only record events (and, with retryQueries,
// queries) are retried on network errors and 503 answers, with exponential backoff and
// jitter; any other call fails at once.
//
// It also subscribes: vigil.events.live.subscribe({ q }, { onData }) streams new events
// over SSE (the default) or, with `live: { transport: 'ws' }`, over a WebSocket. The token goes in a header (SSE) or the first message
// (WebSocket), never in a URL.
import type { AppRouter } from '../server/routers/_app.js';
import { eventInputSchema, type EventInput } from './event.js';
import { buildClient, type VigilClientOptions } from './callClient.js';
import { subscriptionLink } from './subscriptionLink.js';

export { createVigilCallClient, type BufferOptions, type LiveOptions, type RetryOptions, type VigilClient, type VigilClientOptions } from './callClient.js';
export type { AppRouter };

/** Why an event cannot be recorded, naming its fields; null when it can. */
function invalidEvent(event: EventInput): string | null {
  const parsed = eventInputSchema.safeParse(event);
  if (parsed.success) return null;
  return `invalid event: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ')}`;
}

/** A client that queries, records and subscribes (SSE by default, WebSocket as an option). */
export function createVigilClient(options: VigilClientOptions) {
  return buildClient(options, subscriptionLink, invalidEvent);
}
