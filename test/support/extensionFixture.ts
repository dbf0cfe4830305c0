// What most real-browser tests share: a server on a fresh embedded database, the test build
// of the extension and a Chromium that loads it, set up before a describe block's tests
// (the three at once where they can) and torn down after them.
import { afterAll, beforeAll } from 'vitest';
import { buildTestExtension, launchWithExtension, type BuiltExtension, type ExtensionBrowser } from './browser.js';
import { createPglite, type TestDatabase } from './databases.js';
import { startTestServer, type TestServer } from './server.js';

export interface ExtensionFixture {
  readonly database: TestDatabase;
  readonly server: TestServer;
  readonly built: BuiltExtension;
  readonly browser: ExtensionBrowser;
  /** The extension signed in with the server's admin token (a site manager), with `extra` settings. */
  signInAsAdmin(extra?: Record<string, unknown>): Promise<void>;
}

export interface ExtensionFixtureOptions {
  /** How often the extension polls (default: the build's). */
  pollSeconds?: number;
  /** Options for the test server, asked for when it starts. */
  server?: () => Parameters<typeof startTestServer>[1];
  /** Runs once the server is up, before the browser starts (users, events...). */
  prepare?: (server: TestServer) => Promise<void>;
  /** The admin's username in the signed-in session (default `admin`). */
  adminName?: string;
}

/** Registers beforeAll/afterAll in the calling describe block; the fields are set once it ran. */
export function useExtensionFixture(options: ExtensionFixtureOptions = {}): ExtensionFixture {
  let database: TestDatabase | undefined;
  let server: TestServer | undefined;
  let built: BuiltExtension | undefined;
  let browser: ExtensionBrowser | undefined;

  beforeAll(async () => {
    [database, built] = await Promise.all([
      createPglite(),
      buildTestExtension(['chrome'], options.pollSeconds === undefined ? {} : { pollSeconds: options.pollSeconds }),
    ]);
    server = await startTestServer(database.db, options.server?.() ?? {});
    await options.prepare?.(server);
    browser = await launchWithExtension(built.dir);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.destroy();
    await built?.remove();
  });

  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`extension fixture: ${name} is not set up (used outside a test?)`);
    return value;
  };
  return {
    get database() {
      return ready(database, 'database');
    },
    get server() {
      return ready(server, 'server');
    },
    get built() {
      return ready(built, 'built');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    signInAsAdmin(extra = {}) {
      const s = ready(server, 'server');
      return ready(browser, 'browser').setStorage({
        serverUrl: s.url,
        token: s.token,
        session: { kind: 'user', user: { id: null, username: options.adminName ?? 'admin', email: null, role: 'site_manager' } },
        ...extra,
      });
    },
  };
}
