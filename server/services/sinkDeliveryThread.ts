// Sink delivery on a thread of its own, for a server on Postgres: the thread opens its own
// connections and runs SinkDelivery there (server/services/sinkDeliveryWorker.ts), so that
// reading, framing and sending batches never waits behind requests on the server's event
// loop, nor requests behind them. The thread costs about 100 MB (its own copy of the
// modules delivery loads), so it starts only once a sink exists; until then this side
// looks for one at each poll. Deliveries and failures are counted here, in the process's
// /metrics. A thread that dies is started again after a pause: the sinks' leases and
// durable cursors make the new one carry on where the old one stopped. The embedded
// database (PGlite) lives in the server's own thread, so there delivery does too.
import { Worker } from 'node:worker_threads';
import type { Database, DatabaseTimeouts } from '../db/database.js';
import { selectSinks } from '../db/sinksStore.js';
import { logger } from '../logger.js';
import { METRICS_SINK_COUNTERS, SINK_DELIVERY_DEFAULTS, type SinkDeliveryOptions } from './sinkDelivery.js';

export interface SinkDeliveryThreadOptions {
  databaseUrl: string;
  timeouts?: DatabaseTimeouts | undefined;
  /** Where the thread loads the secrets key from, as the server did (loadSecretsKey). */
  secretsKey: { key?: string | undefined; dataDir: string };
  delivery?: Omit<SinkDeliveryOptions, 'secretsKey' | 'counters'>;
}

/** What the thread tells the server. */
export type SinkThreadMessage = { delivered: string; events: number } | { failed: string };

const RESTART_MS = 2000;
const STOP_MS = 15_000;

/**
 * The thread's first code: it loads the worker's TypeScript through tsx, as this process
 * runs (a worker does not inherit the loader this process was started with).
 */
function workerBoot(): string {
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const body = JSON.stringify(new URL('./sinkDeliveryWorker.ts', import.meta.url).href);
  return `import(${tsx}).then(({ tsImport }) => tsImport(${body}, ${JSON.stringify(import.meta.url)}))`;
}

export class SinkDeliveryThread {
  private worker: Worker | null = null;
  private stopping = false;
  private restartCount = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly options: SinkDeliveryThreadOptions,
  ) {}

  /** How many times a thread that ended by itself was started again. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Whether the delivery thread runs now. */
  get running(): boolean {
    return this.worker !== null;
  }

  start(): this {
    void this.startOnceASinkExists();
    return this;
  }

  /** Stops delivery (the batch in flight is abandoned, its cursor not moved) and hands the leases back. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      // A thread that does not end by itself soon after is ended.
      const deadline = setTimeout(() => void worker.terminate(), STOP_MS);
      worker.once('exit', () => {
        clearTimeout(deadline);
        resolve();
      });
      worker.postMessage('stop');
    });
  }

  private async startOnceASinkExists(): Promise<void> {
    if (this.stopping || this.worker) return;
    // The database away counts as no sink yet: looked for again at the next poll.
    const any = await selectSinks(this.db).then((rows) => rows.length > 0, () => false);
    if (this.stopping) return;
    if (any) this.spawn();
    else this.timer = setTimeout(() => void this.startOnceASinkExists(), this.options.delivery?.pollMs ?? SINK_DELIVERY_DEFAULTS.pollMs);
  }

  private spawn(): void {
    const worker = new Worker(workerBoot(), { eval: true, workerData: this.options });
    this.worker = worker;
    worker.on('message', (message: SinkThreadMessage) => {
      if ('delivered' in message) METRICS_SINK_COUNTERS.delivered(message.delivered, message.events);
      else METRICS_SINK_COUNTERS.failed(message.failed);
    });
    worker.on('error', (err) => logger.error({ err }, 'sink delivery thread failed'));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (this.stopping) return;
      logger.warn({ code }, 'sink delivery thread ended; starting it again');
      this.timer = setTimeout(() => {
        this.restartCount++;
        this.spawn();
      }, RESTART_MS);
    });
  }
}
