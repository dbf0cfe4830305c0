// The last active site manager stays, even when the last two are demoted or disabled at
// the same moment (two transactions on two connections on Postgres).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../../server/context.js';
import { createCaller } from '../../server/routers/_app.js';
import { BOOTSTRAP_TOKEN_CALLER } from '../../server/services/caller.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const ROUNDS = 12;

describe.each(BACKENDS)('the last site manager on %s', (backend) => {
  let database: TestDatabase;
  const admin = () => createCaller(createContextInner({ db: database.db, caller: BOOTSTRAP_TOKEN_CALLER }));
  const activeManagers = async () => (await admin().users.list()).filter((u) => u.role === 'site_manager' && !u.disabled);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it(`two site managers removed at once: one change is refused, ${ROUNDS} rounds of demote/disable`, async () => {
    const removals = [
      (id: string) => admin().users.setRole({ id, role: 'member' }),
      (id: string) => admin().users.setDisabled({ id, disabled: true }),
    ];
    for (let round = 0; round < ROUNDS; round++) {
      // Exactly two active site managers: two new ones, the previous round's survivor demoted.
      const survivors = await activeManagers();
      const pair = [
        await admin().users.create({ username: `manager-${round}-a`, role: 'site_manager', password: 'manager password 1' }),
        await admin().users.create({ username: `manager-${round}-b`, role: 'site_manager', password: 'manager password 1' }),
      ];
      for (const s of survivors) await admin().users.setRole({ id: s.id, role: 'auditor' });
      expect((await activeManagers()).map((u) => u.id).sort()).toEqual(pair.map((u) => u.id).sort());

      const outcomes = await Promise.allSettled([
        removals[round % 2]!(pair[0]!.id),
        removals[Math.floor(round / 2) % 2]!(pair[1]!.id),
      ]);
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(refused, `round ${round}`).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/^id: manager-\d+-[ab] is the last active site manager$/),
      });
      expect(await activeManagers(), `round ${round}`).toHaveLength(1);
    }
  });
});
