/**
 * The gateway's token buckets against the real Redis: checks arriving together share one
 * script call and get exactly what one call each would have given; two gateways share a limit;
 * a busy bucket's tokens taken ahead (a lease) save calls, never pass more requests than the
 * bucket holds, and what a lease did not spend goes back.
 */
import { Redis } from 'ioredis';
import { RateLimiter, type RateLimiterOptions } from '../../gateway/rate-limit';
import type { BucketSpec } from '../../gateway/rate-limit';
import { freePort } from '../support/ports';
import { isolate, TEST_REDIS_URL, type Isolation } from '../support/stack';

let iso: Isolation;
let redis: Redis;

beforeAll(() => {
  iso = isolate('ratelimit');
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  redis.disconnect();
  await iso.cleanup();
});

/** Counts the script calls a limiter makes (the calls still go to Redis). */
function counted(
  client: Redis,
  options?: RateLimiterOptions,
): { limiter: RateLimiter; calls: () => number } {
  const limiter = new RateLimiter(client, iso.prefix, options);
  const target = client as unknown as { tokenBucket: (...args: unknown[]) => Promise<unknown> };
  const real = target.tokenBucket.bind(client);
  let calls = 0;
  target.tokenBucket = (...args: unknown[]) => {
    calls++;
    return real(...args);
  };
  return { limiter, calls: () => calls };
}

const SLOW = { ratePerSec: 1, burst: 4 };

/** Takes `n` tokens one after another (each check waits for the one before), in turn from each. */
async function oneByOne(limiters: RateLimiter[], bucket: string, spec: BucketSpec, n: number) {
  const waits: number[] = [];
  for (let i = 0; i < n; i++) waits.push(await limiters[i % limiters.length].take(bucket, spec));
  return waits;
}

/** The tokens the bucket holds in Redis now, refill since its last call not counted. */
async function tokensIn(bucket: string): Promise<number> {
  return Number(await redis.hget(`${iso.prefix}ratelimit:${bucket}`, 'tokens'));
}

describe('RateLimiter', () => {
  it('answers the checks of one turn with one call: the first tokens granted, the rest told to wait', async () => {
    const client = new Redis(TEST_REDIS_URL);
    try {
      const { limiter, calls } = counted(client);
      const waits = await Promise.all(Array.from({ length: 10 }, () => limiter.take('a', SLOW)));
      expect(waits.slice(0, 4)).toEqual([0, 0, 0, 0]);
      for (const w of waits.slice(4)) {
        expect(w).toBeGreaterThan(0);
        expect(w).toBeLessThanOrEqual(1000);
      }
      expect(calls()).toBe(1);
      // Another bucket in the same turn is a call of its own, and unaffected.
      const [x, y] = await Promise.all([limiter.take('a', SLOW), limiter.take('b', SLOW)]);
      expect(x).toBeGreaterThan(0);
      expect(y).toBe(0);
      expect(calls()).toBe(3);
    } finally {
      client.disconnect();
    }
  });

  it('checks one bucket under other limits in a call of its own', async () => {
    const client = new Redis(TEST_REDIS_URL);
    try {
      const { limiter, calls } = counted(client);
      const tight = { ratePerSec: 1, burst: 1 };
      const waits = await Promise.all([
        limiter.take('mixed', SLOW),
        limiter.take('mixed', tight),
        limiter.take('mixed', SLOW),
      ]);
      expect(calls()).toBe(2);
      // The SLOW pair took 2 of the bucket's 4 tokens first; the tight check found 2 left but
      // may hold at most 1: allowed.
      expect(waits).toEqual([0, 0, 0]);
    } finally {
      client.disconnect();
    }
  });

  it('refills at the rate', async () => {
    const fast = { ratePerSec: 50, burst: 2 };
    const limiter = new RateLimiter(redis, iso.prefix);
    const first = await Promise.all([0, 1, 2].map(() => limiter.take('refill', fast)));
    expect(first.slice(0, 2)).toEqual([0, 0]);
    expect(first[2]).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, first[2] + 30));
    expect(await limiter.take('refill', fast)).toBe(0);
  });

  it('shares one limit between two gateways', async () => {
    const other = new Redis(TEST_REDIS_URL);
    try {
      const a = new RateLimiter(redis, iso.prefix);
      const b = new RateLimiter(other, iso.prefix);
      const waits = await Promise.all([
        ...Array.from({ length: 3 }, () => a.take('shared', SLOW)),
        ...Array.from({ length: 3 }, () => b.take('shared', SLOW)),
      ]);
      expect(waits.filter((w) => w === 0)).toHaveLength(4);
    } finally {
      other.disconnect();
    }
  });

  it('takes tokens ahead for a client that checks one at a time: fewer calls, all granted', async () => {
    const client = new Redis(TEST_REDIS_URL);
    const { limiter, calls } = counted(client);
    try {
      const waits = await oneByOne([limiter], 'busy', { ratePerSec: 1000, burst: 2000 }, 300);
      expect(waits.every((w) => w === 0)).toBe(true);
      // Ahead doubles from 1 to its cap of 200 (a tenth of the burst): 9 calls, then fewer.
      expect(calls()).toBeLessThan(30);
    } finally {
      limiter.close();
      client.disconnect();
    }
  });

  it('never passes more checks than the bucket holds, leases or not', async () => {
    const spec = { ratePerSec: 1, burst: 40 };
    const limiter = new RateLimiter(redis, iso.prefix);
    try {
      const waits = await oneByOne([limiter], 'exact', spec, 60);
      const passed = waits.filter((w) => w === 0).length;
      // 40 in the bucket, plus at most one refilled while the test runs.
      expect(passed).toBeGreaterThanOrEqual(40);
      expect(passed).toBeLessThanOrEqual(41);
      expect(waits.slice(0, 40).every((w) => w === 0)).toBe(true);
      expect(waits[waits.length - 1]).toBeGreaterThan(0);
    } finally {
      limiter.close();
    }
  });

  it('shares a busy bucket between two gateways without passing more than it holds', async () => {
    const other = new Redis(TEST_REDIS_URL);
    const a = new RateLimiter(redis, iso.prefix);
    const b = new RateLimiter(other, iso.prefix);
    try {
      const waits = await oneByOne([a, b], 'shared-busy', { ratePerSec: 1, burst: 40 }, 80);
      const passed = waits.filter((w) => w === 0).length;
      expect(passed).toBeGreaterThanOrEqual(40);
      expect(passed).toBeLessThanOrEqual(41);
    } finally {
      a.close();
      b.close();
      other.disconnect();
    }
  });

  it('gives back the tokens a lease did not spend once it runs out', async () => {
    const client = new Redis(TEST_REDIS_URL);
    const { limiter, calls } = counted(client, { leaseMs: 100 });
    try {
      const spec = { ratePerSec: 0.001, burst: 100 };
      // The 21st check's call takes 10 ahead (asked 1, 2, 3, 5, 9 and 11 tokens by then).
      await oneByOne([limiter], 'giveback', spec, 21);
      expect(await tokensIn('giveback')).toBeCloseTo(69, 0);
      const before = calls();
      await new Promise((r) => setTimeout(r, 350));
      expect(calls()).toBeGreaterThan(before);
      expect(await tokensIn('giveback')).toBeCloseTo(79, 0);
    } finally {
      limiter.close();
      client.disconnect();
    }
  });

  it('does not lease from a small bucket: a burst under ten is checked call by call', async () => {
    const client = new Redis(TEST_REDIS_URL);
    const { limiter, calls } = counted(client);
    try {
      const waits = await oneByOne([limiter], 'small', { ratePerSec: 0.001, burst: 9 }, 10);
      expect(waits.slice(0, 9)).toEqual(Array(9).fill(0));
      expect(waits[9]).toBeGreaterThan(0);
      expect(calls()).toBe(10);
      expect(await tokensIn('small')).toBeCloseTo(0, 2);
    } finally {
      limiter.close();
      client.disconnect();
    }
  });

  it('fails every check of the turn when Redis cannot be reached', async () => {
    const down = new Redis({
      port: await freePort(),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => undefined);
    try {
      const limiter = new RateLimiter(down, iso.prefix);
      const results = await Promise.allSettled([
        limiter.take('down', SLOW),
        limiter.take('down', SLOW),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      down.disconnect();
    }
  });
});
