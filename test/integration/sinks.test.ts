// Sinks on every test database: managing them (audited, the secret encrypted and masked,
// bad input refused naming the field), and delivery to real HTTP receivers that check
// each kind's wire format exactly and fail the first requests (500, 429, a stall past the
// time-out): every event delivered, in seq order, lag and errors visible, retention waiting.
import { createHmac, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { createContextInner } from '../../server/context.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { queryRows, type Database } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import type { Caller } from '../../server/services/caller.js';
import { runRetention } from '../../server/services/integrity.js';
import { generateSecretsKey } from '../../server/services/secretsKey.js';
import { parseConfiguredSinks } from '../../server/services/sinkConfig.js';
import { applyConfiguredSinks } from '../../server/services/sinks.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { startHttpReceiver, type HttpReceiver } from '../support/sinkReceivers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };
const SECRET = 'whsec-test-value-4b1d9e';

/** Fast timings: failures retried within a second, a stall given up after 1.5 s. */
const DELIVERY = { pollMs: 100, flushMs: 100, leaseMs: 3000, timeoutMs: 1500, backoff: { initialMs: 50, maxMs: 400 } };

describe.each(BACKENDS)('sinks on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  let server: TestServer;
  const secretsKey = generateSecretsKey();
  const admin = () => createCaller(createContextInner({ db, caller: ADMIN, secretsKey, request: { ip: '10.0.0.9', userAgent: 'vitest' } }));
  const receivers: HttpReceiver[] = [];
  const receiver = async () => {
    const r = await startHttpReceiver();
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    db = database.db;
    server = await startTestServer(db, { secretsKey, sinkDelivery: DELIVERY });
  });
  afterAll(async () => {
    await server?.close();
    for (const r of receivers) await r.close();
    await database?.destroy();
  });

  const tag = () => `t-${randomUUID().slice(0, 8)}`;
  /** Records `n` workspace events targeted `<prefix>-<i>` and answers them as events.list lists them, oldest first. */
  async function record(prefix: string, n: number, extra: Partial<EventInput> = {}): Promise<AuditEvent[]> {
    const events: EventInput[] = Array.from({ length: n }, (_, i) => ({
      action: 'write',
      resourceType: 'workspace',
      resourceTarget: `${prefix}-${i}`,
      actor: { username: 'alice', email: 'alice@example.com' },
      ip: '192.0.2.7',
      userAgent: 'coder-cli/2.0',
      statusCode: 200,
      diff: { ttl: { old: 1, new: 2 } },
      ...extra,
    }));
    const ids = (await server.client.events.recordBatch.mutate({ events })).events.map((e) => e.id);
    return Promise.all(ids.map((id) => admin().events.get({ id })));
  }
  const ndjson = (body: string) => body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const sinkNamed = async (name: string) => (await admin().sinks.list()).find((s) => s.name === name)!;

  it('create, update and delete are audited with the secret masked; the secret is encrypted at rest and never listed', async () => {
    const r = await receiver();
    const { id } = await admin().sinks.create({ name: 'siem-a', kind: 'webhook', url: `${r.url}/hook`, secret: SECRET, q: 'action:delete' });
    const created = await admin().events.list({ q: `resource_type:sink resource_id:${id}` });
    expect(created.items).toHaveLength(1);
    expect(created.items[0]).toMatchObject({
      action: 'create',
      resourceType: 'sink',
      resourceTarget: 'siem-a',
      actor: { username: 'admin' },
      ip: '10.0.0.9',
      diff: { name: { new: 'siem-a' }, kind: { new: 'webhook' }, url: { new: `${r.url}/hook` }, format: { new: 'vigil' }, q: { new: 'action:delete' }, batchSize: { new: 500 }, secret: { secret: true } },
    });

    const listed = await sinkNamed('siem-a');
    expect(listed).toMatchObject({ id, kind: 'webhook', format: 'vigil', q: 'action:delete', hasSecret: true, delivered: expect.any(Number), lastError: null });
    expect(JSON.stringify(await admin().sinks.list())).not.toContain(SECRET);

    const [row] = await queryRows<{ secret_ciphertext: string }>(db, sql`select secret_ciphertext from sinks where id = ${id}`);
    expect(row!.secret_ciphertext).toMatch(/^v1\./);
    const [dump] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from audit_events where diff::text like ${`%${SECRET}%`} or metadata::text like ${`%${SECRET}%`}`);
    expect(dump!.n).toBe(0);

    expect(await admin().sinks.update({ id, secret: '******', q: 'action:delete' })).toEqual({ id, changed: [] });
    const changed = await admin().sinks.update({ id, secret: 'rotated-secret-2', format: 'ocsf' });
    expect(changed.changed.sort()).toEqual(['format', 'secret']);
    const write = (await admin().events.list({ q: `resource_type:sink action:write resource_id:${id}` })).items[0]!;
    expect(write.diff).toEqual({ format: { old: 'vigil', new: 'ocsf' }, secret: { secret: true } });

    await admin().sinks.delete({ id });
    const deleted = (await admin().events.list({ q: `resource_type:sink action:delete resource_id:${id}` })).items[0]!;
    expect(deleted.diff).toMatchObject({ name: { old: 'siem-a' }, secret: { secret: true } });
    expect(JSON.stringify(deleted)).not.toContain('rotated-secret-2');
    expect((await admin().sinks.list()).find((s) => s.id === id)).toBeUndefined();
    await expect(admin().sinks.delete({ id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('bad input is BAD_REQUEST naming the field; an unreachable host is created and shows the error', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', kind: 'kafka', url: 'tcp://127.0.0.1:1' }, /^kind: unknown kind "kafka"/],
      [{ name: 'x', kind: 'syslog', url: 'tcp://127.0.0.1:1', format: 'leef' }, /^format: unknown format "leef"/],
      [{ name: 'x', kind: 'webhook', url: 'http://127.0.0.1:1', format: 'cef', secret: 's' }, /^format: a webhook sink writes vigil, ocsf, not cef/],
      [{ name: 'x', kind: 'syslog', url: 'https://127.0.0.1:1' }, /^url: a syslog sink needs a tcp:\/\/, tls:\/\/, udp:\/\/ URL, not https:\/\//],
      [{ name: 'x', kind: 'webhook', url: 'tcp://127.0.0.1:1', secret: 's' }, /^url: a webhook sink needs a http:\/\/, https:\/\/ URL/],
      [{ name: 'x', kind: 'webhook', url: 'not a url', secret: 's' }, /^url: not a URL/],
      [{ name: 'x', kind: 'webhook', url: 'https://u:p@example.com/', secret: 's' }, /^url: must not carry credentials/],
      [{ name: 'x', kind: 'syslog', url: 'tcp://127.0.0.1:1', q: 'action:explode' }, /^q: /],
      [{ name: 'x', kind: 'syslog', url: 'tcp://127.0.0.1:1', q: 'date_from:yesterday' }, /^q: /],
      [{ name: 'x', kind: 'splunk_hec', url: 'https://splunk.example.com:8088' }, /^secret: a splunk_hec sink needs its HEC token/],
      [{ name: 'x', kind: 'syslog', url: 'tcp://127.0.0.1:1', secret: 's' }, /^secret: a syslog sink takes no secret/],
      [{ name: 'x', kind: 'syslog', url: 'tcp://127.0.0.1:1', caFile: '/etc/hostname' }, /^caFile: only a tls:\/\/ syslog sink/],
      [{ name: 'x', kind: 'syslog', url: 'tls://127.0.0.1:1', caFile: '/nonexistent/ca.pem' }, /^caFile: cannot read/],
      [{ name: 'x', kind: 'datadog', url: 'https://http-intake.logs.datadoghq.eu/api/v2/logs', secret: 'k', batchSize: 2000 }, /^batchSize: a datadog sink takes at most 1000/],
    ];
    const before = (await admin().sinks.list()).length;
    for (const [input, message] of cases) {
      const error = await admin()
        .sinks.create(input as never)
        .then(() => null, (e: { code?: string; message: string }) => e);
      expect(error, JSON.stringify(input)).toMatchObject({ code: 'BAD_REQUEST' });
      expect(error!.message, JSON.stringify(input)).toMatch(message);
    }
    expect(await admin().sinks.list()).toHaveLength(before);

    const deadPort = await freePort();
    const { id } = await admin().sinks.create({ name: 'unreachable', kind: 'webhook', url: `http://127.0.0.1:${deadPort}/`, secret: 's' });
    await record(tag(), 1);
    await eventually(async () => (await sinkNamed('unreachable')).lastError !== null, 'the delivery error shown');
    const sink = await sinkNamed('unreachable');
    expect(sink).toMatchObject({ state: 'failing', lastError: expect.stringMatching(/ECONNREFUSED/) });
    expect(sink.lag.events).toBeGreaterThan(0);
    const test = await admin().sinks.test({ id });
    expect(test).toMatchObject({ ok: false, message: expect.stringMatching(/ECONNREFUSED/) });
    await expect(admin().sinks.create({ name: 'UNREACHABLE', kind: 'syslog', url: 'tcp://127.0.0.1:1' })).rejects.toMatchObject({ code: 'CONFLICT', message: /^name: / });
    await admin().sinks.delete({ id });
  });

  it('webhook: signed NDJSON batches, every event once and in seq order through 500, 429 and a stall', async () => {
    const r = await receiver();
    r.plan = [500, 429, 'stall'];
    const { id } = await admin().sinks.create({ name: 'hook', kind: 'webhook', url: `${r.url}/ingest`, secret: SECRET, q: 'resource_type:workspace', batchSize: 7 });
    const prefix = tag();
    const recorded = await record(prefix, 30);
    await eventually(() => r.accepted().flatMap((q) => ndjson(q.body)).filter((e) => e.resourceTarget.startsWith(prefix)).length >= 30, 'all 30 delivered');

    const failed = r.requests.slice(0, 3).map((q) => q.answer);
    expect(failed).toEqual([500, 429, 'stall']);
    const delivered = r.accepted().flatMap((q) => ndjson(q.body));
    // Exactly the recorded events, as events.list lists them, in seq order. At least once:
    // on a loaded machine an answer may come after the time-out, and that batch comes again.
    const firsts = [...new Map(delivered.map((e) => [e.id as string, e])).values()];
    expect(firsts.filter((e) => e.resourceTarget.startsWith(prefix))).toEqual(recorded);
    const seqs = firsts.map((e) => e.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(delivered.every((e) => e.resourceType === 'workspace')).toBe(true);

    const ids = new Set<string>();
    for (const q of r.requests) {
      expect(q.method).toBe('POST');
      expect(q.path).toBe('/ingest');
      expect(q.headers['content-type']).toBe('application/x-ndjson');
      expect(q.body.endsWith('\n')).toBe(true);
      expect(ndjson(q.body).length).toBeLessThanOrEqual(7);
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(q.headers['x-vigil-signature']))!;
      expect(match).not.toBeNull();
      expect(Math.abs(Number(match[1]) - Date.now() / 1000)).toBeLessThan(120);
      expect(match[2]).toBe(createHmac('sha256', SECRET).update(`${match[1]}.${q.body}`).digest('hex'));
      expect(q.headers['x-vigil-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(String(q.headers['x-vigil-delivery']));
    }
    expect(ids.size).toBe(r.requests.length);

    await eventually(async () => (await sinkNamed('hook')).state === 'caught_up', 'caught up');
    const sink = await sinkNamed('hook');
    expect(sink).toMatchObject({ lag: { events: 0, seconds: 0 }, lastError: null, lastDeliveredAt: expect.any(String) });
    expect(sink.delivered).toBeGreaterThanOrEqual(firsts.length);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_sink_delivered_total\{sink="hook"\} \d+/);
    expect(metrics).toMatch(/vigil_sink_errors_total\{sink="hook"\} [3-9]/);
    expect(metrics).toMatch(/vigil_sink_lag_events\{sink="hook"\} 0/);
    await admin().sinks.delete({ id });
  });

  it('splunk_hec and datadog: their endpoints, credentials and body shapes; ocsf maps classes', async () => {
    const splunk = await receiver();
    const datadog = await receiver();
    const a = await admin().sinks.create({ name: 'splunk', kind: 'splunk_hec', url: splunk.url, secret: 'hec-token-1', q: 'resource_type:workspace,user' });
    const b = await admin().sinks.create({ name: 'dd', kind: 'datadog', url: `${datadog.url}/api/v2/logs`, secret: 'dd-key-1', format: 'ocsf', q: 'resource_type:workspace,user' });
    const prefix = tag();
    const [workspace] = await record(prefix, 1, { action: 'delete', statusCode: 500 });
    const [user] = await record(`${prefix}u`, 1, { action: 'create', resourceType: 'user', resourceId: 'u-77' });
    const done = (r: HttpReceiver) => () => r.accepted().some((q) => q.body.includes(`${prefix}u-0`));
    await eventually(done(splunk), 'splunk delivery');
    await eventually(done(datadog), 'datadog delivery');

    for (const q of splunk.accepted()) {
      expect(q.path).toBe('/services/collector/event');
      expect(q.headers.authorization).toBe('Splunk hec-token-1');
      expect(q.headers['content-type']).toBe('application/json');
    }
    const hec = splunk.accepted().flatMap((q) => q.body.split('\n').map((l) => JSON.parse(l) as Record<string, any>));
    const hecWorkspace = hec.find((h) => h.event.id === workspace!.id)!;
    expect(hecWorkspace).toEqual({ time: Date.parse(workspace!.time) / 1000, host: expect.any(String), source: 'vigil', sourcetype: 'vigil:audit', event: workspace });

    for (const q of datadog.accepted()) {
      expect(q.path).toBe('/api/v2/logs');
      expect(q.headers['dd-api-key']).toBe('dd-key-1');
      expect(Array.isArray(JSON.parse(q.body))).toBe(true);
    }
    const logs = datadog.accepted().flatMap((q) => JSON.parse(q.body) as Record<string, any>[]);
    const ddWorkspace = logs.find((l) => l.ocsf.metadata.uid === workspace!.id)!;
    expect(ddWorkspace).toMatchObject({ ddsource: 'vigil', service: 'vigil', hostname: expect.any(String), message: `alice delete workspace ${prefix}-0` });
    expect(ddWorkspace.ocsf).toMatchObject({
      class_uid: 6003,
      activity_id: 4,
      type_uid: 600304,
      time: Date.parse(workspace!.time),
      status_id: 2,
      status_code: '500',
      metadata: { uid: workspace!.id, product: { name: 'Vigil' } },
      actor: { user: { name: 'alice', email_addr: 'alice@example.com' } },
      src_endpoint: { ip: '192.0.2.7' },
      http_request: { user_agent: 'coder-cli/2.0' },
      unmapped: { diff: { ttl: { old: 1, new: 2 } } },
    });
    const ddUser = logs.find((l) => l.ocsf.metadata.uid === user!.id)!;
    expect(ddUser.ocsf).toMatchObject({ class_uid: 3001, activity_id: 1, type_uid: 300101, user: { name: `${prefix}u-0`, uid: 'u-77' } });
    expect(JSON.stringify([splunk.requests, datadog.requests].flat().map((q) => q.body))).not.toMatch(/hec-token-1|dd-key-1/);

    const test = await admin().sinks.test({ id: a.id });
    expect(test).toMatchObject({ ok: true, status: 200 });
    const testEvent = JSON.parse(splunk.requests.at(-1)!.body) as Record<string, any>;
    expect(testEvent.event).toMatchObject({ action: 'connect', resourceType: 'sink', resourceTarget: 'splunk', metadata: { test: true } });
    await admin().sinks.delete({ id: a.id });
    await admin().sinks.delete({ id: b.id });
  });

  it('sinks of the same filter share their reads, whatever their format: each gets exactly its events, and one that fails holds back no other', async () => {
    const [failing, working, deletes, ocsf] = [await receiver(), await receiver(), await receiver(), await receiver()];
    failing.always = 500;
    const q = 'resource_type:workspace';
    const sinks = [
      await admin().sinks.create({ name: 'share-failing', kind: 'webhook', url: failing.url, secret: 's', q }),
      await admin().sinks.create({ name: 'share-working', kind: 'webhook', url: working.url, secret: 's', q, batchSize: 7 }),
      await admin().sinks.create({ name: 'share-deletes', kind: 'webhook', url: deletes.url, secret: 's', q: `${q} action:delete`, batchSize: 3 }),
      await admin().sinks.create({ name: 'share-ocsf', kind: 'webhook', url: ocsf.url, secret: 's', q, format: 'ocsf', batchSize: 5 }),
    ];
    const prefix = tag();
    const recorded = [...(await record(prefix, 20)), ...(await record(`${prefix}d`, 5, { action: 'delete' })), ...(await record(`${prefix}e`, 20))];
    const mine = (r: HttpReceiver) => [...new Map(r.accepted().flatMap((x) => ndjson(x.body)).map((e) => [e.id as string, e])).values()].filter((e) => e.resourceTarget.startsWith(prefix));

    await eventually(() => mine(working).length === recorded.length, 'the working sink delivered everything');
    expect(mine(working)).toEqual(recorded);
    await eventually(() => mine(deletes).length === 5, 'the filtered sink delivered its events');
    expect(mine(deletes)).toEqual(recorded.filter((e) => e.action === 'delete'));
    expect(deletes.accepted().flatMap((x) => ndjson(x.body)).every((e) => e.action === 'delete')).toBe(true);
    // The OCSF sink reads through the same window: every event once, in order, as OCSF.
    const ocsfMine = () => ocsf.accepted().flatMap((x) => ndjson(x.body) as unknown as { metadata: { uid: string }; resources: { name: string }[]; class_uid: number }[]).filter((e) => e.resources[0]!.name.startsWith(prefix));
    await eventually(() => ocsfMine().length >= recorded.length, 'the OCSF sink delivered everything');
    expect(ocsfMine().map((e) => e.metadata.uid)).toEqual(recorded.map((e) => e.id));
    expect(ocsfMine().every((e) => e.class_uid === 6003)).toBe(true);
    expect(failing.accepted()).toHaveLength(0);
    expect(failing.requests.length).toBeGreaterThan(0);

    failing.always = null;
    await eventually(() => mine(failing).length === recorded.length, 'the failing sink delivered everything once its receiver recovered');
    expect(mine(failing)).toEqual(recorded);
    for (const { id } of sinks) await admin().sinks.delete({ id });
  });

  it('a receiver down for a while: ingest goes on, lag shows, everything drains after', async () => {
    const port = await freePort();
    const { id } = await admin().sinks.create({ name: 'later', kind: 'webhook', url: `http://127.0.0.1:${port}/`, secret: 's', q: 'resource_type:workspace' });
    const prefix = tag();
    const recorded = [...(await record(prefix, 50)), ...(await record(`${prefix}b`, 50))];
    await eventually(async () => (await sinkNamed('later')).lastError !== null, 'the failure shown');
    const waiting = await sinkNamed('later');
    expect(waiting.lag.events).toBeGreaterThanOrEqual(100);
    expect(waiting.lag.seconds).toBeGreaterThanOrEqual(0);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/vigil_sink_lag_events\{sink="later"\} (\d{3,})/);

    const r = await startHttpReceiver(port);
    receivers.push(r);
    await eventually(async () => (await sinkNamed('later')).state === 'caught_up', 'drained');
    const got = r.accepted().flatMap((q) => ndjson(q.body)).filter((e) => e.resourceTarget.startsWith(prefix));
    expect(got.map((e) => e.id)).toEqual(recorded.map((e) => e.id));
    await admin().sinks.delete({ id });
  });

  it('retention keeps events a sink has not delivered, until it has', async () => {
    // Only this test's sink may hold retention back.
    for (const leftover of await admin().sinks.list()) await admin().sinks.delete({ id: leftover.id });
    const port = await freePort();
    const { id } = await admin().sinks.create({ name: 'holds', kind: 'webhook', url: `http://127.0.0.1:${port}/`, secret: 's' });
    const [first] = await record(tag(), 3);
    const signer = generateSigner();
    const future = () => new Date(Date.now() + 3 * 86_400_000);
    const held = await runRetention(db, new EventWriter(db), signer, { retentionDays: 1, clock: future });
    // Only what precedes the sink's cursor may go; the undelivered events stay.
    expect(await admin().events.get({ id: first!.id })).toMatchObject({ id: first!.id });
    expect(held.throughSeq === null || held.throughSeq < first!.seq).toBe(true);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/vigil_retention_held_events [1-9]/);

    const r = await startHttpReceiver(port);
    receivers.push(r);
    await eventually(async () => (await sinkNamed('holds')).state === 'caught_up', 'caught up');
    await admin().sinks.delete({ id });
    const after = await runRetention(db, new EventWriter(db), signer, { retentionDays: 1, clock: future });
    expect(after.throughSeq).toBeGreaterThanOrEqual(first!.seq);
    await expect(admin().events.get({ id: first!.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('VIGIL_SINKS is applied idempotently by name, by the system', async () => {
    const r = await receiver();
    const raw = JSON.stringify([{ name: 'from-file', kind: 'webhook', url: `${r.url}/a`, secret: 'file-secret' }]);
    const ctx = { db, events: new EventWriter(db), secretsKey, clock: () => new Date() };
    expect(await applyConfiguredSinks(ctx, parseConfiguredSinks(raw))).toEqual({ created: ['from-file'], changed: [] });
    expect(await applyConfiguredSinks(ctx, parseConfiguredSinks(raw))).toEqual({ created: [], changed: [] });
    const changedRaw = JSON.stringify([{ name: 'from-file', kind: 'webhook', url: `${r.url}/b`, secret: 'file-secret' }]);
    expect(await applyConfiguredSinks(ctx, parseConfiguredSinks(changedRaw))).toEqual({ created: [], changed: ['from-file'] });
    const sink = await sinkNamed('from-file');
    const events = (await admin().events.list({ q: `resource_type:sink resource_id:${sink.id}` })).items;
    expect(events.map((e) => [e.action, e.actor, e.diff])).toEqual([
      ['write', null, { url: { old: `${r.url}/a`, new: `${r.url}/b` } }],
      ['create', null, expect.objectContaining({ secret: { secret: true } })],
    ]);
    expect(() => parseConfiguredSinks('[{"name":"y","kind":"syslog","url":"http://x"}]')).toThrow(/^VIGIL_SINKS\[0\]\.url: /);
    expect(() => parseConfiguredSinks('{')).toThrow(/^VIGIL_SINKS is not JSON/);
    await admin().sinks.delete({ id: sink.id });
  });
});
