// The server's answers as an attacker sees them: security headers, no stack traces,
// guarded metrics, and the limits that keep one client from exhausting the server.
import { TEST_EXTENSION_ID } from '../support/testExtension.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';

describe('security of the HTTP surface', () => {
  let database: TestDatabase;
  let server: TestServer;
  const metricsToken = 'metrics-scraper-token';
  beforeAll(async () => {
    database = await createPglite();
    server = await startTestServer(database.db, { metricsToken });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it.each(['/healthz', '/trpc/events.list', '/integrity/public-key', '/nowhere'])('%s carries the security headers', async (path) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // helmet's policy, or Express's stricter one ('none') on its own 404 page.
    expect(response.headers.get('content-security-policy')).toMatch(/default-src '(self|none)'/);
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('a malformed URL is a 400 with no stack trace', async () => {
    const response = await fetch(`${server.url}/export?q=%E0%A4%A`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const text = await response.text();
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(text).not.toContain('node_modules');
  });

  it('procedure errors carry no stack trace', async () => {
    const { body } = await rawCall(server, 'events.get', { method: 'GET', input: { id: 'not-a-uuid' } });
    expect(JSON.stringify(body)).not.toContain('stack');
    expect(JSON.stringify(body)).not.toContain('node_modules');
  });

  it('/metrics needs the metrics token when one is configured', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // A user's token is not the metrics token either.
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toContain('vigil_events_recorded_total');
    expect(text).not.toContain(server.token);
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])('the scheme %s is accepted on tRPC, /export and /metrics', async (scheme) => {
    const me = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `${scheme} ${server.token}` } });
    expect(me.status).toBe(200);
    expect((await me.json()).result.data).toMatchObject({ kind: 'user', user: { role: 'site_manager' } });
    const exported = await fetch(`${server.url}/export?format=ndjson`, { headers: { authorization: `${scheme} ${server.token}` } });
    expect(exported.status).toBe(200);
    await exported.text();
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `${scheme} ${metricsToken}` } })).status).toBe(200);
    // Only the scheme is case-insensitive: the token itself is not.
    const wrongCase = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `${scheme} ${server.token.toUpperCase()}` } });
    expect(wrongCase.status).toBe(401);
  });

  it('a WebSocket message over the size limit closes that socket only', async () => {
    const { WebSocket } = await import('ws');
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/trpc`);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(2 * 1024 * 1024));
    expect(await closed).toBe(1009);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('a WebSocket from a web page origin is refused at the upgrade; no Origin or an extension origin may open one', async () => {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/trpc`;
    /** Opens a socket and sends auth.login: the status of a refused upgrade, or the login's answer. */
    const tryLogin = (origin: string | undefined) =>
      new Promise<{ refused: number } | { answer: any }>((resolve, reject) => {
        const socket = new WebSocket(wsUrl, origin ? { origin } : {});
        socket.on('unexpected-response', (_req, res) => {
          resolve({ refused: res.statusCode! });
          socket.terminate();
        });
        socket.on('open', () =>
          socket.send(JSON.stringify({ id: 1, method: 'mutation', params: { path: 'auth.login', input: { username: 'admin', password: 'wrong-password-1' } } })),
        );
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.id !== 1) return;
          resolve({ answer: message });
          socket.close();
        });
        socket.on('error', (error) => {
          if (!socket.listenerCount('unexpected-response')) reject(error);
        });
      });
    for (const origin of ['https://evil.example', 'http://127.0.0.1:9999', 'null', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop']) {
      expect(await tryLogin(origin), origin).toEqual({ refused: 403 });
    }
    for (const origin of [undefined, `chrome-extension://${TEST_EXTENSION_ID}`]) {
      const result = await tryLogin(origin);
      expect(result, String(origin)).toHaveProperty('answer');
      expect((result as { answer: any }).answer.error.data.code, String(origin)).toBe('UNAUTHORIZED');
    }
  });
});
