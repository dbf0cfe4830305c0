// Service tokens for internal apps: created (shown once), listed, revoked, each audited.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { TokenScope } from '../../shared/identity.js';
import { insertApiToken, revokeToken, selectServiceTokens, selectTokenById } from '../db/apiTokensStore.js';
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import type { ApiTokenRow } from '../db/schema.js';
import { generateToken, hashToken } from './auth.js';
import { actorOf, requestFields, type Caller, type RequestInfo } from './caller.js';
import { auditedTransaction, recordEvents, type Clock } from './events.js';

export interface PublicToken {
  id: string;
  name: string;
  scopes: TokenScope[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

function toPublicToken(row: ApiTokenRow): PublicToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
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

function tokenEvent(ctx: AuditContext, action: 'create' | 'write', row: ApiTokenRow, diff: Record<string, { old?: unknown; new?: unknown; secret?: boolean }>) {
  return {
    action,
    resourceType: 'token' as const,
    resourceTarget: row.name,
    resourceId: row.id,
    actor: actorOf(ctx.caller),
    ...requestFields(ctx.request),
    diff,
  };
}

export async function createServiceToken(
  ctx: AuditContext,
  input: { name: string; scopes: TokenScope[]; expiresInDays?: number | undefined },
): Promise<PublicToken & { token: string }> {
  const token = generateToken();
  const scopes = [...new Set(input.scopes)];
  const expiresAt = input.expiresInDays ? new Date(ctx.clock().getTime() + input.expiresInDays * 86_400_000) : null;
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    const row = await insertApiToken(tx, {
      id: randomUUID(),
      kind: 'service',
      tokenHash: hashToken(token),
      userId: null,
      name: input.name,
      scopes,
      expiresAt,
    });
    await recordEvents(
      audited,
      [
        tokenEvent(ctx, 'create', row, {
          name: { new: row.name },
          scopes: { new: scopes },
          expires_at: { new: row.expiresAt?.toISOString() ?? null },
          token: { secret: true },
        }),
      ],
      ctx.clock,
    );
    return { ...toPublicToken(row), token };
  });
}

export async function listServiceTokens(db: Database): Promise<PublicToken[]> {
  return (await selectServiceTokens(db)).map(toPublicToken);
}

export async function revokeServiceToken(ctx: AuditContext, input: { id: string }): Promise<PublicToken> {
  return auditedTransaction(ctx.events, async (audited) => {
    const tx = audited.db;
    const existing = await selectTokenById(tx, input.id);
    if (!existing || existing.kind !== 'service') throw new TRPCError({ code: 'NOT_FOUND', message: `id: no service token ${input.id}` });
    if (existing.revokedAt) return toPublicToken(existing);
    const revoked = (await revokeToken(tx, existing.id, ctx.clock()))!;
    await recordEvents(audited, [tokenEvent(ctx, 'write', revoked, { revoked: { old: false, new: true } })], ctx.clock);
    return toPublicToken(revoked);
  });
}
