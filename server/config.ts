// Configuration from the environment, read once at start-up. Every knob is listed here.
// It imports no server module at run time, so any of them (the logger too) may import it.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseTimeouts } from './db/database.js';

export interface ServerConfig {
  port: number;
  host: string;
  /** Set: a real Postgres through postgres.js. Unset: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** A site manager's bearer token for automation (a bootstrap: it works before any user or service token exists). */
  adminToken: string | undefined;
  /** The first site manager's password on first start (generated when unset). */
  adminPassword: string | undefined;
  /** Largest request body accepted, in bytes (a batch of 1000 full events fits). */
  maxBodyBytes: number;
  /** Web origins allowed by CORS besides browser extensions. */
  corsOrigins: string[];
  /** Chrome extension ids allowed besides the server's own package (VIGIL_EXTENSION_IDS). */
  extensionIds: string[];
  /** Express `trust proxy` (VIGIL_TRUST_PROXY), for the client ip behind a load balancer. */
  trustProxy: boolean | string | number | undefined;
  /** Ed25519 private key (PKCS#8 PEM) signing checkpoints; generated into dataDir when unset. */
  signingKeyPem: string | undefined;
  /** 32-byte AES key (base64 or hex) encrypting secret settings; generated into dataDir when unset. */
  secretsKey: string | undefined;
  /** Minutes between scheduled checkpoints of the chain head (0: none). */
  checkpointMinutes: number;
  /** Events recorded longer ago than this are removed (unset: kept for ever). */
  retentionDays: number | undefined;
  /** Bearer token GET /metrics requires (unset: open, like most Prometheus endpoints). */
  metricsToken: string | undefined;
  /** RSA private key (PEM) signing the served CRX3; generated into dataDir when unset. */
  extensionKeyPem: string | undefined;
  /** The extension build the server serves (`vite build` output, holding chrome/ and firefox/). */
  extensionDir: string;
  /** This server's address as browsers reach it, for the update manifest and policies (default: the request's). */
  publicUrl: string | undefined;
  /** VIGIL_SINKS: sinks applied at start-up, by name (validated in server/services/sinkConfig.ts). */
  sinks: string | undefined;
  /** Seconds a sink's delivery lease lasts: how soon another replica takes over from one that died. */
  sinkLeaseSeconds: number;
  /** How long a request may wait on Postgres (statement, lock, connect). */
  databaseTimeouts: DatabaseTimeouts;
  /** SIGTERM/SIGINT: the process exits within this, finished or not. */
  shutdownTimeoutMs: number;
  /** The verifiable log's name on its checkpoints and note key (VIGIL_LOG_ORIGIN). */
  logOrigin: string;
  /** Least milliseconds between two signed tree heads while the tree grows (VIGIL_TREE_HEAD_MS). */
  treeHeadMs: number;
  /** GET /checkpoint without a token (VIGIL_PUBLIC_CHECKPOINT=1). */
  publicCheckpoint: boolean;
}

/** The time-outs' defaults (also what the test databases use). */
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { statementMs: 15_000, lockMs: 5_000, connectMs: 5_000 };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The log's name on its checkpoints and its note key: VIGIL_LOG_ORIGIN, else from the host name. */
export function defaultLogOrigin(hostname: string = os.hostname()): string {
  const host = hostname.toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'localhost';
  return `${host}/vigil`;
}

/** LOG_LEVEL: the process log's level (pino's names), when set. The logger reads it as it is created. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.LOG_LEVEL || undefined;
}

/** Where the demo tool (server/tools/demo.ts) sends events: VIGIL_URL, and VIGIL_TOKEN or else VIGIL_ADMIN_TOKEN. */
export function demoTargetFromEnv(env: NodeJS.ProcessEnv = process.env): { url: string | undefined; token: string | undefined } {
  return { url: env.VIGIL_URL || undefined, token: env.VIGIL_TOKEN || env.VIGIL_ADMIN_TOKEN || undefined };
}

function publicUrlFromEnv(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`VIGIL_PUBLIC_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`VIGIL_PUBLIC_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function extensionIdsFromEnv(raw: string | undefined): string[] {
  const ids = (raw ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  const bad = ids.find((id) => !/^[a-p]{32}$/.test(id));
  if (bad) throw new Error(`VIGIL_EXTENSION_IDS must list Chrome extension ids (32 letters a-p), got ${JSON.stringify(bad)}`);
  return ids;
}

function trustProxyFromEnv(raw: string | undefined): ServerConfig['trustProxy'] {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return {
    port: intFromEnv(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.VIGIL_DATA_DIR || './data'),
    adminToken: env.VIGIL_ADMIN_TOKEN || undefined,
    adminPassword: env.VIGIL_ADMIN_PASSWORD || undefined,
    maxBodyBytes: intFromEnv(env, 'VIGIL_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    extensionIds: extensionIdsFromEnv(env.VIGIL_EXTENSION_IDS),
    corsOrigins: (env.VIGIL_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    trustProxy: trustProxyFromEnv(env.VIGIL_TRUST_PROXY),
    signingKeyPem: env.VIGIL_SIGNING_KEY || undefined,
    secretsKey: env.VIGIL_SECRETS_KEY || undefined,
    checkpointMinutes: intFromEnv(env, 'VIGIL_CHECKPOINT_MINUTES', 10, 0, 7 * 24 * 60),
    metricsToken: env.VIGIL_METRICS_TOKEN || undefined,
    extensionKeyPem: env.VIGIL_EXTENSION_KEY || undefined,
    extensionDir: path.resolve(env.VIGIL_EXTENSION_DIR || path.join(repoRoot, 'dist')),
    publicUrl: publicUrlFromEnv(env.VIGIL_PUBLIC_URL),
    sinks: env.VIGIL_SINKS || undefined,
    sinkLeaseSeconds: intFromEnv(env, 'VIGIL_SINK_LEASE_SECONDS', 15, 2, 3600),
    retentionDays: env.VIGIL_RETENTION_DAYS ? intFromEnv(env, 'VIGIL_RETENTION_DAYS', 0, 1, 36_500) : undefined,
    databaseTimeouts: {
      statementMs: intFromEnv(env, 'VIGIL_DB_STATEMENT_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.statementMs, 100, 3_600_000),
      lockMs: intFromEnv(env, 'VIGIL_DB_LOCK_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.lockMs, 10, 3_600_000),
      connectMs: intFromEnv(env, 'VIGIL_DB_CONNECT_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.connectMs, 100, 600_000),
    },
    shutdownTimeoutMs: intFromEnv(env, 'VIGIL_SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    logOrigin: env.VIGIL_LOG_ORIGIN || defaultLogOrigin(),
    treeHeadMs: intFromEnv(env, 'VIGIL_TREE_HEAD_MS', 1000, 100, 3_600_000),
    publicCheckpoint: env.VIGIL_PUBLIC_CHECKPOINT === '1',
  };
}
