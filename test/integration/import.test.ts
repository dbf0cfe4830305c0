// `vigil import coder FILE`: Coder v2 audit logs as GET /api/v2/audit returns them (a
// fixture written from Coder's documented shape) are recorded with their ids, actions and
// resource types mapped, what has no Vigil meaning skipped and counted; a second import
// stores nothing again; the chain still verifies.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../server/cli.js';
import { getEvent, listEvents } from '../../server/services/events.js';
import { verifyChain } from '../../server/services/integrity.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { mapCoderLog, RESOURCE_TYPE_MAP } from '../../server/tools/importCoder.js';
import { RESOURCE_TYPES } from '../../shared/vocabulary.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'coder-audit-logs.json');
const run = promisify(execFile);

describe.each(BACKENDS)('import coder on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('records the logs with their ids, maps actions and types, counts what it skips', async () => {
    const lines = await runCli(['import', 'coder', FIXTURE], database.db);
    expect(lines).toEqual([
      'coder-audit-logs.json: read 16 Coder audit logs, imported 13, already stored 0, skipped 3 (action disconnect: 1; action logout: 1; unknown resource type ai_task: 1)',
    ]);
    const page = await listEvents(database.db, { q: '', limit: 200 }, undefined);
    const imported = page.items.filter((e) => e.metadata.source === 'coder');
    expect(imported).toHaveLength(13);
    const byId = (id: string) => getEvent(database.db, id);

    expect(await byId('9b0a3f8e-2c41-4b6e-9d7a-1f2e3d4c5b6a')).toMatchObject({
      time: '2026-03-02T09:15:22.123Z',
      action: 'create',
      resourceType: 'workspace',
      resourceTarget: 'dev',
      resourceId: '0b3ea4f5-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
      actor: { id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', username: 'alice', email: 'alice@example.com' },
      ip: '10.0.4.17',
      statusCode: 201,
      requestId: '266ea41d-adf5-480b-af50-15b940c2b846',
      diff: { name: { old: '', new: 'dev', secret: false } },
      metadata: { source: 'coder', coder_action: 'create', coder_resource_type: 'workspace', resource_link: '/@alice/dev', organization: 'coder', additional_fields: { workspace_owner: 'alice' } },
    });
    expect(await byId('1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f')).toMatchObject({ action: 'write', ip: '2001:db8::17' });
    // Scheduled builds are the platform acting on a workspace; a user's start is a queued job.
    expect(await byId('2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a')).toMatchObject({ action: 'auto_start', resourceType: 'workspace', actor: null, requestId: null, ip: null });
    expect(await byId('3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b')).toMatchObject({ action: 'auto_off', resourceType: 'workspace', actor: null });
    expect(await byId('4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b8c')).toMatchObject({ action: 'enqueue', resourceType: 'job', actor: { username: 'alice' } });
    expect(await byId('5a6b7c8d-9e0f-4a1b-8c3d-4e5f6a7b8c9d')).toMatchObject({ action: 'connect', resourceType: 'workspace', resourceTarget: 'main' });
    expect(await byId('7c8d9e0f-1a2b-4c3d-8e5f-6a7b8c9d0e1f')).toMatchObject({ action: 'open', resourceType: 'workspace' });
    // A failed login of an unknown user: the name tried is the actor, as Vigil records its own.
    expect(await byId('8d9e0f1a-2b3c-4d4e-9f6a-7b8c9d0e1f2a')).toMatchObject({ action: 'login', resourceType: 'token', statusCode: 401, actor: { username: 'mallory', id: null } });
    // Secrets keep only their flag.
    expect((await byId('9e0f1a2b-3c4d-4e5f-8a7b-8c9d0e1f2a3b')).diff).toEqual({ hashed_secret: { secret: true }, expires_at: { old: null, new: '2026-03-05T09:00:00Z', secret: false } });
    expect((await byId('2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6f')).diff.jwt).toEqual({ secret: true });
    expect(await byId('3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e70')).toMatchObject({ action: 'create', resourceType: 'user', metadata: { coder_action: 'register' } });
    expect(await byId('5e6f7a8b-9c0d-4e1f-8a2b-4c5d6e7f8a93')).toMatchObject({ action: 'write', resourceType: 'user', metadata: { coder_resource_type: 'organization_member' } });
    await expect(byId('6b7c8d9e-0f1a-4b2c-9d4e-5f6a7b8c9d0e')).rejects.toThrow(/no event/);

    // Oldest first: seq follows Coder's time.
    const seqs = imported.sort((a, b) => a.time.localeCompare(b.time)).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The import is itself on record.
    expect(page.items[0]).toMatchObject({ action: 'write', resourceType: 'audit_log', metadata: { import: 'coder', imported: 13, duplicates: 0 } });
  });

  it('importing the same file again stores nothing twice, and the chain verifies', async () => {
    const lines = await runCli(['import', 'coder', FIXTURE], database.db);
    expect(lines[0]).toContain('imported 0, already stored 13, skipped 3');
    const page = await listEvents(database.db, { q: '', limit: 200 }, undefined);
    expect(page.items.filter((e) => e.metadata.source === 'coder')).toHaveLength(13);
    expect(await verifyChain(database.db, { trusted: [generateSigner()] })).toMatchObject({ ok: true });
  });

  it('a file that is not Coder audit logs is a clear error', async () => {
    await expect(runCli(['import', 'coder', path.join(path.dirname(FIXTURE), '..', 'export.test.ts')], database.db)).rejects.toThrow(/JSON|not Coder audit logs/);
  });
});

describe('import coder from the command line', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  it('npm run vigil -- import coder FILE prints the summary', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-import-'));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'import', 'coder', FIXTURE, '--create'], {
      env: { ...process.env, VIGIL_DATA_DIR: dataDir, DATABASE_URL: '' },
    });
    expect(stdout).toContain('imported 13, already stored 0, skipped 3');
  });
});

describe('the Coder mapping', () => {
  it('maps every resource type it names to a Vigil type', () => {
    for (const type of Object.values(RESOURCE_TYPE_MAP)) expect(RESOURCE_TYPES).toContain(type);
  });
  it('skips an unknown action with its name', () => {
    expect(mapCoderLog({ id: 'x', time: '2026-01-01T00:00:00Z', action: 'teleport', resource_type: 'workspace' })).toEqual({ ok: false, reason: 'unknown action teleport' });
  });
});
