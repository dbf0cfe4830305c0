// A real Vigil HTTP server on a free port, over a test database.
import { createApp, listen, type AppDeps } from '../../server/app.js';
import type { Database, ListenFn } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import type { TreeLog } from '../../server/services/merkleTree.js';
import type { ExtensionPackages } from '../../server/services/extensionPackages.js';
import { processSecretsKey, type SecretsKey } from '../../server/services/secretsKey.js';
import { generateSigner, type Signer } from '../../server/services/signingKey.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import { TEST_EXTENSION_ID } from './testExtension.js';

export interface TestServer {
  url: string;
  token: string;
  client: VigilClient;
  close(): Promise<void>;
}

export async function startTestServer(
  db: Database,
  options: {
    maxBodyBytes?: number;
    signer?: Signer;
    secretsKey?: SecretsKey;
    listen?: ListenFn;
    livePollMs?: number;
    metricsToken?: string;
    extensionPackages?: ExtensionPackages;
    sinkDelivery?: AppDeps['sinkDelivery'];
    publicCheckpoint?: boolean;
    treeLog?: TreeLog;
  } = {},
): Promise<TestServer> {
  const token = generateToken();
  const app = createApp({
    signer: options.signer ?? generateSigner(),
    secretsKey: options.secretsKey ?? processSecretsKey(),
    ...(options.listen ? { listen: options.listen } : {}),
    ...(options.livePollMs ? { livePollMs: options.livePollMs } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.publicCheckpoint ? { publicCheckpoint: true } : {}),
    ...(options.treeLog ? { treeLog: options.treeLog } : {}),
    ...(options.extensionPackages ? { extensionPackages: options.extensionPackages } : {}),
    ...(options.sinkDelivery !== undefined ? { sinkDelivery: options.sinkDelivery } : {}),
    // Servers allow only Vigil's own extension ids: the test builds carry a fixed one.
    extensionIds: [TEST_EXTENSION_ID],
    db,
    adminToken: token,
    maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
  });
  const running = await listen(app, 0, '127.0.0.1');
  return { url: running.url, token, client: createVigilClient({ url: running.url, token }), close: running.close };
}

/** Calls a procedure over plain HTTP, for inputs the typed client would refuse to send. */
export async function rawCall(
  server: Pick<TestServer, 'url' | 'token'>,
  procedure: string,
  init: { method?: 'GET' | 'POST'; body?: string; input?: unknown; token?: string | null } = {},
): Promise<{ status: number; body: any }> {
  const method = init.method ?? (init.body !== undefined ? 'POST' : 'GET');
  const query = method === 'GET' && init.input !== undefined ? `?input=${encodeURIComponent(JSON.stringify(init.input))}` : '';
  const token = init.token === undefined ? server.token : init.token;
  const response = await fetch(`${server.url}/trpc/${procedure}${query}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text
  }
  return { status: response.status, body };
}
