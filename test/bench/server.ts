// The Vigil server as the benchmark runs it: a child process (so clients and server do
// not share an event loop), built from the same createApp + listen as `npm start`.
// Env: BENCH_DATABASE_URL (postgres.js) or BENCH_DATA_DIR (PGlite), BENCH_TOKEN.
// Reports { url } over IPC once listening; stops on SIGTERM or when the parent goes.
import { createApp, listen } from '../../server/app.js';
import { openDatabase } from '../../server/db/database.js';
import { adminTokenAuthenticator } from '../../server/services/auth.js';

const token = process.env.BENCH_TOKEN;
if (!token || !process.send) throw new Error('bench server: run me through startBenchServer()');

const database = await openDatabase({
  databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
  dataDir: process.env.BENCH_DATA_DIR || undefined,
  maxConnections: Number(process.env.BENCH_POOL || 10),
});
const app = createApp({ db: database.db, authenticator: adminTokenAuthenticator(token), maxBodyBytes: 64 * 1024 * 1024 });
const running = await listen(app, 0, '127.0.0.1');
process.send({ url: running.url });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await running.close().catch(() => {});
  await database.close().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
