// The one module that reads and writes the users table.
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import type { Role } from '../../shared/identity.js';
import type { Database } from './database.js';
import { users, type UserRow } from './schema.js';

export async function countUsers(db: Database): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

/**
 * Locks the active site managers' rows until the transaction ends and answers their ids.
 * Two transactions each removing a different site manager then run one after the other,
 * and the second sees the first's change: they cannot together remove the last one.
 */
export async function lockActiveSiteManagers(tx: Database): Promise<string[]> {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'site_manager'), isNull(users.disabledAt)))
    .orderBy(asc(users.id))
    .for('update');
  return rows.map((r) => r.id);
}

export async function selectUserByUsername(db: Database, username: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = ${username.toLowerCase()}`)
    .limit(1);
  return row;
}

export async function selectUserById(db: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function selectAllUsers(db: Database): Promise<UserRow[]> {
  return db.select().from(users).orderBy(asc(users.username));
}

export interface NewUser {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  passwordHash: string;
}

/** Inserts a user; answers undefined when the username is taken. */
export async function insertUser(db: Database, user: NewUser): Promise<UserRow | undefined> {
  const [row] = await db.insert(users).values(user).onConflictDoNothing().returning();
  return row;
}

export async function updateUser(
  db: Database,
  id: string,
  changes: Partial<Pick<UserRow, 'role' | 'email' | 'passwordHash' | 'disabledAt'>>,
): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({ ...changes, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning();
  return row;
}
