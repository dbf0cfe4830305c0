// Opening the embedded database: migrations at start-up, the data directory lock, and
// the modes of its files.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { startChildServer } from '../support/childServer.js';

/** Every file and directory under `dir` whose mode is not owner-only (0600 files, 0700 directories), with its mode. */
async function notPrivate(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string) => {
    const info = await stat(at);
    const mode = info.mode & 0o777;
    if (mode !== (info.isDirectory() ? 0o700 : 0o600)) found.push(`${path.relative(dir, at) || '.'} ${mode.toString(8)}`);
    if (info.isDirectory()) for (const name of await readdir(at)) await walk(path.join(at, name));
  };
  await walk(dir);
  return found;
}

describe('embedded PGlite data directory', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  // One embedded database opened twice (each opening runs the migrations: seconds).
  it("is locked against a second opener, keeps data across reopenings, and keeps its files to the server's user", async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'vigil-lock-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    const first = await openDatabase({ dataDir });
    await first.db.execute(
      sql`insert into audit_events (id, time, recorded_at, action, resource_type, resource_target, hash)
          values ('00000000-0000-4000-8000-000000000001', now(), now(), 'create', 'user', 'persisted', ${'0'.repeat(64)})`,
    );
    await expect(openDatabase({ dataDir })).rejects.toThrow(/in use by another Vigil process/);
    await first.close();

    const second = await openDatabase({ dataDir });
    const rows = await queryRows<{ resource_target: string }>(second.db, sql`select resource_target from audit_events`);
    expect(rows.map((r) => r.resource_target)).toEqual(['persisted']);
    // A table made after the first opening: its files too are owner-only (0600 files, 0700 directories).
    await second.db.execute(sql`create table scratch_modes (x int)`);
    await second.db.execute(sql`insert into scratch_modes values (1)`);
    await second.close();
    expect((await readdir(path.join(dataDir, 'pgdata'))).length).toBeGreaterThan(10);
    expect(await notPrivate(dataDir)).toEqual([]);
  }, 120_000);

  it('the server process creates its data directory, database and keys owner-only', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'vigil-modes-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    const token = generateToken();
    const child = await startChildServer({ VIGIL_DATA_DIR: dataDir, VIGIL_ADMIN_TOKEN: token, VIGIL_CHECKPOINT_MINUTES: '0' });
    try {
      const recorded = await fetch(`${child.url}/trpc/events.record`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'create', resourceType: 'workspace', resourceTarget: 'modes' }),
      });
      expect(recorded.status).toBe(200);
      expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['pgdata', 'signing-key.pem', 'secrets.key']));
      expect(await notPrivate(dataDir)).toEqual([]);
    } finally {
      await child.stop();
    }
    expect(await notPrivate(dataDir)).toEqual([]);
  }, 120_000);
});
