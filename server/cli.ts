// `npm run vigil -- <command>`: administration from a shell, on the server's database
// (commands in COMMANDS below; `--help` lists them). Changes are audited like the API's,
// with the actor `cli:<os user>`.
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ROLES, TOKEN_SCOPES, type Role, type TokenScope } from '../shared/identity.js';
import { loadConfig, logLevelFromEnv } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { EventWriter } from './db/eventWriter.js';
import { restrictNewFiles } from './fileModes.js';
import { auditLineLogger, logger } from './logger.js';
import { selectUserByUsername } from './db/usersStore.js';
import type { Caller } from './services/caller.js';
import { verifyChain } from './services/integrity.js';
import { recordEvents } from './services/events.js';
import { actorOf } from './services/caller.js';
import { describeSummary, importCoderLogs, readCoderFile } from './tools/importCoder.js';
import { loadSigner, type Signer } from './services/signingKey.js';
import { PASSWORD_LIMITS } from './services/passwords.js';
import { createServiceToken, listServiceTokens, revokeServiceToken } from './services/tokens.js';
import { createUser, listUsers, setUserPassword } from './services/users.js';

/** Every command with its synopsis: `--help` and the usage message are made from this list. */
const COMMANDS: { words: string[]; synopsis: string; does: string }[] = [
  { words: ['user', 'add'], synopsis: `user add <username> --role ${ROLES.join('|')} [--email E] [--password P]`, does: 'create a user (a generated password is printed once)' },
  { words: ['user', 'password'], synopsis: 'user password <username> [--password P]', does: "set a user's password and end their sessions" },
  { words: ['user', 'list'], synopsis: 'user list', does: 'list users' },
  { words: ['token', 'create'], synopsis: `token create <name> [--scopes ${TOKEN_SCOPES.join(',')}] [--expires-days N]`, does: 'create a service token (printed once)' },
  { words: ['token', 'list'], synopsis: 'token list', does: 'list service tokens' },
  { words: ['token', 'revoke'], synopsis: 'token revoke <id>', does: 'revoke a service token' },
  { words: ['verify'], synopsis: 'verify', does: 'walk the hash chain and check every signed checkpoint' },
  { words: ['import', 'coder'], synopsis: 'import coder FILE...', does: 'record Coder v2 audit logs (ids kept)' },
];

const GLOBAL_OPTIONS = [
  '  --create     on the embedded database: create one if the data directory holds none',
  '  --verbose    also print the JSON log lines (as does setting LOG_LEVEL)',
  '  -h, --help   this help (after a command: that command\'s help)',
];

/** Usage of the commands that start with `words` (all of them when none matches). */
export function usageOf(words: string[] = []): string {
  const matching = COMMANDS.filter((c) => words.length > 0 && words.every((w, i) => c.words[i] === w));
  const shown = matching.length ? matching : COMMANDS;
  const width = Math.max(...shown.map((c) => c.synopsis.length));
  return [
    'usage: npm run vigil -- <command> [options]',
    ...shown.map((c) => `  ${c.synopsis.padEnd(width)}  ${c.does}`),
    'options:',
    ...GLOBAL_OPTIONS,
  ].join('\n');
}

export const USAGE = usageOf();

export class CliError extends Error {}

/** The command line's words and options; a malformed one is a CliError naming the option. */
export function parseCommand(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        email: { type: 'string' },
        password: { type: 'string' },
        scopes: { type: 'string' },
        'expires-days': { type: 'string' },
        create: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`);
  }
}

function generatedPassword(): string {
  return randomBytes(12).toString('base64url');
}

export interface CliOptions {
  /** The key whose checkpoints `verify` trusts. */
  signer?: Signer;
  /** Show a progress bar on stderr (a terminal). */
  progress?: boolean;
}

/** Runs one command against an open database; returns the lines to print. */
export async function runCli(argv: string[], db: Database, options: CliOptions = {}): Promise<string[]> {
  const { values, positionals } = parseCommand(argv);
  if (values.help) return [usageOf(positionals)];
  const caller: Caller = {
    kind: 'user',
    userId: null,
    username: `cli:${os.userInfo().username}`,
    email: null,
    role: 'site_manager',
    tokenId: null,
  };
  // The CLI's one writer of audit events (a process of its own beside any server).
  const events = new EventWriter(db);
  const ctx = { db, events, caller, request: { ip: null, userAgent: 'vigil-cli' }, clock: () => new Date() };
  const [noun, verb, arg] = positionals;

  if (noun === 'user' && verb === 'add' && arg) {
    const role = values.role as Role | undefined;
    if (!role || !ROLES.includes(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
    const password = values.password ?? generatedPassword();
    if (password.length < PASSWORD_LIMITS.min) throw new CliError(`--password needs at least ${PASSWORD_LIMITS.min} characters`);
    const user = await createUser(ctx, { username: arg, role, password, ...(values.email ? { email: values.email } : {}) });
    return [
      `created ${user.role} ${user.username} (${user.id})`,
      ...(values.password ? [] : [`password (shown once): ${password}`]),
    ];
  }
  if (noun === 'user' && verb === 'password' && arg) {
    const user = await selectUserByUsername(db, arg);
    if (!user) throw new CliError(`no user ${arg}`);
    const password = values.password ?? generatedPassword();
    if (password.length < PASSWORD_LIMITS.min) throw new CliError(`--password needs at least ${PASSWORD_LIMITS.min} characters`);
    await setUserPassword(ctx, { id: user.id, password });
    return [`password of ${user.username} changed`, ...(values.password ? [] : [`password (shown once): ${password}`])];
  }
  if (noun === 'user' && verb === 'list') {
    return (await listUsers(db)).map((u) => `${u.username}\t${u.role}${u.disabled ? '\tdisabled' : ''}\t${u.email ?? ''}`);
  }
  if (noun === 'token' && verb === 'create' && arg) {
    const scopes = (values.scopes ?? 'events:write').split(',').map((s) => s.trim()) as TokenScope[];
    const unknown = scopes.filter((s) => !TOKEN_SCOPES.includes(s));
    if (unknown.length) throw new CliError(`unknown scope ${unknown.join(', ')}; valid scopes: ${TOKEN_SCOPES.join(', ')}`);
    if (!scopes.includes('events:write')) throw new CliError('a service token records events: include events:write');
    const days = values['expires-days'] === undefined ? undefined : Number(values['expires-days']);
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
      throw new CliError('--expires-days must be a whole number from 1 to 3650');
    }
    const token = await createServiceToken(ctx, { name: arg, scopes, expiresInDays: days });
    return [
      `created service token ${token.name} (${token.id}) scopes ${token.scopes.join(',')}${token.expiresAt ? ` expires ${token.expiresAt}` : ''}`,
      `token (shown once): ${token.token}`,
    ];
  }
  if (noun === 'token' && verb === 'list') {
    return (await listServiceTokens(db)).map(
      (t) => `${t.id}\t${t.name}\t${t.scopes.join(',')}\t${t.revokedAt ? 'revoked' : t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry'}`,
    );
  }
  if (noun === 'token' && verb === 'revoke' && arg) {
    const token = await revokeServiceToken(ctx, { id: arg });
    return [`revoked ${token.name} (${token.id})`];
  }
  if (noun === 'verify' && !verb) {
    if (!options.signer) throw new CliError('verify needs the signing key (VIGIL_SIGNING_KEY or the data directory)');
    const bar = options.progress
      ? new cliProgress.SingleBar(
          { format: 'verifying [{bar}] {percentage}% | {value}/{total} events | {speed} events/s', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : null;
    const started = performance.now();
    let barStarted = false;
    const report = await verifyChain(db, {
      trusted: [options.signer],
      onProgress: (checked, total) => {
        if (!bar) return;
        if (!barStarted) {
          bar.start(total, 0, { speed: 0 });
          barStarted = true;
        }
        bar.update(checked, { speed: Math.round(checked / ((performance.now() - started) / 1000)) });
      },
    });
    bar?.stop();
    const summary = `checked ${report.checked} events (seq ${report.fromSeq + 1}..${report.toSeq ?? report.fromSeq}) and ${report.checkpointsVerified} checkpoints in ${(report.durationMs / 1000).toFixed(1)} s (${report.eventsPerSecond} events/s)`;
    if (report.ok) return [`ok: ${summary}`];
    throw new CliError(`FAILED at seq ${report.firstBad!.seq} (${report.firstBad!.problem}): ${report.firstBad!.message}\n${summary}`);
  }
  if (noun === 'import' && verb === 'coder' && arg) {
    const lines: string[] = [];
    for (const file of positionals.slice(2)) {
      let logs;
      try {
        logs = await readCoderFile(file);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const bar = options.progress
        ? new cliProgress.SingleBar(
            { format: `importing ${path.basename(file)} [{bar}] {percentage}% | {value}/{total} logs`, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : null;
      bar?.start(logs.length, 0);
      const summary = await importCoderLogs(events, file, logs, { onProgress: (done) => bar?.update(done) });
      bar?.stop();
      // The import itself is on record, like every other change made from the CLI.
      await recordEvents(events, [
        {
          action: 'write',
          resourceType: 'audit_log',
          resourceTarget: 'audit_events',
          actor: actorOf(caller),
          userAgent: 'vigil-cli',
          metadata: { import: 'coder', file: summary.file, read: summary.read, imported: summary.imported, duplicates: summary.duplicates, skipped: summary.skipped },
        },
      ]);
      lines.push(describeSummary(summary));
    }
    return lines;
  }
  throw new CliError(usageOf(positionals));
}

/**
 * Whether `dataDir` holds an embedded database. The CLI never creates one unasked: pointed at
 * the wrong directory it would otherwise make a new, empty database the server never reads.
 */
export async function holdsEmbeddedDatabase(dataDir: string): Promise<boolean> {
  return access(path.join(dataDir, 'pgdata', 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

async function main(): Promise<number> {
  let command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    console.error(`vigil: ${(error as Error).message}`);
    return 1;
  }
  if (command.values.help) {
    console.log(usageOf(command.positionals));
    return 0;
  }
  // The CLI's output is its answer; the process log (one JSON line per audited change) only when asked.
  if (!command.values.verbose && !logLevelFromEnv()) {
    logger.level = 'silent';
    auditLineLogger.level = 'silent';
  }
  restrictNewFiles();
  const config = loadConfig();
  if (!config.databaseUrl && !command.values.create && !(await holdsEmbeddedDatabase(config.dataDir))) {
    console.error(
      `vigil: no Vigil database in ${config.dataDir}; set VIGIL_DATA_DIR to the server's data directory ` +
        '(or DATABASE_URL to its Postgres), or pass --create to create a new, empty database there',
    );
    return 2;
  }
  let database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeouts: config.databaseTimeouts });
  } catch (error) {
    console.error(`vigil: ${(error as Error).message}`);
    return 2;
  }
  try {
    const signer = await loadSigner({ pem: config.signingKeyPem, dataDir: config.dataDir });
    const lines = await runCli(process.argv.slice(2), database.db, { signer, progress: process.stderr.isTTY });
    for (const line of lines) console.log(line);
    return 0;
  } catch (error) {
    const message = error instanceof CliError ? error.message : `${(error as Error).message}`;
    console.error(`vigil: ${message}`);
    return 1;
  } finally {
    await database.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
