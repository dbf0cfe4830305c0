// The typed client set up for subscriptions, for code written before createVigilClient
// subscribed itself:
//   const live = createVigilLiveClient({ url, token, transport: 'ws', WebSocket });
//   live.client.events.live.subscribe({ q: 'action:cordon,delete' }, { onData: ({ id, data }) => ... });
// Same as createVigilClient({ url, token, live: { transport, ... } }) (shared/client.ts),
// without recordLater: it does not load zod, so the extension's worker runs no code that
// could compile at run time.
import { buildClient, type LiveOptions, type VigilClientOptions } from './callClient.js';
import { subscriptionLink } from './subscriptionLink.js';

export interface VigilLiveClientOptions extends Omit<LiveOptions, 'transport'> {
  url: string;
  token?: VigilClientOptions['token'];
  /** 'ws' (the extension's worker: WebSocket traffic keeps it alive) or 'sse'. */
  transport: 'ws' | 'sse';
}

export function createVigilLiveClient(options: VigilLiveClientOptions) {
  const { url, token, ...live } = options;
  // Queries here are not retried (an app that wants retries uses createVigilClient).
  const client = buildClient({ url, ...(token !== undefined ? { token } : {}), retry: { attempts: 0 }, live }, subscriptionLink, () =>
    'this client does not buffer events (createVigilLiveClient); use createVigilClient',
  );
  return { client, close: () => void client.close().catch(() => {}) };
}

export type VigilLiveClient = ReturnType<typeof createVigilLiveClient>;
