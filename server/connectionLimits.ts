// Bounded memory per connection. A client that stops reading must not make the server
// queue without end: a WebSocket's send buffer has a ceiling (past it, live streams stop
// pulling events, so their subscribers fall back to replaying from the database once
// the client reads again, and the socket's further calls wait), a socket carries a
// limited number of subscriptions, and a batch (HTTP or one WebSocket frame) a limited
// number of calls. README "Limits" documents them.
import { TRPCError } from '@trpc/server';
import type { WebSocket } from 'ws';
import { CALLS_PER_BATCH } from '../shared/limits.js';

export interface ConnectionLimits {
  /** Bytes a WebSocket may have queued for its client before the server stops adding more. */
  sendBufferBytes: number;
  /** Live subscriptions one WebSocket may hold at once. */
  subscriptionsPerSocket: number;
  /** Calls one HTTP batch or one WebSocket frame may carry. */
  callsPerBatch: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = {
  sendBufferBytes: 1024 * 1024,
  subscriptionsPerSocket: 32,
  callsPerBatch: CALLS_PER_BATCH,
};

/** How often a congested socket is looked at again (only while congested). */
const DRAIN_POLL_MS = 20;

/** One WebSocket's share: its send buffer and its subscription slots. */
export class SocketBudget {
  private subscriptions = 0;
  private callsRunning = 0;
  /** Calls read from the socket, waiting for one of the running ones to finish. */
  private callsWaiting: (() => void)[] = [];
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: WebSocket,
    private readonly limits: ConnectionLimits,
  ) {
    socket.once('close', () => this.wakeAll());
  }

  /** Whether the client has more unread bytes queued than the limit. */
  get congested(): boolean {
    return this.socket.bufferedAmount > this.limits.sendBufferBytes;
  }

  /** Takes a subscription slot (or refuses); answers its release. */
  openSubscription(): () => void {
    if (this.subscriptions >= this.limits.subscriptionsPerSocket) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `at most ${this.limits.subscriptionsPerSocket} live subscriptions per connection; stop one first`,
      });
    }
    this.subscriptions++;
    let released = false;
    return () => {
      if (!released) this.subscriptions--;
      released = true;
    };
  }

  /**
   * Admits one call (query or mutation): at most `callsPerBatch` run at once on a socket,
   * and none while its client has not read what was sent; meanwhile the socket is not
   * read either once enough calls wait. So answers queued for a client that sends without
   * reading stay bounded. Answers the call's release.
   */
  async admitCall(signal?: AbortSignal): Promise<() => void> {
    while ((this.callsRunning >= this.limits.callsPerBatch || this.congested) && this.socket.readyState === this.socket.OPEN && !signal?.aborted) {
      if (this.callsWaiting.length >= this.limits.callsPerBatch) this.socket.pause();
      if (this.congested) await this.drained(signal, true);
      else await new Promise<void>((resolve) => this.callsWaiting.push(resolve));
    }
    this.callsRunning++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.callsRunning--;
      this.callsWaiting.shift()?.();
      if (this.callsWaiting.length === 0 && !this.congested && this.socket.isPaused) this.socket.resume();
    };
  }

  /**
   * Resolves once the client has read its buffer down to half the limit, the socket
   * closed, or `signal` aborted. With `pauseReading`, the socket's incoming calls wait
   * too (TCP pushes back on the client), so a client that sends without reading cannot
   * pile up answers either.
   */
  drained(signal?: AbortSignal, pauseReading = false): Promise<void> {
    if (!this.congested || this.socket.readyState !== this.socket.OPEN || signal?.aborted) return Promise.resolve();
    if (pauseReading) this.socket.pause();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      this.timer ??= setInterval(() => {
        if (this.socket.bufferedAmount <= this.limits.sendBufferBytes / 2) this.wakeAll();
      }, DRAIN_POLL_MS);
    });
  }

  private wakeAll(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.socket.isPaused) this.socket.resume();
    for (const wake of [...this.waiters]) wake();
    // Waiting calls look again (a closed socket lets them through: their answers are dropped).
    for (const wake of this.callsWaiting.splice(0)) wake();
  }
}
