import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

/** A sustained rate plus a burst allowance, as seed 004 writes them (`requests_per_minute`, `burst`). */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets (and, when refused, until a retry can succeed). */
  readonly resetSeconds: number;
}

export interface RateLimiter {
  consume(bucket: string, key: string, limit: RateLimit): Promise<RateDecision>;
}

/**
 * Rate limiting on rate-limiter-flexible: a fixed one-minute window of `perMinute` points, plus a burst
 * allowance of `burst` points that is only drawn on once the window is spent. In memory by default;
 * Redis-backed (shared by every replica) when a client is given, with an in-memory insurance limiter
 * so a Redis outage degrades to per-process limits instead of failing requests.
 */
export function createRateLimiter(redis?: Redis): RateLimiter {
  const limiters = new Map<string, RateLimiterAbstract | BurstyRateLimiter>();

  const make = (prefix: string, points: number): RateLimiterAbstract => {
    const opts = { keyPrefix: prefix, points, duration: 60 };
    if (!redis) return new RateLimiterMemory(opts);
    return new RateLimiterRedis({ ...opts, storeClient: redis, insuranceLimiter: new RateLimiterMemory(opts) });
  };

  const limiterFor = (bucket: string, limit: RateLimit): RateLimiterAbstract | BurstyRateLimiter => {
    const id = `${bucket}:${limit.perMinute}:${limit.burst}`;
    let l = limiters.get(id);
    if (!l) {
      const main = make(`rl:${id}`, limit.perMinute);
      l = limit.burst > 0 ? new BurstyRateLimiter(main, make(`rlb:${id}`, limit.burst)) : main;
      limiters.set(id, l);
    }
    return l;
  };

  return {
    async consume(bucket, key, limit) {
      const limiter = limiterFor(bucket, limit);
      try {
        const res = await limiter.consume(key);
        return {
          allowed: true,
          limit: limit.perMinute,
          remaining: Math.max(0, res.remainingPoints),
          resetSeconds: Math.ceil(res.msBeforeNext / 1000),
        };
      } catch (e) {
        if (e instanceof RateLimiterRes) {
          return { allowed: false, limit: limit.perMinute, remaining: 0, resetSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
        }
        throw e;
      }
    },
  };
}
