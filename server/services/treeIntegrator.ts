// The background job that keeps the Merkle tree up with the events: woken by the NOTIFY
// of every committed batch (and a poll, in case one is missed), it integrates what is new
// and signs a tree head at most every `headIntervalMs` while the tree grows. Any number
// of replicas may run one; the tree's advisory lock lets one work at a time.
import type { Database, ListenFn } from '../db/database.js';
import { EVENTS_CHANNEL } from '../db/eventWriter.js';
import { logger } from '../logger.js';
import { integrateEvents, signTreeHead, type FrontierCache, type TreeLog } from './merkleTree.js';
import type { Clock } from './events.js';

export interface TreeIntegratorOptions {
  listen?: ListenFn | undefined;
  /** The safety-net poll (ms); the NOTIFY usually wakes it first. */
  pollMs?: number;
  /** Least time between two signed heads (VIGIL_TREE_HEAD_MS). */
  headIntervalMs?: number;
  clock?: Clock;
}

export class TreeIntegrator {
  private poll: NodeJS.Timeout | null = null;
  private headTimer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** The tree's frontier between rounds: a round then reads only the new events. */
  private readonly frontier: FrontierCache = { current: null };

  constructor(
    private readonly db: Database,
    private readonly log: TreeLog,
    private readonly options: TreeIntegratorOptions = {},
  ) {}

  async start(): Promise<void> {
    // Without LISTEN (the database went away as the server started) the poll below still
    // integrates within a second; the driver re-listens by itself once it reconnects.
    if (this.options.listen) {
      this.unlisten = await this.options.listen(EVENTS_CHANNEL, () => this.wake()).catch((err: unknown) => {
        logger.warn({ err }, 'Merkle tree integrator: cannot LISTEN for new events; polling meanwhile');
        return null;
      });
    }
    this.poll = setInterval(() => this.wake(), this.options.pollMs ?? 1000);
    this.poll.unref();
    this.wake();
  }

  /** Runs a round now, or right after the one under way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round().catch((err: unknown) => logger.error({ err }, 'Merkle tree integration failed'));
      } while (this.again && !this.stopped);
      this.running = null;
    })();
  }

  /** Integrates what is committed and signs a head when one is due; resolves when done. */
  async settle(): Promise<void> {
    this.wake();
    while (this.running) await this.running;
  }

  private async round(): Promise<void> {
    const integrated = await integrateEvents(this.db, { frontier: this.frontier });
    if (integrated === null) return; // another replica is at it
    const outcome = await signTreeHead(this.db, this.log, {
      minIntervalMs: this.options.headIntervalMs ?? 1000,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    if ('dueInMs' in outcome && !this.headTimer && !this.stopped) {
      this.headTimer = setTimeout(() => {
        this.headTimer = null;
        this.wake();
      }, Math.ceil(outcome.dueInMs));
      this.headTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.headTimer) clearTimeout(this.headTimer);
    await this.unlisten?.().catch(() => {});
    while (this.running) await this.running;
  }
}
