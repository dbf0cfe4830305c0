// What the `vigil` commands do, in two places: on the database itself (Postgres, or an
// embedded database no server holds), or through the running server that holds the embedded
// database, with its local CLI credential (server/services/cliCredential.ts). The same
// services run either way and record the same audit events; through the server they are its
// procedures, so its checks and its one writer of events apply.
import type { ParsedEventInput } from '../../shared/event.js';
import { createVigilClient } from '../../shared/client.js';
import type { Role, TokenScope } from '../../shared/identity.js';
import type { Database } from '../db/database.js';
import { EventWriter } from '../db/eventWriter.js';
import { selectUserByUsername } from '../db/usersStore.js';
import { actorOf, cliCaller, type Caller } from '../services/caller.js';
import type { CliCredential } from '../services/cliCredential.js';
import { recordEvents } from '../services/events.js';
import { verifyChain, type VerifyReport } from '../services/integrity.js';
import type { Signer } from '../services/signingKey.js';
import { verifyTree, type TreeReport } from '../services/treeVerification.js';
import { createServiceToken, listServiceTokens, revokeServiceToken, type PublicToken } from '../services/tokens.js';
import { createUser, listUsers, setUserPassword, type PublicUser } from '../services/users.js';

/** The user agent recorded on the CLI's events. */
export const CLI_USER_AGENT = 'vigil-cli';

/** A command's failure the user can act on (printed as is, exit code 1). */
export class CliError extends Error {}

export interface CliOperations {
  /** How the commands reach the database, for messages ("through the server at ..."). */
  via: string;
  createUser(input: { username: string; email?: string; role: Role; password: string }): Promise<PublicUser>;
  setPassword(username: string, password: string): Promise<PublicUser>;
  listUsers(): Promise<PublicUser[]>;
  createToken(input: { name: string; scopes: TokenScope[]; expiresInDays?: number | undefined }): Promise<PublicToken & { token: string }>;
  listTokens(): Promise<PublicToken[]>;
  revokeToken(id: string): Promise<PublicToken>;
  /** Walks the hash chain; `onProgress` only where the walk is in this process. */
  verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport>;
  /** Holds the Merkle tree against the rows, and the latest signed head against the tree. */
  verifyTree(): Promise<TreeReport>;
  /** Records events (ids kept: a stored id is a duplicate). */
  record(events: ParsedEventInput[]): Promise<{ duplicate: boolean }[]>;
  /** Who the commands act as, for events the CLI itself records. */
  actor(): Promise<{ username: string; id?: string; email?: string }>;
  close(): Promise<void>;
}

/** On an open database, as the caller `cli:<os account>`; `signer` is the key `verify` trusts. */
export function databaseOperations(db: Database, options: { signer?: Signer | undefined } = {}): CliOperations {
  const caller: Caller = cliCaller();
  // The CLI's one writer of audit events (a process of its own beside any server on Postgres).
  const events = new EventWriter(db);
  const ctx = { db, events, caller, request: { ip: null, userAgent: CLI_USER_AGENT }, clock: () => new Date() };
  return {
    via: 'on the database',
    createUser: (input) => createUser(ctx, input),
    async setPassword(username, password) {
      const user = await selectUserByUsername(db, username);
      if (!user) throw new CliError(`no user ${username}`);
      return setUserPassword(ctx, { id: user.id, password });
    },
    listUsers: () => listUsers(db),
    createToken: (input) => createServiceToken(ctx, input),
    listTokens: () => listServiceTokens(db),
    revokeToken: (id) => revokeServiceToken(ctx, { id }),
    verify(onProgress) {
      if (!options.signer) throw new CliError('verify needs the signing key (VIGIL_SIGNING_KEY or the data directory)');
      return verifyChain(db, { trusted: [options.signer], ...(onProgress ? { onProgress } : {}) });
    },
    verifyTree() {
      if (!options.signer) throw new CliError('verify needs the signing key (VIGIL_SIGNING_KEY or the data directory)');
      return verifyTree(db, { signer: options.signer });
    },
    record: (batch) => recordEvents(events, batch),
    actor: async () => actorOf(caller),
    close: async () => {},
  };
}

/** Through the server a credential names, with the typed client. */
export function serverOperations(credential: CliCredential): CliOperations {
  const vigil = createVigilClient({
    url: credential.url,
    token: credential.token,
    // Every change is a procedure call of its own: none is retried behind the user's back.
    retry: { attempts: 0 },
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'user-agent': CLI_USER_AGENT } }),
  });
  return {
    via: `through the server at ${credential.url}`,
    createUser: (input) => vigil.users.create.mutate(input),
    async setPassword(username, password) {
      const user = (await vigil.users.list.query()).find((u) => u.username === username);
      if (!user) throw new CliError(`no user ${username}`);
      return vigil.users.setPassword.mutate({ id: user.id, password });
    },
    listUsers: () => vigil.users.list.query(),
    createToken: (input) => vigil.tokens.create.mutate(input),
    listTokens: () => vigil.tokens.list.query(),
    revokeToken: (id) => vigil.tokens.revoke.mutate({ id }),
    verify: () => vigil.integrity.verify.query(),
    verifyTree: () => vigil.integrity.verifyTree.query(),
    record: async (batch) => (await vigil.events.recordBatch.mutate({ events: batch })).events,
    async actor() {
      const me = await vigil.auth.me.query();
      return me.kind === 'user' ? { username: me.user.username } : { username: `service:${me.token.name}` };
    },
    close: () => vigil.close(),
  };
}
