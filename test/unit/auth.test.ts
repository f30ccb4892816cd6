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
});
