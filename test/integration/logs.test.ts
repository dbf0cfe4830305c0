// Structured logs of a real server process: each stored event is one JSON line with its
// action at fields.audit_log.action (Coder's convention), a replay is not logged again,
// requests are logged with the id echoed in x-request-id, LOG_LEVEL is obeyed, and no
// token, password or secret reaches any line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/database.js';
import { generateToken } from '../../server/services/auth.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import { startChildServer, type ChildServer } from '../support/childServer.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const execFileAsync = promisify(execFile);

function jsonLines(output: string): Record<string, any>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

describe.each(BACKENDS)('logs on %s', (backend) => {
  let database: TestDatabase | undefined;
  let child: ChildServer;
  let client: VigilClient;
  const token = generateToken();
  const password = 'a-very-secret-password-123';

  async function startWith(env: Record<string, string>): Promise<ChildServer> {
    if (backend === 'postgres') {
      database ??= await createTestDatabase('postgres');
      env.DATABASE_URL = database.url!;
    }
    return startChildServer({ VIGIL_ADMIN_TOKEN: token, VIGIL_ADMIN_PASSWORD: password, VIGIL_CHECKPOINT_MINUTES: '0', ...env });
  }

  beforeAll(async () => {
    child = await startWith({ LOG_LEVEL: 'info' });
    client = createVigilClient({ url: child.url, token });
  });
  afterAll(async () => {
    await child?.stop();
    await database?.destroy();
  });

  it("an event's log line parses as JSON with fields.audit_log.action, once", async () => {
    const id = crypto.randomUUID();
    const event = {
      id,
      action: 'write' as const,
      resourceType: 'settings' as const,
      resourceTarget: 'oauth configs',
      actor: { username: 'ops', email: 'ops@example.com' },
      ip: '10.1.2.3',
      diff: { 'client secret': { old: 'hunter2-old', new: 'hunter2-new', secret: true }, 'client id': { old: '0fb2...7a4a', new: '91c3...e0d2' } },
      metadata: { ticket: 'OPS-1', password: 'should-not-be-logged', apiKey: 'should-not-be-logged-either' },
    };
    const first = await client.events.record.mutate(event);
    await client.events.record.mutate(event); // a replay: stored once, logged once
    const username = `logs-${backend}`;
    await client.users.create.mutate({ username, role: 'auditor', password });
    const login = await fetch(`${child.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc.123' },
      body: JSON.stringify({ username, password }),
    });
    expect(login.headers.get('x-request-id')).toBe('trace-abc.123');
    const session = (await login.json()).result.data.token as string;

    await expect.poll(() => jsonLines(child.output()).some((l) => l.req?.id === 'trace-abc.123'), { timeout: 5000 }).toBe(true);
    const lines = jsonLines(child.output());
    const loginLines = lines.filter((l) => l.fields?.audit_log?.action === 'login');
    expect(loginLines).toHaveLength(1);
    // The event a request causes carries that request's id, as its request log line does.
    expect(loginLines[0]!.fields.audit_log.request_id).toBe('trace-abc.123');
    const mine = lines.filter((l) => l.fields?.audit_log?.id === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 30,
      service: 'vigil',
      msg: 'audit_log',
      fields: {
        audit_log: {
          action: 'write',
          id,
          seq: first.seq,
          resource_type: 'settings',
          resource_target: 'oauth configs',
          actor_username: 'ops',
          actor_email: 'ops@example.com',
          ip: '10.1.2.3',
          diff: { 'client secret': { secret: true }, 'client id': { old: '0fb2...7a4a', new: '91c3...e0d2' } },
          metadata: { ticket: 'OPS-1', password: '******', apiKey: '******' },
        },
      },
    });

    // Request logs: one line per request with its id; the login's carries the caller's id.
    const requests = lines.filter((l) => l.req && l.res);
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(new Set(requests.map((l) => l.req.id)).size).toBe(requests.length);
    const loginLine = requests.find((l) => l.req.id === 'trace-abc.123')!;
    expect(loginLine).toMatchObject({ msg: 'POST /trpc/auth.login 200', req: { method: 'POST', path: '/trpc/auth.login' }, res: { statusCode: 200 } });
    expect(typeof loginLine.responseTime).toBe('number');

    // Nothing secret anywhere in the output.
    const output = child.output();
    for (const secret of [token, session, password, 'hunter2', 'should-not-be-logged']) expect(output).not.toContain(secret);
  });

  it('LOG_LEVEL sets the level: at warn, events and requests stay out of the log', async () => {
    const script = `
      const { observeRecorded } = await import('./server/services/eventLog.ts');
      const { columnsOf } = await import('./server/db/eventWriter.ts');
      const { logger } = await import('./server/logger.ts');
      const row = { id: 'e1', time: 't', recordedAt: 't', action: 'delete', resourceType: 'workspace', resourceId: null, resourceTarget: 'w',
        actorId: null, actorUsername: null, actorEmail: null, ip: null, userAgent: null, statusCode: null, requestId: null, diff: {}, metadata: {} };
      observeRecorded([{ row, canonical: '', leafHash: '', json: JSON.stringify(columnsOf(row)) }], [{ id: 'e1', seq: 1, duplicate: false }]);
      logger.warn('a warning');
      logger.flush();`;
    const run = (level: string) =>
      execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, LOG_LEVEL: level } });
    const info = jsonLines((await run('info')).stdout);
    expect(info.map((l) => l.msg)).toEqual(['audit_log', 'a warning']);
    expect(info[0]!.fields.audit_log.action).toBe('delete');
    const warn = jsonLines((await run('warn')).stdout);
    expect(warn.map((l) => l.msg)).toEqual(['a warning']);
  });

  it('an event recorded in a transaction is logged once it commits, and never if it rolls back', async () => {
    const script = `
      const { mkdtemp } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { openDatabase } = await import('./server/db/database.ts');
      const { EventWriter } = await import('./server/db/eventWriter.ts');
      const { auditedTransaction, recordEvents } = await import('./server/services/events.ts');
      const handle = await openDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: await mkdtemp(join(tmpdir(), 'vigil-logs-')) });
      const writer = new EventWriter(handle.db);
      const event = (target) => ({ action: 'write', resourceType: 'settings', resourceTarget: target });
      await auditedTransaction(writer, async (tx) => {
        await recordEvents(tx, [event('rolled-back')]);
        console.log(JSON.stringify({ msg: 'inside, before the rollback' }));
        throw new Error('undo');
      }).catch(() => {});
      await auditedTransaction(writer, async (tx) => {
        await recordEvents(tx, [event('committed')]);
        console.log(JSON.stringify({ msg: 'inside, before the commit' }));
      });
      const { sql } = await import('drizzle-orm');
      const stored = await handle.db.execute(sql\`select resource_target from audit_events where resource_target in ('rolled-back', 'committed')\`);
      console.log(JSON.stringify({ msg: 'stored', targets: (stored.rows ?? stored).map((r) => r.resource_target) }));
      await handle.close();`;
    if (backend === 'postgres') database ??= await createTestDatabase('postgres');
    const env = { ...process.env, LOG_LEVEL: 'info', ...(backend === 'postgres' ? { DATABASE_URL: database!.url! } : { DATABASE_URL: '' }) };
    const lines = jsonLines((await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env })).stdout);
    const relevant = lines.filter((l) => l.msg !== 'audit_log' || l.fields.audit_log.action === 'write');
    expect(relevant.map((l) => (l.msg === 'audit_log' ? `line: ${l.fields.audit_log.resource_target}` : l.msg))).toEqual([
      'inside, before the rollback',
      'inside, before the commit',
      'line: committed',
      'stored',
    ]);
    expect(relevant.at(-1)!.targets).toEqual(['committed']);
  });

  it("a failing query's error line names the failure but never its parameters; an out-of-range time is a 400", async () => {
    // The database refuses one target, so recording it fails inside Postgres with the whole
    // event (metadata.password included) among the query's parameters.
    const refuse = (db: Database) =>
      db.execute(sql`alter table audit_events add constraint no_refused_target check (resource_target <> 'refused-by-the-database')`);
    let dataDir: string | undefined;
    let own: TestDatabase | undefined;
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: token, VIGIL_CHECKPOINT_MINUTES: '0', LOG_LEVEL: 'info' };
    if (backend === 'postgres') {
      own = await createTestDatabase('postgres');
      await refuse(own.db);
      env.DATABASE_URL = own.url!;
    } else {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-logs-'));
      const handle = await openDatabase({ dataDir });
      await refuse(handle.db);
      await handle.close();
      env.VIGIL_DATA_DIR = dataDir;
    }
    const server = await startChildServer(env);
    try {
      const post = (procedure: string, body: unknown) =>
        fetch(`${server.url}/trpc/${procedure}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
      const secret = 'metadata-password-never-logged-4711';
      const failed = await post('events.record', {
        action: 'create',
        resourceType: 'workspace',
        resourceTarget: 'refused-by-the-database',
        metadata: { password: secret },
      });
      expect(failed.status).toBe(500);
      expect(failed.body.error.message).toBe('internal server error');
      await expect.poll(() => jsonLines(server.output()).some((l) => l.msg === 'procedure failed'), { timeout: 10_000 }).toBe(true);
      const line = jsonLines(server.output()).find((l) => l.msg === 'procedure failed')!;
      expect(line.level).toBe(50);
      expect(JSON.stringify(line.err)).toContain('no_refused_target');
      expect(line.err.message).toContain('Failed query: select vigil_append_events');
      expect(server.output()).not.toContain(secret);

      // Times Postgres cannot hold: refused before the database, with the field named.
      for (const time of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '0099-12-31T23:59:59.999Z', '0100-01-01T00:30:00+01:00']) {
        const single = await post('events.record', { time, action: 'create', resourceType: 'workspace', resourceTarget: 'ancient' });
        expect(single.status).toBe(400);
        expect(single.body.error.message).toBe('time: must be from 0100-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z (UTC)');
      }
      const batch = await post('events.recordBatch', {
        events: [
          { action: 'create', resourceType: 'workspace', resourceTarget: 'fine' },
          { time: '0000-06-01T00:00:00Z', action: 'create', resourceType: 'workspace', resourceTarget: 'ancient', metadata: { password: secret } },
        ],
      });
      expect(batch.status).toBe(400);
      expect(batch.body.error.message).toMatch(/^events\[1\]\.time: must be from 0100-01-01/);
      // The bounds themselves are stored and read back as sent.
      for (const time of ['0100-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
        const stored = await post('events.record', { time, action: 'create', resourceType: 'workspace', resourceTarget: 'edge' });
        expect(stored.status).toBe(200);
        const read = await fetch(`${server.url}/trpc/events.get?input=${encodeURIComponent(JSON.stringify({ id: stored.body.result.data.id }))}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(((await read.json()) as any).result.data.time).toBe(time);
      }
      const verified = await fetch(`${server.url}/trpc/integrity.verify`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await verified.json()) as any).result.data.ok).toBe(true);
      expect(server.output()).not.toContain(secret);
      expect(jsonLines(server.output()).filter((l) => l.level >= 50 && l.msg === 'procedure failed')).toHaveLength(1);
    } finally {
      await server.stop();
      await own?.destroy();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
