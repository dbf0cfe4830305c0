// `npm start`: open the database (embedded PGlite unless DATABASE_URL is set), apply
// migrations, serve.
import { listen, createApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { logger } from './logger.js';
import { adminTokenAuthenticator, generateToken } from './services/auth.js';

const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });

let adminToken = config.adminToken;
if (!adminToken) {
  adminToken = generateToken();
  // Printed once, to the console only (not the JSON log), so it can be copied.
  console.log(`\nNo VIGIL_ADMIN_TOKEN set; this run's administrator token is:\n\n  ${adminToken}\n`);
}

const app = createApp({ db: database.db, authenticator: adminTokenAuthenticator(adminToken), maxBodyBytes: config.maxBodyBytes });
const running = await listen(app, config.port, config.host);
logger.info(
  { url: running.url, database: database.kind, dataDir: database.kind === 'pglite' ? config.dataDir : undefined },
  'vigil listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await running.close().catch((err: unknown) => logger.error({ err }, 'closing the HTTP server'));
  await database.close().catch((err: unknown) => logger.error({ err }, 'closing the database'));
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
