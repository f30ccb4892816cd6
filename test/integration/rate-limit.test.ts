/**
 * The gateway's token buckets against the real Redis: checks arriving together share one
 * script call and get exactly what one call each would have given; two gateways share a limit;
 * a busy bucket's tokens taken ahead (a lease) save calls, never pass more requests than the
 * bucket holds, and what a lease did not spend goes back.
 */
import { Redis } from 'ioredis';
import { type BucketSpec, RateLimiter, type RateLimiterOptions } from '../../gateway/rate-limit';
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

type Script = (...args: unknown[]) => Promise<unknown>;

/** Puts `around` between `client`'s script command and Redis (the limiter defines it first). */
function intercept(client: Redis, around: (real: Script, args: unknown[]) => Promise<unknown>) {
  const target = client as unknown as { tokenBucket: Script };
  const real = target.tokenBucket.bind(client);
  target.tokenBucket = (...args: unknown[]) => around(real, args);
}

/** Limiters opened by a test and their connections, closed after it. */
const opened: { client: Redis; limiter: RateLimiter }[] = [];

afterEach(() => {
  for (const { client, limiter } of opened.splice(0)) {
    limiter.close();
    client.disconnect();
  }
});

/** A gateway's limiter on a connection of its own, counting the script calls it makes. */
function gateway(options?: RateLimiterOptions): {
  client: Redis;
  limiter: RateLimiter;
  calls: () => number;
} {
  const client = new Redis(TEST_REDIS_URL);
  const limiter = new RateLimiter(client, iso.prefix, options);
  opened.push({ client, limiter });
  let calls = 0;
  intercept(client, (real, args) => {
    calls++;
    return real(...args);
  });
  return { client, limiter, calls: () => calls };
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

/** The tokens Redis counts as leased to gateways (and not reported spent) for the bucket. */
async function leasedIn(bucket: string): Promise<{ gateways: number; tokens: number }> {
  const h = await redis.hgetall(`${iso.prefix}ratelimit:${bucket}`);
  const leased = Object.entries(h).filter(([k]) => k.startsWith('l:'));
  return { gateways: leased.length, tokens: leased.reduce((a, [, v]) => a + Number(v), 0) };
}

/** Delays every script call's answer by `ms` (the call itself goes out at once). */
function slowed(client: Redis, ms: number): void {
  intercept(client, async (real, args) => {
    const answer = await real(...args);
    await sleep(ms);
    return answer;
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RateLimiter', () => {
  it('answers the checks of one turn with one call: the first tokens granted, the rest told to wait', async () => {
    const { limiter, calls } = gateway();
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
  });

  it('checks one bucket under other limits in a call of its own', async () => {
    const { limiter, calls } = gateway();
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
  });

  it('refills at the rate', async () => {
    const fast = { ratePerSec: 50, burst: 2 };
    const { limiter } = gateway();
    const first = await Promise.all([0, 1, 2].map(() => limiter.take('refill', fast)));
    expect(first.slice(0, 2)).toEqual([0, 0]);
    expect(first[2]).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, first[2] + 30));
    expect(await limiter.take('refill', fast)).toBe(0);
  });

  it('shares one limit between two gateways', async () => {
    const a = gateway().limiter;
    const b = gateway().limiter;
    const waits = await Promise.all([
      ...Array.from({ length: 3 }, () => a.take('shared', SLOW)),
      ...Array.from({ length: 3 }, () => b.take('shared', SLOW)),
    ]);
    expect(waits.filter((w) => w === 0)).toHaveLength(4);
  });

  it('takes tokens ahead for a client that checks one at a time: fewer calls, all granted', async () => {
    const { limiter, calls } = gateway();
    const waits = await oneByOne([limiter], 'busy', { ratePerSec: 1000, burst: 2000 }, 300);
    expect(waits.every((w) => w === 0)).toBe(true);
    // Ahead doubles from 1 to its cap of 200 (a tenth of the burst): 9 calls, then fewer.
    expect(calls()).toBeLessThan(30);
  });

  it('never passes more checks than the bucket holds, leases or not', async () => {
    const spec = { ratePerSec: 1, burst: 40 };
    const { limiter } = gateway();
    const waits = await oneByOne([limiter], 'exact', spec, 60);
    const passed = waits.filter((w) => w === 0).length;
    // 40 in the bucket, plus at most one refilled while the test runs.
    expect(passed).toBeGreaterThanOrEqual(40);
    expect(passed).toBeLessThanOrEqual(41);
    expect(waits.slice(0, 40).every((w) => w === 0)).toBe(true);
    expect(waits[waits.length - 1]).toBeGreaterThan(0);
  });

  it('shares a busy bucket between two gateways without passing more than it holds', async () => {
    const limiters = [gateway().limiter, gateway().limiter];
    const waits = await oneByOne(limiters, 'shared-busy', { ratePerSec: 1, burst: 40 }, 80);
    const passed = waits.filter((w) => w === 0).length;
    expect(passed).toBeGreaterThanOrEqual(40);
    expect(passed).toBeLessThanOrEqual(41);
  });

  it('gives back the tokens a lease did not spend once it runs out', async () => {
    const { limiter, calls } = gateway({ leaseMs: 500 });
    const spec = { ratePerSec: 0.001, burst: 100 };
    // The 21st check's call takes 10 ahead (asked 1, 1+1, 1+2, 1+4, 1+8 and 1+10 by then).
    await oneByOne([limiter], 'giveback', spec, 21);
    expect(calls()).toBe(6);
    expect(await tokensIn('giveback')).toBeCloseTo(69, 0);
    expect(await leasedIn('giveback')).toEqual({ gateways: 1, tokens: 10 });
    await sleep(1600);
    expect(calls()).toBe(7);
    expect(await tokensIn('giveback')).toBeCloseTo(79, 0);
    expect((await leasedIn('giveback')).tokens).toBe(0);
  });

  // 600 ms: the leases are still good at the burst; 1,300 ms: they ran out and were given back.
  it.each([600, 1300])(
    'never lets a burst pass more than the bucket holds, whatever the gateways hold leased (pause %i ms)',
    async (pause) => {
      const spec = { ratePerSec: 100, burst: 200 };
      const bucket = `burst-${pause}`;
      const limiters = [0, 1, 2].map(() => gateway().limiter);
      // Below the limit, one check after another through each gateway in turn: the leases grow.
      let refused = 0;
      for (let i = 0; i < 90; i++) {
        if ((await limiters[i % 3].take(bucket, spec)) > 0) refused++;
        await sleep(2);
      }
      expect(refused).toBe(0);
      expect((await leasedIn(bucket)).tokens).toBeGreaterThan(0);
      // The bucket refills to its burst; then everything at once.
      await sleep(pause);
      const waits = await Promise.all(
        limiters.flatMap((l) => Array.from({ length: 300 }, () => l.take(bucket, spec))),
      );
      const passed = waits.filter((w) => w === 0).length;
      // 200, and at most 2 refilled while the burst was answered.
      expect(passed).toBeGreaterThanOrEqual(150);
      expect(passed).toBeLessThanOrEqual(202);
    },
  );

  it('holds at most a tenth of the burst leased, however many calls are under way', async () => {
    const { client, limiter } = gateway();
    slowed(client, 2);
    const spec = { ratePerSec: 1000, burst: 2000 };
    let most = 0;
    for (let round = 0; round < 40; round++) {
      // Three checks, then three more a turn later, while the first call is still under way.
      const first = Array.from({ length: 3 }, () => limiter.take('many', spec));
      await new Promise((r) => setImmediate(r));
      const second = Array.from({ length: 3 }, () => limiter.take('many', spec));
      expect(await Promise.all([...first, ...second])).toEqual([0, 0, 0, 0, 0, 0]);
      const leased = await leasedIn('many');
      expect(leased.gateways).toBeLessThanOrEqual(1);
      most = Math.max(most, leased.tokens);
    }
    // The lease grew to its cap of 200 (a tenth of the burst), and never past it.
    expect(most).toBe(200);
  });

  it('answers from the lease a check that Redis refused while another call leased tokens', async () => {
    const { client, limiter } = gateway();
    const other = gateway().limiter;
    const spec = { ratePerSec: 0.001, burst: 100 };
    // After 21 checks the lease holds 10 (see above); 10 more spend them all.
    await oneByOne([limiter], 'refused', spec, 31);
    // Another gateway takes all but 5 of what is left, in one call (nothing ahead).
    const left = Math.floor(await tokensIn('refused'));
    await Promise.all(Array.from({ length: left - 5 }, () => other.take('refused', spec)));
    expect(await tokensIn('refused')).toBeCloseTo(5, 0);
    // Two checks a turn apart, the answers slowed: the first call takes the 5 (1 and 4 ahead),
    // the second finds none in Redis but 4 in this gateway's lease.
    slowed(client, 5);
    const a = limiter.take('refused', spec);
    await new Promise((r) => setImmediate(r));
    const b = limiter.take('refused', spec);
    expect([await a, await b]).toEqual([0, 0]);
  });

  it('gives back on close what calls still under way bring', async () => {
    const { client, limiter } = gateway();
    const spec = { ratePerSec: 0.001, burst: 100 };
    await oneByOne([limiter], 'closing', spec, 21);
    slowed(client, 20);
    // Spends what the lease holds, then a call that takes more ahead is under way at close.
    const waits = await oneByOne([limiter], 'closing', spec, 10);
    const last = limiter.take('closing', spec);
    await new Promise((r) => setImmediate(r));
    limiter.close();
    waits.push(await last);
    await sleep(100);
    const passed = 21 + waits.filter((w) => w === 0).length;
    expect(passed).toBe(32);
    expect(await tokensIn('closing')).toBeCloseTo(100 - passed, 0);
    expect((await leasedIn('closing')).tokens).toBe(0);
  });

  it('refuses a give-back that comes after Redis stopped counting the lease', async () => {
    const { client } = gateway();
    const script = (client as unknown as { tokenBucket: (...a: unknown[]) => Promise<number[]> })
      .tokenBucket;
    const key = `${iso.prefix}ratelimit:late`;
    // Gateway "g" takes 1 and 20 ahead; Redis counts the lease for twice 50 ms.
    expect(await script.call(client, key, 0.001, 200, 1, 20, 'g', 0, -1, 50)).toEqual([1, 0, 20]);
    expect(await tokensIn('late')).toBeCloseTo(179, 2);
    await sleep(150);
    // Its give-back, too late: the lease no longer counts, so the 20 must not come back.
    await script.call(client, key, 0.001, 200, 0, 0, 'g', 20, 0, 50);
    expect(await tokensIn('late')).toBeCloseTo(179, 2);
    expect(await leasedIn('late')).toEqual({ gateways: 0, tokens: 0 });
  });

  it('answers a gateway with a lower burst for the same key than another gateway leases', async () => {
    const big = gateway().limiter;
    const small = gateway().limiter;
    // The first gateway leases 20 of 200; the other counts the same key with a burst of 10.
    await oneByOne([big], 'mixed-burst', { ratePerSec: 0.001, burst: 200 }, 60);
    expect((await leasedIn('mixed-burst')).tokens).toBeGreaterThan(10);
    const wait = await small.take('mixed-burst', { ratePerSec: 0.001, burst: 10 });
    expect(wait).toBeGreaterThan(0);
    expect(await tokensIn('mixed-burst')).toBeGreaterThanOrEqual(0);
  });

  it('makes good a report lost with a failed call at the next call', async () => {
    const { client, limiter, calls } = gateway();
    // The 8th call reaches Redis, but its answer is lost.
    intercept(client, async (real, args) => {
      const answer = await real(...args);
      if (calls() === 8) throw new Error('connection reset');
      return answer;
    });
    const spec = { ratePerSec: 0.001, burst: 200 };
    let failed = 0;
    for (let i = 0; i < 100; i++) {
      await limiter.take('lost', spec).catch(() => failed++);
    }
    expect(failed).toBe(1);
    // Redis counted the lost call's tokens ahead as leased; the calls after it said what this
    // gateway really holds, and on close it gives that back: nothing is left counted.
    limiter.close();
    await sleep(50);
    expect(await leasedIn('lost')).toEqual({ gateways: 0, tokens: 0 });
    // 99 passed, 1 granted to the failed call, at most 20 lost with its answer.
    expect(await tokensIn('lost')).toBeGreaterThanOrEqual(80);
  });

  it('does not lease from a small bucket: a burst under ten is checked call by call', async () => {
    const { limiter, calls } = gateway();
    const waits = await oneByOne([limiter], 'small', { ratePerSec: 0.001, burst: 9 }, 10);
    expect(waits.slice(0, 9)).toEqual(Array(9).fill(0));
    expect(waits[9]).toBeGreaterThan(0);
    expect(calls()).toBe(10);
    expect(await tokensIn('small')).toBeCloseTo(0, 2);
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
