// The typed client internal apps and the extension share:
//   const vigil = createVigilClient({ url: 'http://127.0.0.1:8080', token });
//   await vigil.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: 'dev-1' });
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { AppRouter } from '../server/routers/_app.js';

export interface VigilClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 (the client adds /trpc). */
  url: string;
  /** A bearer token; without one no Authorization header is sent. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  fetch?: typeof fetch;
}

export function createVigilClient(options: VigilClientOptions) {
  const base = options.url.replace(/\/+$/, '');
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${base}/trpc`,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        async headers() {
          const token = typeof options.token === 'function' ? await options.token() : options.token;
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}

export type VigilClient = ReturnType<typeof createVigilClient>;
export type { AppRouter };
