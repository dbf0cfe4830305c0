// Login throttling that stops guessing without locking the real user out. Only failures
// count (rate-limiter-flexible keeps the counters), so a person logging in a few times a
// minute never notices it:
// - per (username, address): 10 failures within 15 minutes refuse that pair for 15 minutes;
// - per address: 100 failures within an hour refuse the address (one source, many usernames);
// - per username, from all addresses: past 10 failures within an hour the username is
//   slowed, never refused: every attempt on it is answered later, 250 ms doubling every 10
//   further failures, up to 5 s. Addresses that already failed on that username also take
//   turns (one attempt per delay, across all of them); past 5 s of queue they are told to
//   come back. An address that has not failed on it (the real user elsewhere) only waits.
// A refused attempt is not checked, so it feeds no counter. Refused attempts are recorded
// as one event per username and window (see ThrottledLogins), not one row each.
// Counters live in this process's memory; several replicas each keep their own.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { logger } from '../logger.js';

export interface LoginThrottlePolicy {
  /** Failures per (username, address) within 15 minutes before that pair is refused. */
  perUserIp: number;
  /** Failures per address within an hour before the address is refused. */
  perIp: number;
  /** Failures per username within an hour before its attempts are slowed. */
  userFreeFailures: number;
  /** The first delay of a slowed username; it doubles every 10 further failures. */
  userBaseDelayMs: number;
  /** The longest delay, and the longest an attempt waits for its turn. */
  userMaxDelayMs: number;
  /** Refused attempts on a username within this window make one event. */
  refusalWindowMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginThrottlePolicy = {
  perUserIp: 10,
  perIp: 100,
  userFreeFailures: 10,
  userBaseDelayMs: 250,
  userMaxDelayMs: 5_000,
  refusalWindowMs: 60_000,
};

/** Refused login attempts on one username within one window: one audit event. */
export interface ThrottledLogins {
  username: string;
  attempts: number;
  /** Distinct addresses, the first MAX_LISTED_ADDRESSES of them. */
  addresses: string[];
  /** How many distinct addresses (counted up to MAX_COUNTED_ADDRESSES). */
  addressCount: number;
  firstAt: Date;
  lastAt: Date;
}

/** What to do with an attempt: refuse it (come back in refuseMs), or check it after delayMs. */
export interface Admission {
  refuseMs: number;
  delayMs: number;
}

export interface LoginThrottle {
  admit(username: string, ip: string): Promise<Admission>;
  recordFailure(username: string, ip: string): Promise<void>;
  recordSuccess(username: string, ip: string): Promise<void>;
  /** Counts a refused attempt into its username's window. */
  noteRefused(username: string, ip: string | null): void;
  /** Records every open window now (shutdown, tests). */
  flush(): Promise<void>;
}

const MAX_LISTED_ADDRESSES = 10;
const MAX_COUNTED_ADDRESSES = 10_000;
const MAX_OPEN_WINDOWS = 1_000;
const MAX_SCHEDULES = 10_000;

/** The delay of a username with `failures` failures within the hour. */
export function slowdownMs(failures: number, policy: LoginThrottlePolicy = DEFAULT_LOGIN_POLICY): number {
  if (failures < policy.userFreeFailures) return 0;
  const doublings = Math.floor((failures - policy.userFreeFailures) / 10);
  return Math.min(policy.userMaxDelayMs, policy.userBaseDelayMs * 2 ** Math.min(doublings, 30));
}

export function createLoginThrottle(options: {
  /** Writes one window of refused attempts (an audit event). */
  recordRefusals: (window: ThrottledLogins) => Promise<void>;
  policy?: Partial<LoginThrottlePolicy>;
}): LoginThrottle {
  const policy = { ...DEFAULT_LOGIN_POLICY, ...options.policy };
  const byUserIp = new RateLimiterMemory({ keyPrefix: 'login_user_ip', points: policy.perUserIp, duration: 900, blockDuration: 900 });
  const byIp = new RateLimiterMemory({ keyPrefix: 'login_ip', points: policy.perIp, duration: 3600, blockDuration: 3600 });
  // Never blocks: it only counts a username's failures in the hour, for the delay.
  const byUser = new RateLimiterMemory({ keyPrefix: 'login_user', points: Number.MAX_SAFE_INTEGER, duration: 3600 });
  /** When the next turn of a slowed username's suspect addresses starts (epoch ms). */
  const nextTurnAt = new Map<string, number>();
  const openWindows = new Map<string, ThrottledLogins & { seen: Set<string>; timer: NodeJS.Timeout }>();

  const pairKey = (username: string, ip: string) => `${username.toLowerCase()}|${ip}`;
  const consumed = async (limiter: RateLimiterMemory, key: string) => (await limiter.get(key))?.consumedPoints ?? 0;
  const blockedMs = async (limiter: RateLimiterMemory, key: string) => {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= limiter.points ? res.msBeforeNext : 0;
  };

  function takeTurn(user: string, delay: number, now: number): Admission {
    if (nextTurnAt.size > MAX_SCHEDULES) {
      for (const [key, at] of nextTurnAt) if (at <= now) nextTurnAt.delete(key);
    }
    const start = Math.max(now, nextTurnAt.get(user) ?? 0);
    const answerIn = start - now + delay;
    if (answerIn > policy.userMaxDelayMs) return { refuseMs: start - now, delayMs: 0 };
    nextTurnAt.set(user, start + delay);
    return { refuseMs: 0, delayMs: answerIn };
  }

  async function close(user: string): Promise<void> {
    const window = openWindows.get(user);
    if (!window) return;
    openWindows.delete(user);
    clearTimeout(window.timer);
    const { seen: _seen, timer: _timer, ...summary } = window;
    await options.recordRefusals(summary).catch((err: unknown) => {
      logger.error({ err, username: summary.username, attempts: summary.attempts }, 'recording throttled logins failed');
    });
  }

  return {
    async admit(username, ip) {
      const user = username.toLowerCase();
      const refuseMs = Math.max(await blockedMs(byUserIp, pairKey(username, ip)), await blockedMs(byIp, ip));
      if (refuseMs > 0) return { refuseMs, delayMs: 0 };
      const delay = slowdownMs(await consumed(byUser, user), policy);
      if (delay === 0) return { refuseMs: 0, delayMs: 0 };
      // An address that has not failed on this username waits, and is never refused.
      if ((await consumed(byUserIp, pairKey(username, ip))) === 0) return { refuseMs: 0, delayMs: delay };
      return takeTurn(user, delay, Date.now());
    },
    async recordFailure(username, ip) {
      for (const [limiter, key] of [
        [byUserIp, pairKey(username, ip)],
        [byIp, ip],
        [byUser, username.toLowerCase()],
      ] as const) {
        await limiter.consume(key).catch((res: unknown) => {
          if (!(res instanceof RateLimiterRes)) throw res;
        });
      }
    },
    async recordSuccess(username, ip) {
      await byUserIp.delete(pairKey(username, ip));
    },
    noteRefused(username, ip) {
      const user = username.toLowerCase();
      const now = new Date();
      let window = openWindows.get(user);
      if (!window) {
        // Too many usernames refused at once (a spray): record what is open, then start over.
        if (openWindows.size >= MAX_OPEN_WINDOWS) for (const key of [...openWindows.keys()]) void close(key);
        const timer = setTimeout(() => void close(user), policy.refusalWindowMs);
        timer.unref();
        window = { username, attempts: 0, addresses: [], addressCount: 0, firstAt: now, lastAt: now, seen: new Set(), timer };
        openWindows.set(user, window);
      }
      window.attempts++;
      window.lastAt = now;
      if (ip && !window.seen.has(ip) && window.seen.size < MAX_COUNTED_ADDRESSES) {
        window.seen.add(ip);
        window.addressCount++;
        if (window.addresses.length < MAX_LISTED_ADDRESSES) window.addresses.push(ip);
      }
    },
    async flush() {
      await Promise.all([...openWindows.keys()].map(close));
    },
  };
}
