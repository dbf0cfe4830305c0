// The link a client subscribes through: SSE or a WebSocket. Apart from shared/client.ts
// so that a client that only subscribes (the extension's worker, createVigilLiveClient)
// does not load zod, which recordLater's event check needs.
import { createWSClient, httpSubscriptionLink, retryLink, wsLink, type TRPCLink } from '@trpc/client';
import { EventSource as FetchEventSource } from 'eventsource';
import type { AppRouter } from '../server/routers/_app.js';
import { tokenOf, type VigilClientOptions } from './callClient.js';
import { KEEP_ALIVE } from './limits.js';

/**
 * The link subscriptions take: SSE (httpSubscriptionLink; the token in an Authorization
 * header, set through the EventSource's fetch) or a WebSocket (the token in the first
 * message, connectionParams), opened with the client and reopened after a drop.
 * Tracked events resume after the last id received when the stream reconnects.
 */
export function subscriptionLink(base: string, options: VigilClientOptions): { link: TRPCLink<AppRouter> | TRPCLink<AppRouter>[]; close(): void } {
  const live = options.live ?? {};
  if (live.transport === 'ws') {
    const backoffMs = (attempt: number) => Math.min(500 * 2 ** attempt, 15_000);
    let closed = false;
    const ws = createWSClient({
      url: `${base.replace(/^http/, 'ws')}/trpc`,
      ...(live.WebSocket ? { WebSocket: live.WebSocket as typeof WebSocket } : {}),
      connectionParams: async () => {
        const token = await tokenOf(options.token);
        return token ? { token } : {};
      },
      retryDelayMs: backoffMs,
      keepAlive: { enabled: true, intervalMs: KEEP_ALIVE.pingMs, pongTimeoutMs: KEEP_ALIVE.pongWaitMs },
      ...(live.onOpen ? { onOpen: live.onOpen } : {}),
      ...(live.onClose ? { onClose: live.onClose } : {}),
    });
    // A subscription the WebSocket client sends in the instant its reopened socket closes
    // again fails with "Active connection is not open" instead of waiting for the next
    // socket: an error no server sent (it has no `data`), so it is subscribed again (after
    // the last event received) with the same backoff. Server answers (UNAUTHORIZED,
    // BAD_REQUEST, ...) still reach the caller.
    const resubscribe = retryLink<AppRouter>({ retry: ({ op, error }) => !closed && op.type === 'subscription' && !error.data, retryDelayMs: backoffMs });
    return {
      link: [resubscribe, wsLink<AppRouter>({ client: ws })],
      close: () => {
        closed = true;
        ws.close();
      },
    };
  }
  const baseFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const link = httpSubscriptionLink<AppRouter, any>({
    url: `${base}/trpc`,
    EventSource: (live.EventSource ?? FetchEventSource) as any,
    eventSourceOptions: async () => {
      const token = await tokenOf(options.token);
      return {
        fetch: (input: RequestInfo | URL, init?: RequestInit) =>
          baseFetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(token ? { authorization: `Bearer ${token}` } : {}) } }),
      };
    },
  });
  return { link, close: () => {} };
}
