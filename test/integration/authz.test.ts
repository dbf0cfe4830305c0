// The authorization matrix: every procedure x every kind of caller -> allowed, or the
// exact error code. A procedure missing from ACCESS fails the test (nothing by accident).
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createVigilLiveClient } from '../../shared/liveClient.js';
import { apiTokens } from '../../server/db/schema.js';
import { appRouter } from '../../server/routers/_app.js';
import { hashToken } from '../../server/services/auth.js';
import { defaultLogOrigin } from '../../server/config.js';
import { integrateEvents, signTreeHead, treeLogOf } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createPglite, type TestDatabase } from '../support/databases.js';
import { rawCall, startTestServer, type TestServer } from '../support/server.js';

const IDENTITIES = [
  'anonymous',
  'member',
  'auditor',
  'site_manager',
  'service_write',
  'service_read_write',
  'expired_token',
  'revoked_token',
  'disabled_user',
] as const;
type Identity = (typeof IDENTITIES)[number];
type Outcome = 'OK' | 'UNAUTHORIZED' | 'FORBIDDEN';
type Row = Record<Identity, Outcome>;

const NO_CREDENTIALS = { anonymous: 'UNAUTHORIZED', expired_token: 'UNAUTHORIZED', revoked_token: 'UNAUTHORIZED', disabled_user: 'UNAUTHORIZED' } as const;
const PUBLIC: Row = { anonymous: 'OK', member: 'OK', auditor: 'OK', site_manager: 'OK', service_write: 'OK', service_read_write: 'OK', expired_token: 'OK', revoked_token: 'OK', disabled_user: 'OK' };
const ANY_CALLER: Row = { ...NO_CREDENTIALS, member: 'OK', auditor: 'OK', site_manager: 'OK', service_write: 'OK', service_read_write: 'OK' };
const EVENT_READER: Row = { ...NO_CREDENTIALS, member: 'FORBIDDEN', auditor: 'OK', site_manager: 'OK', service_write: 'FORBIDDEN', service_read_write: 'OK' };
const AUDITOR: Row = { ...NO_CREDENTIALS, member: 'FORBIDDEN', auditor: 'OK', site_manager: 'OK', service_write: 'FORBIDDEN', service_read_write: 'FORBIDDEN' };
const INGEST: Row = { ...NO_CREDENTIALS, member: 'FORBIDDEN', auditor: 'FORBIDDEN', site_manager: 'OK', service_write: 'OK', service_read_write: 'OK' };
const SITE_MANAGER: Row = { ...NO_CREDENTIALS, member: 'FORBIDDEN', auditor: 'FORBIDDEN', site_manager: 'OK', service_write: 'FORBIDDEN', service_read_write: 'FORBIDDEN' };

/** Who may call what. Every procedure of the router must have a row. */
const ACCESS: Record<string, Row> = {
  'auth.login': PUBLIC,
  'auth.me': ANY_CALLER,
  'auth.logout': ANY_CALLER,
  'events.record': INGEST,
  'events.recordBatch': INGEST,
  'events.list': EVENT_READER,
  'events.count': EVENT_READER,
  'events.get': EVENT_READER,
  'events.stats': EVENT_READER,
  'events.live': EVENT_READER,
  'events.since': EVENT_READER,
  'integrity.verify': AUDITOR,
  'integrity.verifyTree': AUDITOR,
  'integrity.checkpoints': AUDITOR,
  'integrity.checkpoint': SITE_MANAGER,
  'integrity.publicKey': PUBLIC,
  'integrity.treeHead': EVENT_READER,
  'integrity.consistencyProof': EVENT_READER,
  'integrity.inclusionProof': EVENT_READER,
  'integrity.witness': AUDITOR,
  'settings.get': AUDITOR,
  'settings.update': SITE_MANAGER,
  'settings.history': AUDITOR,
  'users.list': SITE_MANAGER,
  'users.create': SITE_MANAGER,
  'users.setRole': SITE_MANAGER,
  'users.setDisabled': SITE_MANAGER,
  'users.setPassword': SITE_MANAGER,
  'tokens.list': SITE_MANAGER,
  'tokens.create': SITE_MANAGER,
  'tokens.revoke': SITE_MANAGER,
  'sinks.list': SITE_MANAGER,
  'sinks.create': SITE_MANAGER,
  'sinks.update': SITE_MANAGER,
  'sinks.delete': SITE_MANAGER,
  'sinks.test': SITE_MANAGER,
};

/** 'OK' once a subscription starts, else its error code. */
async function subscriptionOutcome(url: string, token: string | null, procedure: string, input: unknown): Promise<string> {
  const live = createVigilLiveClient({ url, ...(token ? { token } : {}), transport: 'ws', WebSocket });
  try {
    const [router, name] = procedure.split('.') as ['events', 'live'];
    return await new Promise<string>((resolve) => {
      const sub = (live.client[router][name] as { subscribe: (i: unknown, o: object) => { unsubscribe(): void } }).subscribe(input, {
        onStarted: () => {
          sub.unsubscribe();
          resolve('OK');
        },
        onError: (e: { data?: { code?: string } }) => resolve(e.data?.code ?? 'ERROR'),
      });
    });
  } finally {
    live.close();
  }
}

describe('authorization matrix', () => {
  let database: TestDatabase;
  let server: TestServer;
  const tokens = {} as Record<Identity, string | null>;
  let knownEventId: string;
  const signer = generateSigner();
  let treeHead: { treeSize: number; note: string };
  let targetUserId: string;

  const admin = () => server.client;
  async function loginAs(username: string, password: string): Promise<string> {
    const { status, body } = await rawCall(server, 'auth.login', { body: JSON.stringify({ username, password }), token: null });
    expect(status).toBe(200);
    return body.result.data.token;
  }
  async function makeUser(role: 'member' | 'auditor' | 'site_manager'): Promise<{ id: string; token: string }> {
    const username = `${role}-${randomUUID().slice(0, 8)}`;
    const user = await admin().users.create.mutate({ username, role, password: 'correct horse battery' });
    return { id: user.id, token: await loginAs(username, 'correct horse battery') };
  }

  /** A valid input for each procedure, so an allowed call succeeds. */
  const INPUTS: Record<string, () => Promise<unknown> | unknown> = {
    'auth.login': () => ({ username: 'matrix-login', password: 'correct horse battery' }),
    'auth.me': () => undefined,
    'auth.logout': () => undefined,
    'events.record': () => ({ action: 'create', resourceType: 'workspace', resourceTarget: 'matrix' }),
    'events.recordBatch': () => ({ events: [{ action: 'create', resourceType: 'workspace', resourceTarget: 'matrix' }] }),
    'events.list': () => ({ limit: 1 }),
    'events.count': () => ({}),
    'events.get': () => ({ id: knownEventId }),
    'events.stats': () => ({}),
    'events.live': () => ({}),
    'events.since': () => ({ afterSeq: 0, limit: 5 }),
    'integrity.verify': () => undefined,
    'integrity.verifyTree': () => undefined,
    'integrity.checkpoints': () => ({ limit: 5 }),
    'integrity.checkpoint': () => undefined,
    'integrity.publicKey': () => undefined,
    'integrity.treeHead': () => undefined,
    'integrity.consistencyProof': () => ({ from: 0, to: 1 }),
    'integrity.inclusionProof': () => ({ id: knownEventId, treeSize: treeHead.treeSize }),
    'integrity.witness': () => ({ note: treeHead.note }),
    'settings.get': () => undefined,
    'settings.update': () => ({ changes: { serviceBannerBody: `matrix ${randomUUID()}` } }),
    'settings.history': () => ({ target: 'appearance', limit: 5 }),
    'users.list': () => undefined,
    'users.create': () => ({ username: `u-${randomUUID().slice(0, 8)}`, role: 'member', password: 'correct horse battery' }),
    'users.setRole': () => ({ id: targetUserId, role: 'member' }),
    'users.setDisabled': () => ({ id: targetUserId, disabled: false }),
    'users.setPassword': () => ({ id: targetUserId, password: 'another good password' }),
    'tokens.list': () => undefined,
    'tokens.create': () => ({ name: 'matrix', scopes: ['events:write'] }),
    'tokens.revoke': async () => ({ id: (await admin().tokens.create.mutate({ name: 'to-revoke', scopes: ['events:write'] })).id }),
    'sinks.list': () => undefined,
    'sinks.create': () => ({ name: `matrix-${randomUUID()}`, kind: 'syslog', url: 'udp://127.0.0.1:9' }),
    'sinks.update': async () => ({ id: await matrixSink(), q: `resource_target:${randomUUID()}` }),
    'sinks.delete': async () => ({ id: await matrixSink() }),
    'sinks.test': async () => ({ id: await matrixSink() }),
  };
  /** A sink for the calls that need one (UDP to the discard port: nothing waits on it). */
  const matrixSink = async () => (await admin().sinks.create.mutate({ name: `matrix-${randomUUID()}`, kind: 'syslog', url: 'udp://127.0.0.1:9' })).id;

  beforeAll(async () => {
    database = await createPglite();
    server = await startTestServer(database.db, { signer });
    tokens.anonymous = null;
    tokens.site_manager = (await makeUser('site_manager')).token;
    tokens.member = (await makeUser('member')).token;
    tokens.auditor = (await makeUser('auditor')).token;
    tokens.service_write = (await admin().tokens.create.mutate({ name: 'writer', scopes: ['events:write'] })).token;
    tokens.service_read_write = (await admin().tokens.create.mutate({ name: 'reader', scopes: ['events:write', 'events:read'] })).token;

    const expired = await makeUser('site_manager');
    await database.db.update(apiTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiTokens.tokenHash, hashToken(expired.token)));
    tokens.expired_token = expired.token;

    const revoked = await makeUser('site_manager');
    expect((await rawCall({ url: server.url, token: revoked.token }, 'auth.logout', { body: '' })).status).toBe(200);
    tokens.revoked_token = revoked.token;

    const disabled = await makeUser('site_manager');
    await admin().users.setDisabled.mutate({ id: disabled.id, disabled: true });
    tokens.disabled_user = disabled.token;

    await admin().users.create.mutate({ username: 'matrix-login', role: 'member', password: 'correct horse battery' });
    targetUserId = (await admin().users.create.mutate({ username: 'matrix-target', role: 'member', password: 'correct horse battery' })).id;
    knownEventId = (await admin().events.record.mutate({ action: 'delete', resourceType: 'image', resourceTarget: 'known' })).id;
    await integrateEvents(database.db);
    const signed = await signTreeHead(database.db, treeLogOf(signer, defaultLogOrigin()));
    if (!('signed' in signed)) throw new Error('no tree head signed');
    treeHead = signed.signed;
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  it('has a row for every procedure, and only for procedures that exist', () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(Object.keys(ACCESS).sort()).toEqual(procedures);
    expect(Object.keys(INPUTS).sort()).toEqual(procedures);
  });

  // auth.logout last: it ends the sessions the other cells use.
  const order = [...Object.keys(ACCESS).filter((p) => p !== 'auth.logout'), 'auth.logout'];
  describe.each(order)('%s', (procedure) => {
    it.each([...IDENTITIES])('as %s', async (identity) => {
      const type = (appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)[procedure]!._def.type;
      const input = await INPUTS[procedure]!();
      if (type === 'subscription') {
        // Subscriptions are checked the way the extension makes them: over WebSocket.
        const outcome = await subscriptionOutcome(server.url, tokens[identity], procedure, input);
        expect(outcome).toBe(ACCESS[procedure]![identity]);
        return;
      }
      const call =
        type === 'query'
          ? await rawCall(server, procedure, { method: 'GET', input, token: tokens[identity] })
          : await rawCall(server, procedure, { body: input === undefined ? '' : JSON.stringify(input), token: tokens[identity] });
      const expected = ACCESS[procedure]![identity];
      if (expected === 'OK') {
        expect(call.body.error?.message, JSON.stringify(call.body)).toBeUndefined();
        expect(call.status).toBe(200);
      } else {
        expect(call.body.error?.data?.code).toBe(expected);
        expect(call.status).toBe(expected === 'UNAUTHORIZED' ? 401 : 403);
      }
    });
  });
});
