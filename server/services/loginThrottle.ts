// Login throttling with rate-limiter-flexible. Only failures count, so a person or a
// script logging in a few times a minute never notices it; guessing stops quickly:
// - per (username, ip): 10 consecutive failures block that pair for 15 minutes;
// - per ip: 100 failures an hour block the ip (one source trying many usernames);
// - per username: 100 failures an hour from all ips (distributed guessing).
// A blocked attempt is refused before the password is checked, so it does not feed the
// per-username count: the right password from another ip still works.
// Counters live in this process's memory; several replicas each keep their own.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleLimits {
  perUserIp: number;
  perIp: number;
  perUser: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginThrottleLimits = { perUserIp: 10, perIp: 100, perUser: 100 };

export interface LoginThrottle {
  /** Milliseconds until this attempt may be made, or 0 when it may go ahead. */
  retryAfterMs(username: string, ip: string): Promise<number>;
  recordFailure(username: string, ip: string): Promise<void>;
  recordSuccess(username: string, ip: string): Promise<void>;
}

export function createLoginThrottle(limits: LoginThrottleLimits = DEFAULT_LOGIN_LIMITS): LoginThrottle {
  const byUserIp = new RateLimiterMemory({ keyPrefix: 'login_user_ip', points: limits.perUserIp, duration: 900, blockDuration: 900 });
  const byIp = new RateLimiterMemory({ keyPrefix: 'login_ip', points: limits.perIp, duration: 3600, blockDuration: 3600 });
  const byUser = new RateLimiterMemory({ keyPrefix: 'login_user', points: limits.perUser, duration: 3600, blockDuration: 900 });
  const keys = (username: string, ip: string) =>
    [
      [byUserIp, `${username.toLowerCase()}|${ip}`],
      [byIp, ip],
      [byUser, username.toLowerCase()],
    ] as const;

  return {
    async retryAfterMs(username, ip) {
      let wait = 0;
      for (const [limiter, key] of keys(username, ip)) {
        const res = await limiter.get(key);
        if (res && res.consumedPoints >= limiter.points) wait = Math.max(wait, res.msBeforeNext);
      }
      return wait;
    },
    async recordFailure(username, ip) {
      for (const [limiter, key] of keys(username, ip)) {
        await limiter.consume(key).catch((res: unknown) => {
          if (!(res instanceof RateLimiterRes)) throw res;
        });
      }
    },
    async recordSuccess(username, ip) {
      await byUserIp.delete(`${username.toLowerCase()}|${ip}`);
    },
  };
}
