// Authentication: bearer tokens, login and logout, and the first site manager.
// Tokens are 256 random bits shown once; only their SHA-256 is stored. Every login
// attempt that is checked is an audit event; attempts the throttle refuses are counted into
// one event per username and window.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { Role } from '../../shared/identity.js';
import {
  insertApiToken,
  revokeToken,
  selectTokenByHash,
  touchToken,
} from '../db/apiTokensStore.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import type { ApiTokenRow, UserRow } from '../db/schema.js';
import { countUsers, insertUser, selectUserByUsername } from '../db/usersStore.js';
import { BOOTSTRAP_TOKEN_CALLER, cliCaller, requestFields, type Caller, type RequestInfo } from './caller.js';
import { auditedTransaction, recordEvents, type AuditedTransaction, type Clock } from './events.js';
import type { LoginThrottle, ThrottledLogins } from './loginThrottle.js';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from './passwords.js';

export const SESSION_TTL_MS = 7 * 86_400_000;
/** last_used_at is written at most this often per token. */
const TOUCH_GRANULARITY_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return `vgl_${randomBytes(32).toString('base64url')}`;
}

export interface AuthConfig {
  /** VIGIL_ADMIN_TOKEN, kept only as its hash. */
  adminTokenHash?: string | undefined;
  /** The local CLI credential of this process (server/services/cliCredential.ts), kept only as its hash. */
  cliCredentialHash?: string | undefined;
}

/** What a token grants: who is calling, and until when (null: no expiry). */
export interface Grant {
  caller: Caller;
  expiresAt: Date | null;
}

/** The caller a bearer token stands for, or null (unknown, expired, revoked, disabled). */
export async function authenticateToken(
  db: Database,
  token: string,
  config: AuthConfig,
  now: Date,
): Promise<Caller | null> {
  return (await authenticateTokenHash(db, hashToken(token), config, now))?.caller ?? null;
}

/** authenticateToken by the token's hash, with the grant's expiry. */
export async function authenticateTokenHash(
  db: Database,
  tokenHash: string,
  config: AuthConfig,
  now: Date,
): Promise<Grant | null> {
  const fixed = fixedGrant(tokenHash, config);
  if (fixed) return fixed;
  const found = await selectTokenByHash(db, tokenHash);
  const grant = found ? grantOf(found, now) : null;
  if (grant) await touchToken(db, found!.token.id, now, TOUCH_GRANULARITY_MS);
  return grant;
}

const sameHash = (a: string, b: string | undefined) => Boolean(b && timingSafeEqual(Buffer.from(a), Buffer.from(b)));

/**
 * The grant of a token fixed for the life of the process, with no row: VIGIL_ADMIN_TOKEN
 * and the local CLI credential. null for any other token.
 */
export function fixedGrant(tokenHash: string, config: AuthConfig): Grant | null {
  if (sameHash(tokenHash, config.adminTokenHash)) return { caller: BOOTSTRAP_TOKEN_CALLER, expiresAt: null };
  if (sameHash(tokenHash, config.cliCredentialHash)) return { caller: cliCaller(), expiresAt: null };
  return null;
}

/** What a stored token (with its user, for sessions) grants at `now`, or null. */
export function grantOf(found: { token: ApiTokenRow; user: UserRow | null }, now: Date): Grant | null {
  const { token: row, user } = found;
  if (row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return null;
  if (row.kind === 'session' && (!user || user.disabledAt)) return null;
  const caller: Caller =
    row.kind === 'service'
      ? { kind: 'service', tokenId: row.id, name: row.name, scopes: row.scopes }
      : { kind: 'user', userId: user!.id, username: user!.username, email: user!.email, role: user!.role, tokenId: row.id };
  return { caller, expiresAt: row.expiresAt };
}

/** Reads `Authorization: Bearer <token>`; anything else is anonymous. The scheme name is
 * case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are the same scheme. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: { id: string; username: string; email: string | null; role: Role };
}

type LoginOutcome = 'ok' | 'unknown_user' | 'wrong_password' | 'disabled' | 'throttled';

const STATUS_OF: Record<LoginOutcome, number> = {
  ok: 200,
  unknown_user: 401,
  wrong_password: 401,
  disabled: 401,
  throttled: 429,
};

export async function login(
  db: Database,
  events: EventWriter,
  input: { username: string; password: string },
  request: RequestInfo,
  throttle: LoginThrottle,
  clock: Clock,
): Promise<LoginResult> {
  const ip = request.ip ?? 'unknown';
  const record = (outcome: LoginOutcome, target: EventWriter | AuditedTransaction, user?: { id: string; username: string; email: string | null }) =>
    recordEvents(
      target,
      [
        {
          action: 'login',
          resourceType: 'user',
          resourceTarget: user?.username ?? input.username,
          ...(user ? { resourceId: user.id } : {}),
          actor: user
            ? { id: user.id, username: user.username, ...(user.email ? { email: user.email } : {}) }
            : { username: input.username },
          statusCode: STATUS_OF[outcome],
          ...requestFields(request),
          metadata: { outcome },
        },
      ],
      clock,
    );

  const { refuseMs, delayMs } = await throttle.admit(input.username, ip);
  if (refuseMs > 0) {
    // Counted into one event per username and window (recordThrottledLogins), not a row each.
    throttle.noteRefused(input.username, request.ip);
    throw new TRPCError({
      code: 'TOO_MANY_REQUESTS',
      message: `too many failed logins; try again in ${Math.ceil(refuseMs / 1000)} s`,
    });
  }
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));

  const user = await selectUserByUsername(db, input.username);
  const passwordOk = await verifyPassword(input.password, user?.passwordHash ?? UNKNOWN_USER_HASH);
  const outcome: LoginOutcome = !user ? 'unknown_user' : !passwordOk ? 'wrong_password' : user.disabledAt ? 'disabled' : 'ok';
  if (outcome !== 'ok' || !user) {
    await throttle.recordFailure(input.username, ip);
    await record(outcome, events, user);
    // One message for every failure: which part was wrong is for the audit log only.
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'wrong username or password' });
  }

  await throttle.recordSuccess(input.username, ip);
  const token = generateToken();
  const expiresAt = new Date(clock().getTime() + SESSION_TTL_MS);
  await auditedTransaction(events, async (audited) => {
    const tx = audited.db;
    await insertApiToken(tx, {
      id: randomUUID(),
      kind: 'session',
      tokenHash: hashToken(token),
      userId: user.id,
      name: `session of ${user.username}`,
      scopes: [],
      expiresAt,
    });
    await record('ok', audited, user);
  });
  return {
    token,
    expiresAt: expiresAt.toISOString(),
    user: { id: user.id, username: user.username, email: user.email, role: user.role },
  };
}

/** One event for the login attempts on a username the throttle refused within a window. */
export async function recordThrottledLogins(events: EventWriter, window: ThrottledLogins): Promise<void> {
  await recordEvents(events, [
    {
      action: 'login',
      resourceType: 'user',
      resourceTarget: window.username,
      actor: { username: window.username },
      statusCode: STATUS_OF.throttled,
      time: window.firstAt.toISOString(),
      ...(window.addresses[0] ? { ip: window.addresses[0] } : {}),
      metadata: {
        outcome: 'throttled',
        attempts: window.attempts,
        addresses: window.addresses,
        addressCount: window.addressCount,
        firstAt: window.firstAt.toISOString(),
        lastAt: window.lastAt.toISOString(),
      },
    },
  ]);
}

/** Ends the caller's session; other sessions and service tokens are untouched. */
export async function logout(db: Database, caller: Caller, clock: Clock): Promise<{ loggedOut: boolean }> {
  if (caller.kind !== 'user' || !caller.tokenId) return { loggedOut: false };
  return { loggedOut: Boolean(await revokeToken(db, caller.tokenId, clock())) };
}

/**
 * On first start (no users at all) creates the site manager `admin`. Answers the
 * password when one was generated, so the caller can print it once.
 */
export async function ensureFirstSiteManager(
  db: Database,
  events: EventWriter,
  options: { password?: string | undefined },
): Promise<{ created: false } | { created: true; username: string; generatedPassword?: string }> {
  if ((await countUsers(db)) > 0) return { created: false };
  const generated = options.password ? undefined : randomBytes(12).toString('base64url');
  const password = options.password ?? generated!;
  const user = await insertUser(db, {
    id: randomUUID(),
    username: 'admin',
    email: null,
    role: 'site_manager',
    passwordHash: await hashPassword(password),
  });
  if (!user) return { created: false };
  await recordEvents(events, [
    {
      action: 'create',
      resourceType: 'user',
      resourceTarget: 'admin',
      resourceId: user.id,
      diff: { username: { new: 'admin' }, role: { new: 'site_manager' }, password: { secret: true } },
      metadata: { reason: 'first start' },
    },
  ]);
  return { created: true, username: 'admin', ...(generated ? { generatedPassword: generated } : {}) };
}
