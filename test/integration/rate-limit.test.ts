/**
 * The gateway's token buckets against the real Redis: checks arriving together share one
 * script call and get exactly what one call each would have given; two gateways share a limit.
 */
import { Redis } from 'ioredis';
import { RateLimiter } from '../../gateway/rate-limit';
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
function counted(client: Redis): { limiter: RateLimiter; calls: () => number } {
  const limiter = new RateLimiter(client, iso.prefix);
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
