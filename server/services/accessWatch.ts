// Rights re-checked for long-lived connections: a WebSocket authenticates once, an SSE
// stream may run for days, yet revoking a token, logging out, disabling, demoting or a
// password reset must reach them within a second, on every server replica. Triggers on
// users and api_tokens NOTIFY ACCESS_CHANNEL whatever changed them (any code path, any
// process, psql); this watch re-reads the affected tokens at once and tells their
// connections. A re-read of every watched token every few seconds (one query) is the
// safety net for a notification lost while the LISTEN connection reconnects, and for
// tokens that simply expire.
import { ACCESS_CHANNEL, selectTokensByHashes } from '../db/apiTokensStore.js';
import type { Database, ListenFn } from '../db/database.js';
import { logger } from '../logger.js';
import { authenticateTokenHash, fixedGrant, grantOf, hashToken, type AuthConfig, type Grant } from './auth.js';
import type { Caller } from './caller.js';

/** The safety net's period with LISTEN; without LISTEN it is the only way changes arrive. */
const RECHECK_MS = 5_000;
const RECHECK_WITHOUT_LISTEN_MS = 500;
/** Tokens re-read per query by the safety net. */
const RECHECK_CHUNK = 500;

type Listener = (caller: Caller | null) => void;

/** One presented token, shared by every connection that presented it. */
interface Entry {
  tokenHash: string;
  grant: Grant | null;
  /** The token's row and user as last seen (kept after a refusal, to match announcements). */
  tokenId: string | null;
  userId: string | null;
  /** VIGIL_ADMIN_TOKEN: fixed for the life of the process. */
  fixed: boolean;
  refs: number;
  listeners: Set<Listener>;
  /** An announcement arrived that the grant does not reflect yet. */
  stale: boolean;
  /** Bumped by every announcement, so a safety-net read that raced one is dropped. */
  version: number;
  reading: Promise<void> | null;
}

/** A connection's hold on its caller; release() when the connection ends. */
export interface WatchedCaller {
  /** The caller as last read (null: refused now), expiry included. */
  readonly caller: Caller | null;
  /** The caller as it is now: re-read first when an announcement made it stale. */
  current(): Promise<Caller | null>;
  /** Called with the new caller whenever it changes; answers the unsubscribe. */
  onChange(listener: Listener): () => void;
  release(): void;
}

export class AccessWatch {
  private readonly entries = new Map<string, Entry>();
  private started: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rechecking = false;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthConfig,
    private readonly listen: ListenFn | undefined,
    private readonly recheckMs: number = listen ? RECHECK_MS : RECHECK_WITHOUT_LISTEN_MS,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** How many distinct tokens open connections hold (for tests and metrics). */
  get watchedCount(): number {
    return this.entries.size;
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      if (this.listen) this.unlisten = await this.listen(ACCESS_CHANNEL, (payload) => this.announced(payload));
      this.timer = setInterval(() => void this.recheckAll(), this.recheckMs);
      this.timer.unref();
    })().catch((error: unknown) => {
      this.started = null;
      throw error;
    });
    return this.started;
  }

  /** Authenticates `token` now and keeps its caller current until released. */
  async watch(token: string): Promise<WatchedCaller> {
    await this.start();
    const tokenHash = hashToken(token);
    let entry = this.entries.get(tokenHash);
    if (!entry) {
      const fixed = fixedGrant(tokenHash, this.auth) !== null;
      const grant = await authenticateTokenHash(this.db, tokenHash, this.auth, this.clock());
      // Another connection with the same token may have registered meanwhile.
      entry = this.entries.get(tokenHash);
      if (!entry) {
        entry = { tokenHash, grant: null, tokenId: null, userId: null, fixed, refs: 0, listeners: new Set(), stale: false, version: 0, reading: null };
        this.settle(entry, grant);
        this.entries.set(tokenHash, entry);
      }
    }
    entry.refs++;
    return this.handle(entry);
  }

  private handle(entry: Entry): WatchedCaller {
    let released = false;
    const own = new Set<Listener>();
    const watch = this;
    return {
      get caller() {
        return watch.callerOf(entry);
      },
      current: async () => {
        if (entry.stale || entry.reading) await this.refresh(entry);
        return this.callerOf(entry);
      },
      onChange: (listener) => {
        entry.listeners.add(listener);
        own.add(listener);
        return () => {
          entry.listeners.delete(listener);
          own.delete(listener);
        };
      },
      release: () => {
        if (released) return;
        released = true;
        for (const listener of own) entry.listeners.delete(listener);
        if (--entry.refs === 0 && this.entries.get(entry.tokenHash) === entry) this.entries.delete(entry.tokenHash);
      },
    };
  }

  private callerOf(entry: Entry): Caller | null {
    const grant = entry.grant;
    if (!grant) return null;
    if (grant.expiresAt && grant.expiresAt <= this.clock()) return null;
    return grant.caller;
  }

  /** Records a fresh read; tells the listeners when the caller changed. */
  private settle(entry: Entry, grant: Grant | null): void {
    const before = entry.grant ? JSON.stringify(entry.grant) : null;
    entry.grant = grant;
    if (grant) {
      entry.tokenId = grant.caller.tokenId;
      entry.userId = grant.caller.kind === 'user' ? grant.caller.userId : null;
    }
    if ((grant ? JSON.stringify(grant) : null) === before) return;
    const caller = this.callerOf(entry);
    for (const listener of [...entry.listeners]) {
      try {
        listener(caller);
      } catch (err) {
        logger.error({ err }, 'access watch: a listener failed');
      }
    }
  }

  /** Re-reads one token until no announcement arrived during the read. */
  private refresh(entry: Entry): Promise<void> {
    entry.reading ??= (async () => {
      try {
        do {
          entry.stale = false;
          const grant = await authenticateTokenHash(this.db, entry.tokenHash, this.auth, this.clock());
          if (!entry.stale) this.settle(entry, grant);
        } while (entry.stale);
      } catch (error) {
        entry.stale = true; // the next call tries again
        throw error;
      } finally {
        entry.reading = null;
      }
    })();
    return entry.reading;
  }

  /** A NOTIFY from the triggers: `token:<id>` or `user:<id>`. */
  private announced(payload: string): void {
    const [kind, id] = payload.split(':', 2);
    for (const entry of this.entries.values()) {
      if (entry.fixed) continue;
      const affected = kind === 'token' ? entry.tokenId === id : kind === 'user' ? entry.userId === id : true;
      if (!affected) continue;
      entry.version++;
      entry.stale = true;
      this.refresh(entry).catch((err: unknown) => logger.warn({ err }, 'access watch: re-reading a token failed; will retry'));
    }
  }

  /** The safety net: every watched token re-read, in a few queries. */
  private async recheckAll(): Promise<void> {
    if (this.rechecking || this.closed || this.entries.size === 0) return;
    this.rechecking = true;
    try {
      const due = [...this.entries.values()].filter((e) => !e.fixed);
      for (let i = 0; i < due.length; i += RECHECK_CHUNK) {
        const chunk = due.slice(i, i + RECHECK_CHUNK);
        const versions = chunk.map((e) => e.version);
        const rows = await selectTokensByHashes(this.db, chunk.map((e) => e.tokenHash));
        const byHash = new Map(rows.map((r) => [r.token.tokenHash, r]));
        const now = this.clock();
        chunk.forEach((entry, j) => {
          // An announcement during the read is handled by its own, newer read.
          if (entry.version !== versions[j] || entry.reading || entry.stale) return;
          const found = byHash.get(entry.tokenHash);
          this.settle(entry, found ? grantOf(found, now) : null);
        });
      }
      // Expiry moves with the clock, not the rows: tell streams whose token just expired.
      for (const entry of this.entries.values()) {
        if (entry.grant?.expiresAt && entry.grant.expiresAt <= this.clock()) this.settle(entry, null);
      }
    } catch (err) {
      logger.warn({ err }, 'access watch: re-checking open connections failed; will retry');
    } finally {
      this.rechecking = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => {});
  }
}
