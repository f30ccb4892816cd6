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
 * otherwise waits for a Redis round trip on every one of them). A bucket is busy here when its
 * last call came back less than `leaseMs` ago; then a call with every check granted also takes
 * one token ahead, twice as many at each such call, up to a tenth of the burst (buckets with a
 * burst under ten are never leased), and none while another call of the bucket is under way.
 *
 * The bucket in Redis counts what each gateway may hold leased, and holds at most the burst less
 * those tokens: so the tokens left in Redis and in every lease together are at most the burst,
 * as in one exact bucket. A gateway's next call tells Redis what it still holds (the rest of its
 * lease was spent), and once its lease ran out it gives back the tokens it did not spend (a timer
 * does that for a bucket that sees no more checks). Redis counts a lease for twice its length,
 * so that the give-back finds it; one arriving later is refused, since the count it would return
 * to the bucket is already gone. A lease nobody reports on (its gateway stopped) stops counting
 * then too. What a failed call reported or gave back errs on the strict side until the next.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * ARGV: rate, burst, tokens asked, tokens ahead, gateway, leased tokens given back, leased tokens
 * the gateway still holds (-1: no report), lease ms. Returns { granted, milliseconds until the
 * next token, taken ahead }. Tokens ahead are taken only when every asked one was granted.
 * Fields of the bucket's hash: `tokens` and `ts` (as ever), and per gateway holding a lease
 * `l:<gateway>` (tokens it may hold) and `u:<gateway>` (until when Redis counts them, ms: twice
 * the lease, so that a give-back sent once the gateway's own lease ran out still finds them).
 * A gateway reports what it holds, not what it spent: a report lost with a failed call is made
 * good by the next one. A give-back is accepted only up to what Redis counts for that gateway.
 */
const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local asked = tonumber(ARGV[3])
local ahead = tonumber(ARGV[4])
local me = ARGV[5]
local give = tonumber(ARGV[6])
local holding = tonumber(ARGV[7])
local lease_ms = tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HGETALL', KEYS[1])
local tokens = burst
local ts = now
local leased = {}
local untils = {}
for i = 1, #h, 2 do
  local k = h[i]
  local v = tonumber(h[i + 1])
  if k == 'tokens' then tokens = v
  elseif k == 'ts' then ts = v
  elseif string.sub(k, 1, 2) == 'l:' then leased[string.sub(k, 3)] = v
  elseif string.sub(k, 1, 2) == 'u:' then untils[string.sub(k, 3)] = v
  end
end
local total = 0
for g, n in pairs(leased) do
  if (untils[g] or 0) <= now then
    redis.call('HDEL', KEYS[1], 'l:' .. g, 'u:' .. g)
    leased[g] = nil
  else
    total = total + n
  end
end
-- Refilled while the leases were out; then this gateway's report: what it no longer holds and
-- did not give back was spent, what it gives back returns to the bucket.
tokens = math.max(0, math.min(burst - total, tokens + math.max(0, now - ts) * rate / 1000))
local mine = leased[me]
if mine == nil then
  give = 0
elseif holding >= 0 then
  give = math.max(0, math.min(give, mine - holding))
  leased[me] = holding
  total = total - mine + holding
else
  give = math.max(0, math.min(give, mine))
  leased[me] = mine - give
  total = total - give
end
tokens = math.max(0, math.min(burst - total, tokens + give))
local granted = math.max(0, math.min(asked, math.floor(tokens)))
tokens = tokens - granted
local wait = 0
if granted < asked then
  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
local extra = 0
if granted == asked and ahead > 0 then
  extra = math.max(0, math.min(ahead, math.floor(tokens)))
end
if extra > 0 then
  tokens = tokens - extra
  redis.call('HSET', KEYS[1], 'l:' .. me, (leased[me] or 0) + extra, 'u:' .. me, now + 2 * lease_ms)
elseif leased[me] ~= nil then
  if leased[me] > 0 then
    redis.call('HSET', KEYS[1], 'l:' .. me, leased[me])
  else
    redis.call('HDEL', KEYS[1], 'l:' .. me, 'u:' .. me)
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.max(math.ceil(burst * 1000 / rate), 2 * lease_ms) + 1000)
return { granted, wait, extra }
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
    asked: number,
    ahead: number,
    gateway: string,
    give: number,
    holding: number,
    leaseMs: number,
  ): Promise<[number, number, number]>;
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

/** What this gateway holds of one bucket (under one spec) and knows of its use. */
interface Lease {
  readonly bucket: string;
  readonly spec: BucketSpec;
  /** Tokens taken ahead and not spent yet. */
  tokens: number;
  /**
   * Until when they may be spent (`performance.now()` ms): `leaseMs` after the call that last
   * added to them was sent (Redis counts them for twice that from when it ran the call).
   */
  until: number;
  /** When the last call came back: a call within `leaseMs` of it means a busy bucket. */
  lastCall: number;
  /** How many tokens the next call takes ahead, if it takes any. */
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
  /** This limiter's name in the buckets' lease fields. */
  private readonly id = randomBytes(6).toString('hex');
  private pending = new Map<string, Pending>();
  private scheduled = false;
  private readonly leases = new Map<string, Lease>();
  private readonly leaseMs: number;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

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
    if (lease !== undefined && lease.tokens > 0 && lease.until > performance.now()) {
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

  /**
   * Gives back every lease (best effort), and takes none from now on; calls still under way give
   * back what they bring. Stops the timer.
   */
  close(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const lease of this.leases.values()) this.report(lease);
    this.leases.clear();
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    const now = performance.now();
    for (const p of all.values()) {
      let lease = this.leases.get(p.group);
      if (lease === undefined) {
        lease = {
          bucket: p.bucket,
          spec: p.spec,
          tokens: 0,
          until: 0,
          lastCall: -Infinity,
          ahead: 0,
          calls: 0,
        };
        if (!this.closed) {
          this.leases.set(p.group, lease);
          // Every half lease, so that what a lease did not spend goes back while Redis counts it.
          this.sweeper ??= setInterval(() => this.sweep(), this.leaseMs / 2).unref();
        }
      }
      this.call(p, lease, now);
    }
  }

  /** Serves `waiters` from the lease while it has tokens; returns how many it served. */
  private serve(lease: Lease, waiters: Waiter[], from: number, now: number): number {
    let i = from;
    if (lease.until > now) {
      while (i < waiters.length && lease.tokens > 0) {
        lease.tokens--;
        waiters[i++].resolve(0);
      }
    }
    return i;
  }

  private call({ spec, waiters }: Pending, lease: Lease, now: number): void {
    // A call of the last turn may have brought tokens after these checks were queued.
    const first = this.serve(lease, waiters, 0, now);
    if (first === waiters.length) return;
    if (now - lease.lastCall < this.leaseMs) {
      lease.ahead = Math.min(Math.floor(spec.burst / LEASE_SHARE), Math.max(1, lease.ahead * 2));
    } else {
      lease.ahead >>= 1;
    }
    // With another call under way, what this gateway holds is not known until it comes back:
    // this call takes nothing ahead and reports nothing.
    const alone = lease.calls === 0;
    const ahead = this.closed || !alone ? 0 : lease.ahead;
    let give = 0;
    let holding = -1;
    if (alone) {
      if (lease.until <= now) {
        give = lease.tokens;
        lease.tokens = 0;
      }
      holding = lease.tokens;
    }
    const asked = waiters.length - first;
    lease.calls++;
    this.script(lease, asked, ahead, give, holding).then(
      ([granted, waitMs, extra]) => {
        lease.calls--;
        lease.lastCall = performance.now();
        if (extra > 0) {
          lease.tokens += extra;
          lease.until = now + this.leaseMs;
        }
        for (let i = 0; i < granted; i++) waiters[first + i].resolve(0);
        // Refused by Redis, but another call may have leased tokens here meanwhile.
        const rest = this.serve(lease, waiters, first + granted, performance.now());
        for (let i = rest; i < waiters.length; i++) waiters[i].resolve(waitMs);
        if (this.closed) this.report(lease);
      },
      (err: unknown) => {
        lease.calls--;
        for (let i = first; i < waiters.length; i++) waiters[i].reject(err);
      },
    );
  }

  /** Gives back what leases that ran out did not spend, and forgets leases idle for a while. */
  private sweep(): void {
    const now = performance.now();
    for (const [group, lease] of this.leases) {
      if (lease.calls > 0 || lease.until > now) continue;
      if (lease.tokens > 0) {
        this.report(lease);
      } else if (now - lease.lastCall >= 2 * this.leaseMs) {
        this.leases.delete(group);
      }
    }
    if (this.leases.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Gives back a lease's tokens, taking none (not while a call of it is under way). */
  private report(lease: Lease): void {
    if (lease.calls > 0) return;
    const tokens = lease.tokens;
    lease.tokens = 0;
    this.script(lease, 0, 0, tokens, 0).catch(() => undefined);
  }

  /** One call of the bucket's script (see TOKEN_BUCKET for what the arguments mean). */
  private script(
    lease: Lease,
    asked: number,
    ahead: number,
    give: number,
    holding: number,
  ): Promise<[number, number, number]> {
    return this.redis.tokenBucket(
      `${this.prefix}ratelimit:${lease.bucket}`,
      lease.spec.ratePerSec,
      lease.spec.burst,
      asked,
      ahead,
      this.id,
      give,
      holding,
      this.leaseMs,
    );
  }
}
