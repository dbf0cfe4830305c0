// The body of the sink delivery thread (server/services/sinkDeliveryThread.ts starts it):
// its own database connections, the server's secrets key, and SinkDelivery, whose counts
// go to the server's /metrics. On 'stop' it stops delivering, hands the leases back,
// closes its connections and ends.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/database.js';
import { logger } from '../logger.js';
import { loadSecretsKey } from './secretsKey.js';
import { SinkDelivery } from './sinkDelivery.js';
import type { SinkDeliveryThreadOptions, SinkThreadMessage } from './sinkDeliveryThread.js';

const options = workerData as SinkDeliveryThreadOptions;
const port = parentPort!;
const tell = (message: SinkThreadMessage) => port.postMessage(message);

// Few connections: delivery reads a batch per sink at a time.
const database = await openDatabase({ databaseUrl: options.databaseUrl, maxConnections: 4, timeouts: options.timeouts, applicationName: 'vigil-sinks' });
const secretsKey = await loadSecretsKey(options.secretsKey);
const delivery = new SinkDelivery(database.db, {
  ...options.delivery,
  secretsKey,
  counters: {
    delivered: (sink, events) => tell({ delivered: sink, events }),
    failed: (sink) => tell({ failed: sink }),
  },
}).start();

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  void (async () => {
    try {
      await delivery.stop();
      await database.close();
    } catch (err) {
      logger.warn({ err }, 'sink delivery thread: stopping failed');
    }
    port.close();
  })();
});
