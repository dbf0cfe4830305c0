// `npm start`: open the database (embedded PGlite unless DATABASE_URL is set), apply
// migrations, create the first site manager on first start, serve, and run the
// scheduled jobs (checkpoints of the hash chain, retention, the Merkle tree's integrator).
import { listen, createApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { EventWriter } from './db/eventWriter.js';
import { restrictNewFiles } from './fileModes.js';
import { logger } from './logger.js';
import { ensureFirstSiteManager } from './services/auth.js';
import { loadExtensionKey } from './services/extensionKey.js';
import { packExtension } from './services/extensionPackages.js';
import { localUrl, newCliToken, removeCliCredential, writeCliCredential } from './services/cliCredential.js';
import { firstStartMessage, writeFirstPassword } from './services/firstPassword.js';
import { startScheduledJobs } from './services/jobs.js';
import { treeLogOf } from './services/merkleTree.js';
import { TreeIntegrator } from './services/treeIntegrator.js';
import { loadSecretsKey } from './services/secretsKey.js';
import { parseConfiguredSinks } from './services/sinkConfig.js';
import { applyConfiguredSinks } from './services/sinks.js';
import { loadSigner } from './services/signingKey.js';

// Before anything touches the disk: the data directory, keys and lock are the server's alone.
restrictNewFiles();
const config = loadConfig();
// First, so that a bad VIGIL_EXTENSION_KEY stops the start before anything else happens.
const extensionKey = await loadExtensionKey({ pem: config.extensionKeyPem, dataDir: config.dataDir });
const extensionPackages = await packExtension(config.extensionDir, extensionKey).catch((err: unknown) => {
  logger.warn({ err, extensionDir: config.extensionDir }, 'no extension packages to serve');
  return null;
});
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeouts: config.databaseTimeouts, applicationName: 'vigil' });
const signer = await loadSigner({ pem: config.signingKeyPem, dataDir: config.dataDir });
const secretsKey = await loadSecretsKey({ key: config.secretsKey, dataDir: config.dataDir });
// The process's one writer of audit events: requests, the first start and the jobs share it.
const events = new EventWriter(database.db);
// VIGIL_SINKS before serving (and before delivery starts): a bad entry stops the start.
const configuredSinks = await applyConfiguredSinks(
  { db: database.db, events, secretsKey, clock: () => new Date() },
  parseConfiguredSinks(config.sinks),
);
if (configuredSinks.created.length + configuredSinks.changed.length > 0) logger.info(configuredSinks, 'VIGIL_SINKS applied');

// Fails the start on a bad VIGIL_LOG_ORIGIN.
const treeLog = treeLogOf(signer, config.logOrigin);

// The embedded database admits one process: `vigil` commands then go through this server,
// with a credential made anew at each start.
const cliToken = database.kind === 'pglite' ? newCliToken() : null;

const app = createApp({
  db: database.db,
  events,
  listen: database.listen,
  signer,
  secretsKey,
  adminToken: config.adminToken,
  cliCredentialHash: cliToken?.hash,
  maxBodyBytes: config.maxBodyBytes,
  corsOrigins: config.corsOrigins,
  // The server's own package id even when no build is served (e.g. a CRX installed earlier).
  extensionIds: [extensionKey.extensionId, ...config.extensionIds],
  trustProxy: config.trustProxy,
  metricsToken: config.metricsToken,
  extensionPackages,
  publicUrl: config.publicUrl,
  sinkDelivery: {
    leaseMs: config.sinkLeaseSeconds * 1000,
    // On Postgres, on a thread of its own, off the requests' event loop.
    ...(config.databaseUrl
      ? { thread: { databaseUrl: config.databaseUrl, timeouts: config.databaseTimeouts, secretsKey: { key: config.secretsKey, dataDir: config.dataDir } } }
      : {}),
  },
  treeLog,
  publicCheckpoint: config.publicCheckpoint,
});
// Before listening: "vigil listening" means ready, and start-up work that fails (the
// database went away) ends the process before it has answered anyone.
const first = await ensureFirstSiteManager(database.db, events, { password: config.adminPassword });
const running = await listen(app, config.port, config.host);
if (cliToken) await writeCliCredential(config.dataDir, { url: localUrl(running.url), token: cliToken.token });
logger.info(
  { url: running.url, database: database.kind, dataDir: database.kind === 'pglite' ? config.dataDir : undefined, signingKeyId: signer.keyId, extensionId: extensionKey.extensionId },
  'vigil listening',
);

if (first.created) {
  const passwordFile = first.generatedPassword ? await writeFirstPassword(config.dataDir, first.generatedPassword) : undefined;
  console.log(
    firstStartMessage({
      username: first.username,
      url: running.url,
      passwordFile,
      password: first.generatedPassword,
      terminal: Boolean(process.stdout.isTTY),
    }),
  );
}

const jobs = startScheduledJobs(database.db, events, signer, {
  checkpointMinutes: config.checkpointMinutes,
  retentionDays: config.retentionDays,
});
// The Merkle tree follows the events (at most a second behind) and signs its heads.
const treeIntegrator = new TreeIntegrator(database.db, treeLog, { listen: database.listen, headIntervalMs: config.treeHeadMs });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // Whatever hangs (a query on a connection that stopped answering, a client that will
  // not go), the process ends within the bound. Every write is a transaction, so stopping
  // half-way loses nothing that was acknowledged.
  setTimeout(() => {
    logger.error({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting now');
    process.exit(1);
  }, config.shutdownTimeoutMs).unref();
  jobs.stop();
  await treeIntegrator.stop().catch((err: unknown) => logger.error({ err }, 'stopping the tree integrator'));
  if (cliToken) await removeCliCredential(config.dataDir).catch((err: unknown) => logger.error({ err }, 'removing the CLI credential'));
  await running.close().catch((err: unknown) => logger.error({ err }, 'closing the HTTP server'));
  await database.close().catch((err: unknown) => logger.error({ err }, 'closing the database'));
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// After the signal handlers: its first read waits on the database, and a stop asked for
// meanwhile must still be handled within the bound (the read then fails, as it should).
await treeIntegrator.start().catch((error: unknown) => {
  if (!stopping) throw error;
});
