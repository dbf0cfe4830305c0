// Syslog sinks against a real rsyslog (its own configuration, work directory and pid
// file): RFC 5424 over TCP with octet counting, over TLS (RFC 5425, a certificate made with
// openssl now, caFile) and over UDP, in the vigil, ocsf and cef formats. rsyslog parses
// each message and writes APP-NAME, MSGID, PROCID, PRI and MSG to a file the test reads.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/event.js';
import { createContextInner } from '../../server/context.js';
import type { Database } from '../../server/db/database.js';
import { createCaller } from '../../server/routers/_app.js';
import type { Caller } from '../../server/services/caller.js';
import { generateSecretsKey } from '../../server/services/secretsKey.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRsyslog, type Rsyslog } from '../support/sinkReceivers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waiting.js';

const ADMIN: Caller = { kind: 'user', userId: null, username: 'admin', email: null, role: 'site_manager', tokenId: null };
const DELIVERY = { pollMs: 100, flushMs: 100, leaseMs: 3000, timeoutMs: 2000, backoff: { initialMs: 50, maxMs: 400 } };

describe.each(BACKENDS)('syslog sinks to rsyslog on %s', (backend) => {
  let database: TestDatabase;
  let db: Database;
  let server: TestServer;
  let rsyslog: Rsyslog;
  const secretsKey = generateSecretsKey();
  const admin = () => createCaller(createContextInner({ db, caller: ADMIN, secretsKey }));

  beforeAll(async () => {
    rsyslog = await startRsyslog();
    database = await createTestDatabase(backend);
    db = database.db;
    server = await startTestServer(db, { secretsKey, sinkDelivery: DELIVERY });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
    await rsyslog?.stop();
  });

  async function record(prefix: string, n: number): Promise<AuditEvent[]> {
    const events = Array.from({ length: n }, (_, i) => ({
      action: i % 2 ? ('delete' as const) : ('write' as const),
      resourceType: 'workspace' as const,
      // Multi-byte text and spaces: octet counting is in bytes, MSG keeps them.
      resourceTarget: `${prefix}-${i} café ☕`,
      actor: { username: 'alice' },
      ip: '192.0.2.1',
      statusCode: 200,
    }));
    const ids = (await server.client.events.recordBatch.mutate({ events })).events.map((e) => e.id);
    return Promise.all(ids.map((id) => admin().events.get({ id })));
  }

  /** rsyslog's lines for events whose target starts with `prefix`, parsed. */
  async function received(prefix: string): Promise<{ app: string; msgid: string; procid: string; pri: string; msg: string }[]> {
    return (await rsyslog.lines())
      .filter((l) => l.includes(`${prefix}-`))
      .map((l) => {
        const [app, msgid, procid, pri, ...rest] = l.split('|');
        return { app: app!, msgid: msgid!, procid: procid!, pri: pri!, msg: rest.join('|') };
      });
  }

  /** The event's number in `record`'s batch, read from its target `<prefix>-<i> café ☕`. */
  const indexOf = (line: { msg: string }) => Number(/-(\d+) café/.exec(line.msg)![1]);

  /** Each event's first line, in the order received (redeliveries dropped by number, as receivers do by id). */
  function firstOfEach<T extends { msg: string }>(lines: T[]): T[] {
    const first = new Map<number, T>();
    for (const line of lines) if (!first.has(indexOf(line))) first.set(indexOf(line), line);
    return [...first.values()];
  }

  const cases = [
    { scheme: 'tcp', format: 'vigil' },
    { scheme: 'tls', format: 'ocsf' },
    { scheme: 'udp', format: 'cef' },
  ] as const;

  it.each(cases)('$scheme:// in $format: every event, in order, parsed as RFC 5424', async ({ scheme, format }) => {
    const port = { tcp: rsyslog.tcpPort, tls: rsyslog.tlsPort, udp: rsyslog.udpPort }[scheme];
    const prefix = `${scheme}${randomUUID().slice(0, 6)}`;
    const { id } = await admin().sinks.create({
      name: `rsyslog-${prefix}`,
      kind: 'syslog',
      url: `${scheme}://${scheme === 'tls' ? 'localhost' : '127.0.0.1'}:${port}`,
      format,
      q: `resource_type:workspace`,
      batchSize: 25,
      ...(scheme === 'tls' ? { caFile: rsyslog.caFile } : {}),
    });
    const recorded = await record(prefix, 60);
    await eventually(async () => firstOfEach(await received(prefix)).length >= 60, `rsyslog received 60 ${scheme} messages`, 30_000);
    const lines = await received(prefix);
    const got = firstOfEach(lines);
    // At least once: a batch whose cursor could not be moved (a database time-out on a
    // loaded machine) is sent again, whole and unchanged, never missing or reordered.
    expect(got.map(indexOf)).toEqual([...Array(60).keys()]);
    for (const line of lines) expect(got[indexOf(line)]).toEqual(line);
    got.forEach((line, i) => {
      const event = recorded[i]!;
      expect(line.app).toBe('vigil');
      expect(line.msgid).toBe(event.action);
      expect(line.procid).toMatch(/^\d+$/);
      // facility 13 (log audit); notice for delete, informational otherwise.
      expect(line.pri).toBe(event.action === 'delete' ? '109' : '110');
      if (format === 'vigil') expect(JSON.parse(line.msg)).toEqual(event);
      if (format === 'ocsf') expect(JSON.parse(line.msg)).toMatchObject({ class_uid: 6003, metadata: { uid: event.id }, resources: [{ name: event.resourceTarget }] });
      if (format === 'cef') {
        expect(line.msg).toMatch(new RegExp(`^CEF:0\\|Vigil\\|Vigil\\|1\\|${event.action}\\|`));
        expect(line.msg).toContain(`externalId=${event.id}`);
        expect(line.msg).toContain(`cs2=${event.resourceTarget}`);
      }
    });
    const sink = (await admin().sinks.list()).find((s) => s.id === id)!;
    expect(sink).toMatchObject({ lastError: null });
    expect(await admin().sinks.test({ id })).toMatchObject({ ok: true });
    await admin().sinks.delete({ id });
  });

  it('tls:// without the CA that signed rsyslog\'s certificate fails and shows why', async () => {
    const { id } = await admin().sinks.create({ name: `untrusted-${randomUUID().slice(0, 6)}`, kind: 'syslog', url: `tls://localhost:${rsyslog.tlsPort}` });
    expect(await admin().sinks.test({ id })).toMatchObject({ ok: false, message: expect.stringMatching(/certificate/i) });
    await admin().sinks.delete({ id });
  });
});
