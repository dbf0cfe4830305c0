// Opening the embedded database: migrations at start-up, and the data directory lock.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../server/db/database.js';

describe('embedded PGlite data directory', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('is locked against a second opener and keeps data across reopenings', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-lock-'));
    dirs.push(dataDir);
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
    await second.close();
  });
});
