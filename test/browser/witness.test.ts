// The extension as a witness in real Chromium: it pins the server's key and holds the
// newest verified head; when the operator rewrites history (an old event changed, the
// tree rebuilt and re-signed with the server's own key) the next sync raises a desktop
// notification and the "History changed" badge, and the options page shows the alarm
// with its evidence until the user acknowledges it.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { integrateEvents, signTreeHead, treeLogOf, type TreeLog } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { buildTestExtension, chromiumAvailable, launchWithExtension, type BuiltExtension, type ExtensionBrowser } from '../support/browser.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

declare const vigilTest: {
  sync(): Promise<void>;
  witness(): Promise<{ checkedSeq?: number; state: { pinnedKey?: string; head?: { treeSize: number }; alarm?: { reason: string } } } | undefined>;
};

describe.skipIf(!chromiumAvailable)('the extension as a witness, in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let built: BuiltExtension;
  let browser: ExtensionBrowser;
  let log: TreeLog;

  const head = async (db: Database) => {
    await integrateEvents(db);
    await signTreeHead(db, log);
  };
  const witness = () => browser.liveWorker().evaluate(() => vigilTest.witness());
  const sync = () => browser.liveWorker().evaluate(() => vigilTest.sync());

  beforeAll(async () => {
    [database, built] = await Promise.all([createPglite(), buildTestExtension(['chrome'], { pollSeconds: 3 })]);
    const signer = generateSigner();
    log = treeLogOf(signer, 'vigil.test/browser-witness');
    server = await startTestServer(database.db, { signer, treeLog: log });
    browser = await launchWithExtension(built.dir);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.destroy();
    await built?.remove();
  });

  it('honest growth is verified silently; a rewrite raises "History changed" until acknowledged', async () => {
    const [first] = (await server.client.events.recordBatch.mutate({
      events: [1, 2, 3].map((i) => ({ action: 'delete' as const, resourceType: 'workspace' as const, resourceTarget: `ws-${i}`, actor: { username: 'ops' } })),
    })).events;
    await head(database.db);
    await browser.setStorage({
      serverUrl: server.url,
      token: server.token,
      session: { kind: 'user', user: { id: null, username: 'bootstrap-token', email: null, role: 'site_manager' } },
    });
    await eventually(async () => (await witness())?.state.head?.treeSize === 3, 'the first verified head');
    expect((await witness())!.state.pinnedKey).toBe(log.verifierKey);

    await eventually(async () => (await witness())?.checkedSeq !== undefined, 'the inclusion checks to start at the head');
    const cordon = await server.client.events.record.mutate({ action: 'cordon', resourceType: 'workspace_provider', resourceTarget: 'eu', actor: { username: 'ops' } });
    await head(database.db);
    await sync();
    await eventually(async () => ((await witness())?.state.head?.treeSize ?? 0) >= 4, 'the grown head');
    // The notified cordon is proven included in the verified head.
    await eventually(async () => {
      await sync();
      return ((await witness())?.checkedSeq ?? 0) >= cordon.seq;
    }, 'the notified cordon proven included');
    expect((await witness())!.state.alarm).toBeUndefined();
    expect(await browser.badgeText()).not.toBe('!!');

    // The detail pane proves the event shown is in the verified history.
    const view = await browser.open(`view.html#id=${first!.id}`);
    await view.waitForSelector(`[data-detail-id="${first!.id}"] [data-inclusion="included"]`, { timeout: 15_000 });
    await view.close();

    // The operator rewrites an old event, rebuilds the tree and re-signs with the server's own key.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`update audit_events set resource_target = 'nothing-to-see', leaf_hash = null where id = ${first!.id}`);
      for (const table of ['merkle_tree_heads', 'merkle_tiles']) await tx.execute(sql.raw(`delete from ${table}`));
    });
    await server.client.events.record.mutate({ action: 'login', resourceType: 'user', resourceTarget: 'x', actor: { username: 'x' } });
    await head(database.db);
    await sync();
    await eventually(async () => (await witness())?.state.alarm?.reason === 'inconsistent', 'the alarm');
    await eventually(async () => (await browser.notificationIds()).includes('vigil-history-changed'), 'the History changed notification');
    expect(await browser.badgeText()).toBe('!!');

    // The changed event, as the server now shows it, fails its inclusion proof.
    const changed = await browser.open(`view.html#id=${first!.id}`);
    await changed.waitForSelector(`[data-detail-id="${first!.id}"] [data-inclusion="notIncluded"]`, { timeout: 15_000 });
    await changed.close();

    const options = await browser.open('options.html');
    await options.waitForSelector('[data-history-alarm="inconsistent"]');
    expect(await options.textContent('[data-history-alarm]')).toContain('History changed.');
    // The alarm stays across syncs until acknowledged.
    await sync();
    expect(await browser.badgeText()).toBe('!!');
    await options.click('[data-history-alarm] button');
    await eventually(async () => (await witness())?.state.alarm === undefined, 'the acknowledgement');
    await sync();
    await eventually(async () => (await browser.badgeText()) !== '!!', 'the badge to clear');
    await options.close();
  });
});
