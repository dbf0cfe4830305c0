// The one module that reads and writes the api_tokens table.
import { and, desc, eq, inArray, isNull, lt, ne, or } from 'drizzle-orm';
import type { TokenScope } from '../../shared/identity.js';
import type { Database } from './database.js';
import { apiTokens, users, type ApiTokenRow, type UserRow } from './schema.js';

/**
 * The NOTIFY channel that announces a change of rights (triggers on users and api_tokens,
 * migration 0008_access_changes): payload `token:<id>` or `user:<id>`.
 */
export const ACCESS_CHANNEL = 'vigil_access';

export interface NewApiToken {
  id: string;
  kind: 'session' | 'service';
  tokenHash: string;
  userId: string | null;
  name: string;
  scopes: TokenScope[];
  expiresAt: Date | null;
}

export async function insertApiToken(db: Database, token: NewApiToken): Promise<ApiTokenRow> {
  const [row] = await db.insert(apiTokens).values(token).returning();
  return row!;
}

/** A token by its hash, with its user (for sessions). */
export async function selectTokenByHash(
  db: Database,
  tokenHash: string,
): Promise<{ token: ApiTokenRow; user: UserRow | null } | undefined> {
  const [row] = await db
    .select({ token: apiTokens, user: users })
    .from(apiTokens)
    .leftJoin(users, eq(apiTokens.userId, users.id))
    .where(eq(apiTokens.tokenHash, tokenHash))
    .limit(1);
  return row;
}

/** Tokens by their hashes, with their users: one round trip for many open connections. */
export async function selectTokensByHashes(
  db: Database,
  tokenHashes: string[],
): Promise<{ token: ApiTokenRow; user: UserRow | null }[]> {
  if (tokenHashes.length === 0) return [];
  return db
    .select({ token: apiTokens, user: users })
    .from(apiTokens)
    .leftJoin(users, eq(apiTokens.userId, users.id))
    .where(inArray(apiTokens.tokenHash, tokenHashes));
}

export async function selectTokenById(db: Database, id: string): Promise<ApiTokenRow | undefined> {
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
  return row;
}

export async function selectServiceTokens(db: Database): Promise<ApiTokenRow[]> {
  return db.select().from(apiTokens).where(eq(apiTokens.kind, 'service')).orderBy(desc(apiTokens.createdAt));
}

export async function revokeToken(db: Database, id: string, at: Date): Promise<ApiTokenRow | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  return row;
}

/**
 * Revokes every live session of a user, except `keepId` (the caller's own session, when a
 * user's change comes from that user). Answers how many were ended.
 */
export async function revokeSessionsOfUser(db: Database, userId: string, at: Date, keepId: string | null): Promise<number> {
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(
      and(
        eq(apiTokens.userId, userId),
        eq(apiTokens.kind, 'session'),
        isNull(apiTokens.revokedAt),
        ...(keepId ? [ne(apiTokens.id, keepId)] : []),
      ),
    )
    .returning({ id: apiTokens.id });
  return rows.length;
}

/** Records use, at most once per `granularityMs`, so reads do not become writes. */
export async function touchToken(db: Database, id: string, at: Date, granularityMs: number): Promise<void> {
  await db
    .update(apiTokens)
    .set({ lastUsedAt: at })
    .where(
      and(
        eq(apiTokens.id, id),
        or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(at.getTime() - granularityMs))),
      ),
    );
}
