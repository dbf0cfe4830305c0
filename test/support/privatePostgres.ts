// A throwaway Postgres cluster of a test's own, which the test may stop and start (even
// crash) without disturbing the shared Postgres other suites use. Made with the local
// server binaries (initdb, pg_ctl) in a temporary directory, listening on 127.0.0.1 at a
// free port with its socket in that directory. As root the binaries run as the `postgres`
// OS user (Postgres refuses to run as root). Without binaries (or, as root, without
// runuser and a postgres user) `privatePostgresMissing` says why and the suites using it
// skip, unless VIGIL_REQUIRE_POSTGRES=1 (CI), which makes that fail the run.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication). */
  url: string;
  port: number;
  dataDir: string;
  /** pg_ctl stop: `fast` rolls back open transactions and shuts down cleanly; `immediate` is a crash. */
  stop(mode?: StopMode): Promise<void>;
  /** pg_ctl start on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the cluster (immediately) and deletes its files. */
  destroy(): Promise<void>;
}

interface Capability {
  bindir: string;
  /** The command prefix that runs a binary as a user Postgres accepts ([] when we are not root). */
  runAs: string[];
  owner: { uid: number; gid: number } | null;
}

const BINARIES = ['initdb', 'pg_ctl', 'postgres'];

function hasServerBinaries(dir: string): boolean {
  return BINARIES.every((b) => existsSync(path.join(dir, b)));
}

/** The server binaries: VIGIL_POSTGRES_BINDIR, `pg_config --bindir`, or the newest /usr/lib/postgresql/<n>/bin. */
function findBindir(): string | null {
  const chosen = process.env.VIGIL_POSTGRES_BINDIR;
  if (chosen) return hasServerBinaries(chosen) ? chosen : null;
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on PATH
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // no Debian-style install
  }
  return candidates.find(hasServerBinaries) ?? null;
}

function idOf(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
}

function detect(): Capability | string {
  const bindir = findBindir();
  if (!bindir) return `no Postgres server binaries (initdb, pg_ctl, postgres) in ${process.env.VIGIL_POSTGRES_BINDIR || 'pg_config --bindir or /usr/lib/postgresql/*/bin'}: install postgresql or set VIGIL_POSTGRES_BINDIR`;
  if (process.getuid?.() !== 0) return { bindir, runAs: [], owner: null };
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
  if (!runuser) return 'running as root, and there is no runuser to run Postgres as the postgres user';
  try {
    return { bindir, runAs: [runuser, '-u', 'postgres', '--'], owner: { uid: idOf('-u', 'postgres'), gid: idOf('-g', 'postgres') } };
  } catch {
    return 'running as root, and there is no postgres OS user to run Postgres as';
  }
}

const capability = detect();

/** Why a private cluster cannot be started here (null: it can). */
export const privatePostgresMissing: string | null = typeof capability === 'string' ? capability : null;

if (privatePostgresMissing && process.env.VIGIL_REQUIRE_POSTGRES === '1') {
  throw new Error(`VIGIL_REQUIRE_POSTGRES=1 but a private Postgres cluster cannot be started: ${privatePostgresMissing}`);
}

/** Starts a fresh cluster; the caller must destroy() it. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (typeof capability === 'string') throw new Error(`cannot start a private Postgres: ${capability}`);
  const { bindir, runAs, owner } = capability;
  const base = await mkdtemp(path.join(os.tmpdir(), 'vigil-pg-'));
  if (owner) await chown(base, owner.uid, owner.gid);
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');

  /** The command line that runs a server binary (as the postgres user when we are root). */
  const commandOf = (binary: string, args: string[]): [string, string[]] => {
    const [command, ...prefix] = [...runAs, path.join(bindir, binary)];
    return [command!, [...prefix, ...args]];
  };
  const run = (binary: string, args: string[], timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      // cwd: the postgres user may not be allowed into the test's working directory.
      execFile(...commandOf(binary, args), { cwd: base, timeout: timeoutMs, encoding: 'utf8' }, async (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const log = await readFile(logFile, 'utf8').catch(() => '');
        reject(new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stderr}\n${log.split('\n').slice(-20).join('\n')}`));
      });
    });

  let running = false;
  const stopNow = () => {
    if (!running) return;
    running = false;
    try {
      execFileSync(...commandOf('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']), { cwd: base, stdio: 'ignore', timeout: 15_000 });
    } catch {
      // already down
    }
  };
  // A test process that dies without destroy() must not leave a postmaster behind.
  process.once('exit', stopNow);
  const removeCluster = async () => {
    stopNow();
    process.removeListener('exit', stopNow);
    await rm(base, { recursive: true, force: true });
  };

  try {
    await run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const port = await freePort();
    // fsync off: the data survives a crash of Postgres (the OS keeps what was written),
    // only not one of the machine. synchronous_commit stays on: a commit the server
    // acknowledged is in the WAL before the client hears of it.
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        '# vigil test cluster',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${base}'`,
        'fsync = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        'max_connections = 50',
        "log_min_messages = 'warning'",
        '',
      ].join('\n'),
    );
    const start = async () => {
      running = true;
      await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], 90_000);
    };
    await start();
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      start,
      async stop(mode = 'fast') {
        await run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
        running = false;
      },
      destroy: removeCluster,
    };
  } catch (error) {
    await removeCluster();
    throw error;
  }
}
