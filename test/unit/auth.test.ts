import { status } from '@grpc/grpc-js';
import { Authenticator } from '../../gateway/auth';
import { ApiError } from '../../gateway/errors';

function fakeEngine(keys: Record<string, string>) {
  const calls: string[] = [];
  return {
    calls,
    authenticate: ({ apiKey }: { apiKey: string }) => {
      calls.push(apiKey);
      const userId = keys[apiKey];
      if (userId !== undefined) return Promise.resolve({ userId });
      return Promise.reject(
        Object.assign(new Error('UNAUTHENTICATED'), { code: status.UNAUTHENTICATED, metadata: {} }),
      );
    },
  };
}

describe('Authenticator', () => {
  afterEach(() => jest.useRealTimers());

  it('asks the engine once per key, then again after a minute', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const engine = fakeEngine({ ek_a: '7' });
    const auth = new Authenticator(engine);
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect(engine.calls).toEqual(['ek_a']);
    jest.setSystemTime(1_000_000 + 61_000);
    await auth.authenticate('Bearer ek_a', 'ip');
    expect(engine.calls).toEqual(['ek_a', 'ek_a']);
  });

  it('refuses malformed headers without asking, and remembers unknown keys briefly', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const engine = fakeEngine({});
    const auth = new Authenticator(engine);
    for (const header of [undefined, '', 'Basic x', 'Bearer ', 'Bearer a b']) {
      await expect(auth.authenticate(header, 'ip')).rejects.toMatchObject({ status: 401 });
    }
    expect(engine.calls).toEqual([]);
    await expect(auth.authenticate('Bearer ek_x', 'ip')).rejects.toMatchObject({ status: 401 });
    await expect(auth.authenticate('Bearer ek_x', 'ip')).rejects.toMatchObject({ status: 401 });
    expect(engine.calls).toEqual(['ek_x']);
    jest.setSystemTime(1_000_000 + 11_000);
    await expect(auth.authenticate('Bearer ek_x', 'ip')).rejects.toMatchObject({ status: 401 });
    expect(engine.calls).toEqual(['ek_x', 'ek_x']);
  });

  it('limits look-ups per address, not answers from the cache', async () => {
    const engine = fakeEngine({ ek_a: '7' });
    const asked: string[] = [];
    const auth = new Authenticator(engine, (ip) => {
      asked.push(ip);
      return ip === 'flood'
        ? Promise.reject(new ApiError(429, 'RATE_LIMITED', 'slow down'))
        : Promise.resolve();
    });
    await auth.authenticate('Bearer ek_a', 'home');
    await auth.authenticate('Bearer ek_a', 'flood');
    await expect(auth.authenticate('Bearer ek_new', 'flood')).rejects.toMatchObject({
      status: 429,
    });
    expect(asked).toEqual(['home', 'flood']);
    expect(engine.calls).toEqual(['ek_a']);
  });

  it('works out the address only when the key is not in the cache', async () => {
    const engine = fakeEngine({ ek_a: '7' });
    const asked: string[] = [];
    const auth = new Authenticator(engine, (ip) => {
      asked.push(ip);
      return Promise.resolve();
    });
    let addressLookups = 0;
    const ip = () => {
      addressLookups++;
      return 'home';
    };
    expect((await auth.authenticate('Bearer ek_a', ip))[0]).toBe('7');
    expect((await auth.authenticate('Bearer ek_a', ip))[0]).toBe('7');
    expect(addressLookups).toBe(1);
    expect(asked).toEqual(['home']);
  });
});

describe('Authenticator under a burst', () => {
  afterEach(() => jest.useRealTimers());
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };

  it('lets the requests that miss the cache at once share one look-up and one token', async () => {
    const engine = fakeEngine({ ek_a: '7' });
    const asked: string[] = [];
    // The per-address limit of the gateway: 100 look-ups in a burst.
    const auth = new Authenticator(engine, (ip) => {
      asked.push(ip);
      return asked.length > 100
        ? Promise.reject(new ApiError(429, 'RATE_LIMITED', 'slow down'))
        : Promise.resolve();
    });
    const users = await Promise.all(
      Array.from({ length: 300 }, () => auth.authenticate('Bearer ek_a', 'bot')),
    );
    expect(users.every(([userId]) => userId === '7')).toBe(true);
    expect(engine.calls).toEqual(['ek_a']);
    expect(asked).toEqual(['bot']);
    // An unknown key in a burst: one look-up, every request refused with 401.
    const refused = await Promise.allSettled(
      Array.from({ length: 50 }, () => auth.authenticate('Bearer ek_nope', 'bot')),
    );
    expect(refused.every((r) => r.status === 'rejected' && r.reason.status === 401)).toBe(true);
    expect(engine.calls).toEqual(['ek_a', 'ek_nope']);
  });

  it('renews a key in use before it expires, without making its caller wait', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const engine = fakeEngine({ ek_a: '7' });
    const auth = new Authenticator(engine);
    await auth.authenticate('Bearer ek_a', 'ip');
    jest.setSystemTime(1_000_000 + 45_000);
    await auth.authenticate('Bearer ek_a', 'ip');
    expect(engine.calls).toEqual(['ek_a']);
    // In the last 10 s of its minute: answered from the cache, renewed once in the background.
    jest.setSystemTime(1_000_000 + 55_000);
    const slow = engine.authenticate;
    const held: (() => void)[] = [];
    engine.authenticate = (req) =>
      new Promise((resolve, reject) => {
        held.push(() => void slow(req).then(resolve, reject));
      });
    // Both answered while the renewal is still waiting for the engine; one renewal only.
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect(held).toHaveLength(1);
    held[0]();
    await settle();
    expect(engine.calls).toEqual(['ek_a', 'ek_a']);
    // Past the first minute the renewed entry still answers, without asking again.
    jest.setSystemTime(1_000_000 + 65_000);
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect(engine.calls).toEqual(['ek_a', 'ek_a']);
  });

  it('tries a failed renewal once, then looks the key up as usual when it runs out', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const engine = fakeEngine({ ek_a: '7' });
    const auth = new Authenticator(engine);
    await auth.authenticate('Bearer ek_a', 'ip');
    const working = engine.authenticate;
    let down = 0;
    engine.authenticate = () => {
      down++;
      return Promise.reject(
        Object.assign(new Error('UNAVAILABLE'), { code: status.UNAVAILABLE, metadata: {} }),
      );
    };
    jest.setSystemTime(1_000_000 + 52_000);
    for (let i = 0; i < 5; i++) {
      expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
      await settle();
    }
    expect(down).toBe(1);
    engine.authenticate = working;
    jest.setSystemTime(1_000_000 + 61_000);
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    expect(engine.calls).toEqual(['ek_a', 'ek_a']);
  });

  it('forgets a key at once when a renewal finds the engine no longer knows it', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const keys: Record<string, string> = { ek_a: '7' };
    const engine = fakeEngine(keys);
    const auth = new Authenticator(engine);
    await auth.authenticate('Bearer ek_a', 'ip');
    delete keys.ek_a;
    jest.setSystemTime(1_000_000 + 55_000);
    expect((await auth.authenticate('Bearer ek_a', 'ip'))[0]).toBe('7');
    await settle();
    await expect(auth.authenticate('Bearer ek_a', 'ip')).rejects.toMatchObject({ status: 401 });
    expect(engine.calls).toEqual(['ek_a', 'ek_a']);
  });
});
