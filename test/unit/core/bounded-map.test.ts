/**
 * BoundedMap: the newest N keys, oldest forgotten first, iterated oldest first; and the core's
 * memory of idempotency keys, which is one, through a snapshot round trip.
 */
import {
  BoundedMap,
  fromSnapshot,
  IDEMPOTENCY_CAPACITY,
  toSnapshot,
} from '../../../services/engine/core';
import { Harness } from './harness';

describe('BoundedMap', () => {
  it('keeps the newest N keys and forgets the oldest first', () => {
    const m = new BoundedMap<number, string>(3);
    for (const k of [10, 11, 12, 13, 14]) m.set(k, `v${k}`);
    expect(m.size).toBe(3);
    expect([...m.entries()]).toEqual([
      [12, 'v12'],
      [13, 'v13'],
      [14, 'v14'],
    ]);
    expect(m.has(11)).toBe(false);
    expect(m.get(13)).toBe('v13');
  });

  it('updates a key it holds in its place, without counting it twice', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3);
    expect([...m.entries()]).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    m.set('c', 4); // forgets 'a', the oldest by first insertion
    expect([...m.entries()]).toEqual([
      ['b', 2],
      ['c', 4],
    ]);
  });

  it('holds exactly its capacity through many turns of its ring', () => {
    const m = new BoundedMap<number, number>(1000);
    for (let k = 0; k < 25_000; k++) m.set(k, k);
    expect(m.size).toBe(1000);
    expect(m.has(23_999)).toBe(false);
    expect([...m.entries()][0]).toEqual([24_000, 24_000]);
    expect([...m.entries()].at(-1)).toEqual([24_999, 24_999]);
  });
});

describe('idempotency keys past the capacity', () => {
  it('forgets the oldest key, and a restored core forgets the same next', () => {
    const h = new Harness();
    const user = h.user();
    const deposit = (key: string) =>
      h.run({ type: 'deposit', userId: user, asset: 'USDC', amount: 1n, idempotencyKey: key });
    for (let i = 0; i <= IDEMPOTENCY_CAPACITY; i++) deposit(`k${i}`);
    // k0 is forgotten: the same key moves money again (and is remembered anew, forgetting k1).
    expect(deposit('k0').reply).toMatchObject({ replayed: false });
    expect(deposit('k1').reply).toMatchObject({ replayed: false });
    expect(deposit('k3').reply).toMatchObject({ replayed: true });

    const restored = new Harness();
    (restored as { core: unknown }).core = fromSnapshot(
      JSON.parse(JSON.stringify(toSnapshot(h.core))) as ReturnType<typeof toSnapshot>,
    );
    restored.seq = h.seq;
    restored.ts = h.ts;
    // k1's return forgot k2; the next new key forgets k3, in both alike.
    for (const x of [h, restored]) {
      const run = (key: string) =>
        x.run({ type: 'deposit', userId: user, asset: 'USDC', amount: 1n, idempotencyKey: key });
      expect(run('k4').reply).toMatchObject({ replayed: true });
      run('new');
      expect(run('k3').reply).toMatchObject({ replayed: false });
      expect(run('k5').reply).toMatchObject({ replayed: true });
    }
    expect(toSnapshot(restored.core)).toEqual(toSnapshot(h.core));
  });
});
