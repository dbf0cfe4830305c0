// Managing users. Each change and its audit event are written in one transaction: a
// change that cannot be audited does not happen.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { DiffEntry } from '../../shared/event.js';
import type { Role } from '../../shared/identity.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import type { UserRow } from '../db/schema.js';
import { revokeSessionsOfUser } from '../db/apiTokensStore.js';
import { insertUser, lockActiveSiteManagers, selectAllUsers, selectUserById, updateUser } from '../db/usersStore.js';
import { actorOf, BOOTSTRAP_TOKEN_USERNAME, requestFields, type Caller, type RequestInfo } from './caller.js';
import { auditedTransaction, recordEvents, type AuditedTransaction, type Clock } from './events.js';
import { hashPassword } from './passwords.js';

export interface PublicUser {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  disabled: boolean;
  createdAt: string;
}

function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    role: row.role,
    disabled: row.disabledAt !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

interface AuditContext {
  db: Database;
  /** The process's event writer (built in server/app.ts). */
  events: EventWriter;
  caller: Caller;
  request: RequestInfo;
  clock: Clock;
}

async function recordUserEvent(
  tx: AuditedTransaction,
  ctx: AuditContext,
  action: 'create' | 'write',
  user: UserRow,
  diff: Record<string, DiffEntry>,
  metadata?: Record<string, unknown>,
): Promise<void> {
  await recordEvents(
    tx,
    [
      {
        action,
        resourceType: 'user',
        resourceTarget: user.username,
        resourceId: user.id,
        actor: actorOf(ctx.caller),
        ...requestFields(ctx.request),
        diff,
        ...(metadata ? { metadata } : {}),
      },
    ],
    ctx.clock,
  );
}

export async function listUsers(db: Database): Promise<PublicUser[]> {
  return (await selectAllUsers(db)).map(toPublicUser);
}

export async function createUser(
  ctx: AuditContext,
  input: { username: string; email?: string | undefined; role: Role; password: string },
): Promise<PublicUser> {
  if (input.username.toLowerCase() === BOOTSTRAP_TOKEN_USERNAME) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `username: ${BOOTSTRAP_TOKEN_USERNAME} is reserved for VIGIL_ADMIN_TOKEN` });
  }
  const passwordHash = await hashPassword(input.password);
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    const user = await insertUser(tx, {
      id: randomUUID(),
      username: input.username,
      email: input.email ?? null,
      role: input.role,
      passwordHash,
    });
    if (!user) throw new TRPCError({ code: 'CONFLICT', message: `username: ${input.username} is taken` });
    await recordUserEvent(audited, ctx, 'create', user, {
      username: { new: user.username },
      email: { new: user.email },
      role: { new: user.role },
      password: { secret: true },
    });
    return toPublicUser(user);
  });
}

async function loadUser(db: Database, id: string): Promise<UserRow> {
  const user = await selectUserById(db, id);
  if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `id: no user ${id}` });
  return user;
}

/**
 * Refuses a change that would leave no active site manager (nobody could manage Vigil).
 * Called before the user is read: the lock makes concurrent removals take turns, so the
 * user and the count read after it are current.
 */
async function keepASiteManager(tx: Database, id: string): Promise<void> {
  const managers = await lockActiveSiteManagers(tx);
  if (managers.includes(id) && managers.length <= 1) {
    const user = await loadUser(tx, id);
    throw new TRPCError({ code: 'BAD_REQUEST', message: `id: ${user.username} is the last active site manager` });
  }
}

export async function setUserRole(ctx: AuditContext, input: { id: string; role: Role }): Promise<PublicUser> {
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    if (input.role !== 'site_manager') await keepASiteManager(tx, input.id);
    const user = await loadUser(tx, input.id);
    if (user.role === input.role) return toPublicUser(user);
    const updated = (await updateUser(tx, user.id, { role: input.role }))!;
    await recordUserEvent(audited, ctx, 'write', updated, { role: { old: user.role, new: input.role } });
    return toPublicUser(updated);
  });
}

export async function setUserDisabled(ctx: AuditContext, input: { id: string; disabled: boolean }): Promise<PublicUser> {
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    if (input.disabled) await keepASiteManager(tx, input.id);
    const user = await loadUser(tx, input.id);
    if ((user.disabledAt !== null) === input.disabled) return toPublicUser(user);
    const updated = (await updateUser(tx, user.id, { disabledAt: input.disabled ? ctx.clock() : null }))!;
    await recordUserEvent(audited, ctx, 'write', updated, { disabled: { old: !input.disabled, new: input.disabled } });
    return toPublicUser(updated);
  });
}

/**
 * A new password ends the user's sessions (whoever knew the old one is logged out), in the
 * same transaction; the caller's own session stays when users change their own password.
 */
export async function setUserPassword(ctx: AuditContext, input: { id: string; password: string }): Promise<PublicUser> {
  const passwordHash = await hashPassword(input.password);
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    const user = await loadUser(tx, input.id);
    const updated = (await updateUser(tx, user.id, { passwordHash }))!;
    const ownSession = ctx.caller.kind === 'user' && ctx.caller.userId === user.id ? ctx.caller.tokenId : null;
    const sessionsEnded = await revokeSessionsOfUser(tx, user.id, ctx.clock(), ownSession);
    await recordUserEvent(audited, ctx, 'write', updated, { password: { secret: true } }, { sessionsEnded });
    return toPublicUser(updated);
  });
}
