// A typed client that can also subscribe to live events:
//   const live = createVigilLiveClient({ url, token, transport: 'ws' });
//   live.client.events.live.subscribe({ q: 'action:cordon,delete' }, { onData: ({ id, data }) => ... });
// Over WebSocket the token travels in the first message (connectionParams), over SSE in
// the Authorization header: never in a URL. Each event is tracked by its seq, so a
// reconnect resumes after the last one received.
import { createTRPCClient, createWSClient, httpBatchLink, httpSubscriptionLink, splitLink, wsLink } from '@trpc/client';
import type { AppRouter } from '../server/routers/_app.js';
import { CALLS_PER_BATCH } from './limits.js';

type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface VigilLiveClientOptions {
  url: string;
  token?: TokenSource;
  /** 'ws' (the extension's worker: WebSocket traffic keeps it alive) or 'sse'. */
  transport: 'ws' | 'sse';
  /** A WebSocket class where there is no global one (Node 20: the `ws` package). */
  WebSocket?: unknown;
  /** An EventSource class taking `{ fetch }` (e.g. the `eventsource` package) for SSE. */
  EventSource?: unknown;
  /** Called when the WebSocket opens or closes (the extension shows it). */
  onOpen?: () => void;
  onClose?: (cause?: { code?: number }) => void;
}

async function tokenOf(source: TokenSource | undefined): Promise<string | undefined> {
  return typeof source === 'function' ? source() : source;
}

export function createVigilLiveClient(options: VigilLiveClientOptions) {
  const base = options.url.replace(/\/+$/, '');
  const ws =
    options.transport === 'ws'
      ? createWSClient({
          url: `${base.replace(/^http/, 'ws')}/trpc`,
          ...(options.WebSocket ? { WebSocket: options.WebSocket as typeof WebSocket } : {}),
          connectionParams: async () => {
            const token = await tokenOf(options.token);
            return token ? { token } : {};
          },
          retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 15_000),
          // Application-level pings every 20 s: WebSocket messages keep an MV3 service worker alive.
          keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 10_000 },
          ...(options.onOpen ? { onOpen: options.onOpen } : {}),
          ...(options.onClose ? { onClose: options.onClose } : {}),
        })
      : null;
  const subscriptionLink = ws
    ? wsLink<AppRouter>({ client: ws })
    : httpSubscriptionLink<AppRouter, any>({
        url: `${base}/trpc`,
        ...(options.EventSource ? { EventSource: options.EventSource as any } : {}),
        eventSourceOptions: async () => {
          const token = await tokenOf(options.token);
          return {
            fetch: (input: RequestInfo | URL, init?: RequestInit) =>
              fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(token ? { authorization: `Bearer ${token}` } : {}) } }),
          };
        },
      });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: subscriptionLink,
        false: httpBatchLink({
          url: `${base}/trpc`,
          maxItems: CALLS_PER_BATCH,
          async headers() {
            const token = await tokenOf(options.token);
            return token ? { authorization: `Bearer ${token}` } : {};
          },
        }),
      }),
    ],
  });
  return { client, close: () => ws?.close() };
}

export type VigilLiveClient = ReturnType<typeof createVigilLiveClient>;
