/**
 * Token buckets in Redis, so several gateways share one limit: per API key for private routes
 * and per IP for account creation. One Lua script per check (atomic; Redis's own clock).
 */
import type { Redis } from 'ioredis';

const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

export interface BucketSpec {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Most tokens the bucket holds (the largest burst). */
  readonly burst: number;
}

type WithBucket = Redis & {
  tokenBucket(key: string, rate: number, burst: number): Promise<number>;
};

export class RateLimiter {
  private readonly redis: WithBucket;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('tokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    this.redis = redis as WithBucket;
  }

  /** Takes one token; resolves to 0 if allowed, else the milliseconds until one is available. */
  async take(bucket: string, spec: BucketSpec): Promise<number> {
    return this.redis.tokenBucket(`${this.prefix}ratelimit:${bucket}`, spec.ratePerSec, spec.burst);
  }
}
