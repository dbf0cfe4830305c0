// `npm run vigil -- <command>`: administration from a shell, on the server's database
// (commands in COMMANDS below; `--help` lists them). Changes are audited like the API's,
// with the actor `cli:<os user>`. While a server holds the embedded database, the commands
// go through that server with the credential it left in the data directory
// (server/services/cliCredential.ts).
import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TRPCClientError } from '@trpc/client';
import cliProgress from 'cli-progress';
import { ROLES, TOKEN_SCOPES, type Role, type TokenScope } from '../shared/identity.js';
import { loadConfig, logLevelFromEnv } from './config.js';
import { DataDirInUseError, openDatabase, type Database, type DatabaseHandle } from './db/database.js';
import { restrictNewFiles } from './fileModes.js';
import { auditLineLogger, logger } from './logger.js';
import { verifyExportAgainstHead } from '../shared/exportAgainstHead.js';
import { cliCredentialPath, readCliCredential } from './services/cliCredential.js';
import { describeTreeReport } from './services/treeVerification.js';
import { PASSWORD_LIMITS } from './services/passwords.js';
import { loadSigner, type Signer } from './services/signingKey.js';
import { CLI_USER_AGENT, CliError, databaseOperations, serverOperations, type CliOperations } from './tools/cliOperations.js';
import { describeSummary, importCoderLogs, readCoderFile } from './tools/importCoder.js';

export { CliError };

/** Every command with its synopsis: `--help` and the usage message are made from this list. */
const COMMANDS: { words: string[]; synopsis: string; does: string }[] = [
  { words: ['user', 'add'], synopsis: `user add <username> --role ${ROLES.join('|')} [--email E] [--password P]`, does: 'create a user (a generated password is printed once)' },
  { words: ['user', 'password'], synopsis: 'user password <username> [--password P]', does: "set a user's password and end their sessions" },
  { words: ['user', 'list'], synopsis: 'user list', does: 'list users' },
  { words: ['token', 'create'], synopsis: `token create <name> [--scopes ${TOKEN_SCOPES.join(',')}] [--expires-days N]`, does: 'create a service token (printed once)' },
  { words: ['token', 'list'], synopsis: 'token list', does: 'list service tokens' },
  { words: ['token', 'revoke'], synopsis: 'token revoke <id>', does: 'revoke a service token' },
  { words: ['verify'], synopsis: 'verify', does: 'walk the hash chain, check every signed checkpoint, and hold the Merkle tree and its latest signed head against the events' },
  {
    words: ['verify-export'],
    synopsis: 'verify-export --export FILE --checkpoint NOTE (--key VERIFIER_KEY | --key-file FILE)',
    does: 'offline, no database: check an export (NDJSON or CSV, no query) against a signed tree head',
  },
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
        export: { type: 'string' },
        checkpoint: { type: 'string' },
        key: { type: 'string' },
        'key-file': { type: 'string' },
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
  /** The key whose checkpoints `verify` trusts (on the database; through a server, the server's). */
  signer?: Signer | undefined;
  /** Show a progress bar on stderr (a terminal). */
  progress?: boolean;
}

/** Runs one command on an open database; returns the lines to print. */
export async function runCli(argv: string[], db: Database, options: CliOptions = {}): Promise<string[]> {
  return runCommand(argv, databaseOperations(db, options), options);
}

/** Runs one command with `ops` (on the database, or through the running server); returns the lines to print. */
export async function runCommand(argv: string[], ops: CliOperations, options: CliOptions = {}): Promise<string[]> {
  const { values, positionals } = parseCommand(argv);
  if (values.help) return [usageOf(positionals)];
  const [noun, verb, arg] = positionals;

  if (noun === 'user' && verb === 'add' && arg) {
    const role = values.role as Role | undefined;
    if (!role || !ROLES.includes(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
    const password = values.password ?? generatedPassword();
    if (password.length < PASSWORD_LIMITS.min) throw new CliError(`--password needs at least ${PASSWORD_LIMITS.min} characters`);
    const user = await ops.createUser({ username: arg, role, password, ...(values.email ? { email: values.email } : {}) });
    return [
      `created ${user.role} ${user.username} (${user.id})`,
      ...(values.password ? [] : [`password (shown once): ${password}`]),
    ];
  }
  if (noun === 'user' && verb === 'password' && arg) {
    const password = values.password ?? generatedPassword();
    if (password.length < PASSWORD_LIMITS.min) throw new CliError(`--password needs at least ${PASSWORD_LIMITS.min} characters`);
    const user = await ops.setPassword(arg, password);
    return [`password of ${user.username} changed`, ...(values.password ? [] : [`password (shown once): ${password}`])];
  }
  if (noun === 'user' && verb === 'list') {
    return (await ops.listUsers()).map((u) => `${u.username}\t${u.role}${u.disabled ? '\tdisabled' : ''}\t${u.email ?? ''}`);
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
    const token = await ops.createToken({ name: arg, scopes, expiresInDays: days });
    return [
      `created service token ${token.name} (${token.id}) scopes ${token.scopes.join(',')}${token.expiresAt ? ` expires ${token.expiresAt}` : ''}`,
      `token (shown once): ${token.token}`,
    ];
  }
  if (noun === 'token' && verb === 'list') {
    return (await ops.listTokens()).map(
      (t) => `${t.id}\t${t.name}\t${t.scopes.join(',')}\t${t.revokedAt ? 'revoked' : t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry'}`,
    );
  }
  if (noun === 'token' && verb === 'revoke' && arg) {
    const token = await ops.revokeToken(arg);
    return [`revoked ${token.name} (${token.id})`];
  }
  if (noun === 'verify-export') return verifyExportCommand(argv);
  if (noun === 'verify' && !verb) {
    const bar = options.progress
      ? new cliProgress.SingleBar(
          { format: 'verifying [{bar}] {percentage}% | {value}/{total} events | {speed} events/s', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : null;
    const started = performance.now();
    let barStarted = false;
    const report = await ops.verify((checked, total) => {
      if (!bar) return;
      if (!barStarted) {
        bar.start(total, 0, { speed: 0 });
        barStarted = true;
      }
      bar.update(checked, { speed: Math.round(checked / ((performance.now() - started) / 1000)) });
    });
    bar?.stop();
    const summary = `checked ${report.checked} events (seq ${report.fromSeq + 1}..${report.toSeq ?? report.fromSeq}) and ${report.checkpointsVerified} checkpoints in ${(report.durationMs / 1000).toFixed(1)} s (${report.eventsPerSecond} events/s)`;
    const chain = report.ok ? `ok: ${summary}` : `FAILED at seq ${report.firstBad!.seq} (${report.firstBad!.problem}): ${report.firstBad!.message}\n${summary}`;
    // The Merkle tree against the same rows, and the latest signed head against the tree.
    const tree = await ops.verifyTree();
    const lines = [chain, ...describeTreeReport(tree)];
    if (report.ok && tree.ok) return lines;
    throw new CliError(lines.join('\n'));
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
      const summary = await importCoderLogs((batch) => ops.record(batch), file, logs, { onProgress: (done) => bar?.update(done) });
      bar?.stop();
      // The import itself is on record, like every other change made from the CLI.
      await ops.record([
        {
          action: 'write',
          resourceType: 'audit_log',
          resourceTarget: 'audit_events',
          actor: await ops.actor(),
          userAgent: CLI_USER_AGENT,
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
 * `verify-export`: an export against a signed tree head, from files alone (no database, no
 * server: what an auditor runs on a copy). The key is given apart from both files, e.g. the
 * verifier key a witness pinned.
 */
export async function verifyExportCommand(argv: string[]): Promise<string[]> {
  const { values } = parseCommand(argv);
  const missing = (['export', 'checkpoint'] as const).filter((name) => !values[name]);
  if (missing.length) throw new CliError(`verify-export needs --${missing.join(' and --')}\n${usageOf(['verify-export'])}`);
  if ((values.key === undefined) === (values['key-file'] === undefined)) {
    throw new CliError(`verify-export needs the verifier key: --key or --key-file (one of them)\n${usageOf(['verify-export'])}`);
  }
  const read = (option: string, file: string) =>
    readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`--${option} ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    });
  const note = await read('checkpoint', values.checkpoint!);
  const key = values.key ?? (await read('key-file', values['key-file']!)).trim();
  await access(values.export!).catch(() => {
    throw new CliError(`--export ${values.export}: no such file`);
  });
  const report = await verifyExportAgainstHead(values.export!, note, key);
  const what = `${report.events} events (${report.format ?? 'unreadable'}) against the head of ${report.treeSize ?? '?'} events of ${report.origin ?? '?'}`;
  const lines = [
    report.ok
      ? `ok: ${what}: the signature verifies with the key, and the first ${report.covered} events in seq order` +
        (report.removedByRetention ? ` (after the ${report.removedByRetention} leaves of events removed by retention, from the export's header)` : '') +
        ' make the root it signs'
      : `FAILED: ${what}`,
    ...report.problems.map((p) => `  ${p}`),
    ...report.notes.map((n) => `  note: ${n}`),
  ];
  if (report.ok) return lines;
  throw new CliError(lines.join('\n'));
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

/** Where the commands act: the database if this process may open it, else the server holding it. */
async function operationsFor(config: ReturnType<typeof loadConfig>): Promise<{ ops: CliOperations; database: DatabaseHandle | null }> {
  let database: DatabaseHandle;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeouts: config.databaseTimeouts, applicationName: 'vigil-cli' });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw new CliError((error as Error).message);
    const credential = await readCliCredential(config.dataDir);
    if (!credential) {
      throw new CliError(`${error.message} (and no running server left a credential in ${cliCredentialPath(config.dataDir)} to go through it)`);
    }
    return { ops: serverOperations(credential), database: null };
  }
  try {
    const signer = await loadSigner({ pem: config.signingKeyPem, dataDir: config.dataDir });
    return { ops: databaseOperations(database.db, { signer }), database };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** What to print for a failure: the server's own message, or why it could not be reached. */
function describeFailure(error: unknown, ops: CliOperations | null): string {
  if (!(error instanceof TRPCClientError) || !ops) return (error as Error).message;
  const code = (error.data as { code?: string } | undefined)?.code;
  if (!code) return `could not reach the server (${ops.via}): ${error.message}`;
  if (code === 'UNAUTHORIZED') return `the server refused the CLI credential (${ops.via}): it changes at each start; is this the server that wrote it?`;
  return error.message;
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
  if (command.positionals[0] === 'verify-export') {
    try {
      for (const line of await verifyExportCommand(process.argv.slice(2))) console.log(line);
      return 0;
    } catch (error) {
      console.error(`vigil: ${(error as Error).message}`);
      return 1;
    }
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
  let target;
  try {
    target = await operationsFor(config);
  } catch (error) {
    console.error(`vigil: ${(error as Error).message}`);
    return 2;
  }
  const { ops, database } = target;
  if (!database) console.error(`vigil: a server holds the data directory; acting ${ops.via}`);
  try {
    const lines = await runCommand(process.argv.slice(2), ops, { progress: process.stderr.isTTY });
    for (const line of lines) console.log(line);
    return 0;
  } catch (error) {
    console.error(`vigil: ${describeFailure(error, database ? null : ops)}`);
    return error instanceof TRPCClientError && !(error.data as { code?: string } | undefined)?.code ? 2 : 1;
  } finally {
    await ops.close();
    await database?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
