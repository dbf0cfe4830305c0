// `npm run demo` against a real server process: a few seconds at the default rate after a
// day of history, exit status 0, and every event it says it recorded is there.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../server/services/auth.js';
import { createVigilClient } from '../../shared/client.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const run = promisify(execFile);

describe.each(BACKENDS)('the demo on %s', (backend) => {
  let database: TestDatabase | undefined;
  let child: ChildServer | undefined;
  afterAll(async () => {
    await child?.stop();
    await database?.destroy();
  });

  it('records history and ~4 s of live events without an error', async () => {
    const token = generateToken();
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: token, VIGIL_CHECKPOINT_MINUTES: '0' };
    if (backend === 'postgres') {
      database = await createTestDatabase('postgres');
      env.DATABASE_URL = database.url!;
    }
    child = await startChildServer(env);
    const { stderr } = await run(process.execPath, ['--import', 'tsx', 'server/tools/demo.ts', '--url', child.url, '--duration', '4', '--days', '1', '--per-day', '800', '--seed', '7'], {
      env: { ...process.env, VIGIL_ADMIN_TOKEN: token, VIGIL_TOKEN: '' },
    });
    const done = /demo: done: (\d+) history \+ (\d+) live events recorded in [\d.]+ s, 0 transient errors/.exec(stderr);
    expect(done, stderr).not.toBeNull();
    const [history, live] = [Number(done![1]), Number(done![2])];
    expect(history).toBeGreaterThan(400);
    // Default rate 5/s for ~4 s: about 20 (Poisson arrivals; at 20 these bounds fail about once in 15,000 runs).
    expect(live).toBeGreaterThan(4);
    expect(live).toBeLessThan(40);

    const client = createVigilClient({ url: child.url, token });
    // Everything the demo sent, and the server's own first-start event (the site manager).
    const page = await client.events.list.query({ limit: 1 });
    expect(page.count?.value).toBe(history + live + 1);
    const recent = await client.events.list.query({ q: 'since:1m', limit: 200 });
    expect(recent.items.length).toBeGreaterThanOrEqual(live);
    // A realistic mix: several actions, people and the platform itself.
    const actions = new Set(recent.items.map((e) => e.action));
    expect(actions.size).toBeGreaterThan(4);
  }, 120_000);
});
