/**
 * Token buckets in Redis, so several gateways share one limit: per API key for private routes
 * and per IP for account creation. One Lua script per call (atomic; Redis's own clock).
 *
 * The checks of one bucket that arrive in the same turn of the event loop go to Redis as one
 * script call asking for that many tokens: it grants as many as the bucket holds, in arrival
 * order, and tells the rest how long to wait. Each request still takes one whole token or is
 * refused, but a client sending hundreds of requests a second costs Redis one command per turn.
 *
 * A busy bucket also takes tokens ahead of need: a lease this gateway holds for `leaseMs` and
 * spends on the next checks without asking Redis (a client placing orders one after another
 * otherwise waits for a Redis round trip on every one of them). How far ahead grows while calls
 * come back before the lease ran out and shrinks when it ran out unused, up to a tenth of the
 * burst (buckets with a burst under ten are never leased). Tokens a lease did not spend go back
 * to the bucket with its next call, or after it ran out. So no more requests pass than the
 * bucket gives; a lease only moves when they pass, and another gateway can find the shared
 * bucket lower by what this one holds, at most a tenth of the burst for at most `leaseMs`.
 */
import type { Redis } from 'ioredis';

/**
 * Gives back ARGV[4] tokens, then takes up to ARGV[3]; returns { granted, milliseconds until the
 * next token }.
 */
const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local give = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + give + math.max(0, now - ts) * rate / 1000)
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
  tokenBucket(
    key: string,
    rate: number,
    burst: number,
    want: number,
    give: number,
  ): Promise<[number, number]>;
};

interface Waiter {
  resolve(waitMs: number): void;
  reject(err: unknown): void;
}

/** The checks of one bucket waiting for this turn's script call. */
interface Pending {
  readonly group: string;
  readonly bucket: string;
  readonly spec: BucketSpec;
  readonly waiters: Waiter[];
}

/** Tokens of one bucket (under one spec) taken ahead of need and not spent yet. */
interface Lease {
  readonly bucket: string;
  readonly spec: BucketSpec;
  tokens: number;
  /**
   * Until when they may be spent (ms since epoch); then they go back to the bucket. Set at every
   * call, tokens or not: a call before this time means the bucket is busy here.
   */
  until: number;
  /** How many tokens the next script call asks for beyond the checks waiting for it. */
  ahead: number;
  /** Script calls under way (a lease is not forgotten while one is). */
  calls: number;
}

export interface RateLimiterOptions {
  /** How long tokens taken ahead of need may be spent. */
  readonly leaseMs?: number;
}

/** A lease holds at most burst / LEASE_SHARE tokens. */
const LEASE_SHARE = 10;
const GRANTED: Promise<number> = Promise.resolve(0);

export class RateLimiter {
  private readonly redis: WithBucket;
  private pending = new Map<string, Pending>();
  private scheduled = false;
  private readonly leases = new Map<string, Lease>();
  private readonly leaseMs: number;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    options: RateLimiterOptions = {},
  ) {
    redis.defineCommand('tokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    this.redis = redis as WithBucket;
    this.leaseMs = options.leaseMs ?? 1000;
  }

  /** Takes one token; resolves to 0 if allowed, else the milliseconds until one is available. */
  take(bucket: string, spec: BucketSpec): Promise<number> {
    // Grouped by bucket and limits: checks of one bucket under other limits are a call apart.
    const group = `${bucket}\u0000${spec.ratePerSec}\u0000${spec.burst}`;
    const lease = this.leases.get(group);
    if (lease !== undefined && lease.tokens > 0 && lease.until > Date.now()) {
      lease.tokens--;
      return GRANTED;
    }
    return new Promise((resolve, reject) => {
      let p = this.pending.get(group);
      if (p === undefined) {
        p = { group, bucket, spec, waiters: [] };
        this.pending.set(group, p);
      }
      p.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stops the timer that gives back unspent leases, and gives them back now (best effort). */
  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const lease of this.leases.values()) this.giveBack(lease);
    this.leases.clear();
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    const now = Date.now();
    for (const p of all.values()) {
      let lease = this.leases.get(p.group);
      if (lease === undefined) {
        lease = { bucket: p.bucket, spec: p.spec, tokens: 0, until: 0, ahead: 0, calls: 0 };
        this.leases.set(p.group, lease);
        this.sweeper ??= setInterval(() => this.sweep(), this.leaseMs).unref();
      }
      this.call(p, lease, now);
    }
  }

  private call({ bucket, spec, waiters }: Pending, lease: Lease, now: number): void {
    let first = 0;
    let give = 0;
    if (lease.until > now) {
      // A call of the last turn brought tokens after these checks were queued.
      while (first < waiters.length && lease.tokens > 0) {
        lease.tokens--;
        waiters[first++].resolve(0);
      }
      if (first === waiters.length) return;
      // Back before the lease ran out: this bucket is busy here, ask further ahead.
      lease.ahead = Math.min(Math.floor(spec.burst / LEASE_SHARE), Math.max(1, lease.ahead * 2));
    } else {
      give = lease.tokens;
      lease.tokens = 0;
      lease.ahead >>= 1;
    }
    const asked = waiters.length - first;
    lease.calls++;
    this.redis
      .tokenBucket(
        `${this.prefix}ratelimit:${bucket}`,
        spec.ratePerSec,
        spec.burst,
        asked + lease.ahead,
        give,
      )
      .then(
        ([granted, waitMs]) => {
          lease.calls--;
          for (let i = 0; i < asked; i++) waiters[first + i].resolve(i < granted ? 0 : waitMs);
          if (granted > asked) lease.tokens += granted - asked;
          lease.until = Date.now() + this.leaseMs;
        },
        (err: unknown) => {
          lease.calls--;
          for (let i = first; i < waiters.length; i++) waiters[i].reject(err);
        },
      );
  }

  /** Gives back what leases that ran out did not spend, and forgets leases idle for a while. */
  private sweep(): void {
    const now = Date.now();
    for (const [group, lease] of this.leases) {
      if (lease.until > now || lease.calls > 0) continue;
      if (lease.tokens > 0) {
        this.giveBack(lease);
        lease.tokens = 0;
      } else if (lease.until <= now - this.leaseMs) {
        this.leases.delete(group);
      }
    }
    if (this.leases.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private giveBack(lease: Lease): void {
    if (lease.tokens === 0) return;
    this.redis
      .tokenBucket(
        `${this.prefix}ratelimit:${lease.bucket}`,
        lease.spec.ratePerSec,
        lease.spec.burst,
        0,
        lease.tokens,
      )
      .catch(() => undefined);
  }
}
