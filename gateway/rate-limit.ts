/**
 * Token buckets in Redis, so several gateways share one limit: per API key for private routes
 * and per IP for account creation. One Lua script per check (atomic; Redis's own clock).
 *
 * The checks of one bucket that arrive in the same turn of the event loop go to Redis as one
 * script call asking for that many tokens: it grants as many as the bucket holds, in arrival
 * order, and tells the rest how long to wait. The outcome is the same as one call per request
 * (each request still takes one whole token or is refused), but a client sending hundreds of
 * requests a second costs Redis one command per turn instead of one per request.
 */
import type { Redis } from 'ioredis';

/** Takes up to ARGV[3] tokens; returns { granted, milliseconds until the next token }. */
const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted < want then
  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { granted, wait }
`;

export interface BucketSpec {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Most tokens the bucket holds (the largest burst). */
  readonly burst: number;
}

type WithBucket = Redis & {
  tokenBucket(key: string, rate: number, burst: number, want: number): Promise<[number, number]>;
};

/** The checks of one bucket waiting for this turn's script call. */
interface Pending {
  readonly bucket: string;
  readonly spec: BucketSpec;
  readonly waiters: { resolve(waitMs: number): void; reject(err: unknown): void }[];
}

export class RateLimiter {
  private readonly redis: WithBucket;
  private pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('tokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    this.redis = redis as WithBucket;
  }

  /** Takes one token; resolves to 0 if allowed, else the milliseconds until one is available. */
  take(bucket: string, spec: BucketSpec): Promise<number> {
    return new Promise((resolve, reject) => {
      // Grouped by bucket and limits: checks of one bucket under other limits are a call apart.
      const group = `${bucket}\u0000${spec.ratePerSec}\u0000${spec.burst}`;
      let p = this.pending.get(group);
      if (p === undefined) {
        p = { bucket, spec, waiters: [] };
        this.pending.set(group, p);
      }
      p.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    for (const { bucket, spec, waiters } of all.values()) {
      this.redis
        .tokenBucket(
          `${this.prefix}ratelimit:${bucket}`,
          spec.ratePerSec,
          spec.burst,
          waiters.length,
        )
        .then(
          ([granted, waitMs]) => {
            for (let i = 0; i < waiters.length; i++) waiters[i].resolve(i < granted ? 0 : waitMs);
          },
          (err: unknown) => {
            for (const w of waiters) w.reject(err);
          },
        );
    }
  }
}
