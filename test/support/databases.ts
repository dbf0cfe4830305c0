// The databases an integration suite runs on: embedded PGlite always, a real Postgres
// when TEST_DATABASE_URL is set (each suite gets a fresh database of its own). With
// VIGIL_REQUIRE_POSTGRES=1 (CI) a missing Postgres fails instead of being skipped.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { DEFAULT_DATABASE_TIMEOUTS } from '../../server/config.js';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';

export type BackendName = 'pglite' | 'postgres';

export interface TestDatabase extends DatabaseHandle {
  /** The connection URL of the fresh Postgres database (postgres only). */
  url?: string;
  /** The PGlite data directory (pglite only). */
  dataDir?: string;
  /** Closes and deletes the database. */
  destroy(): Promise<void>;
}

const postgresUrl = process.env.TEST_DATABASE_URL || undefined;
if (!postgresUrl && process.env.VIGIL_REQUIRE_POSTGRES === '1') {
  throw new Error('VIGIL_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: Postgres is required here');
}

export const BACKENDS: BackendName[] = postgresUrl ? ['pglite', 'postgres'] : ['pglite'];

export async function createPglite(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vigil-test-'));
  const handle = await openDatabase({ dataDir });
  return {
    ...handle,
    dataDir,
    async destroy() {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A brand-new Postgres database, migrated; dropped again by destroy(). */
export async function createPostgres(): Promise<TestDatabase> {
  if (!postgresUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `vigil_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), timeouts: DEFAULT_DATABASE_TIMEOUTS });
  return {
    ...handle,
    url: url.toString(),
    async destroy() {
      await handle.close();
      const dropper = postgres(postgresUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export function createTestDatabase(backend: BackendName): Promise<TestDatabase> {
  return backend === 'postgres' ? createPostgres() : createPglite();
}
