import { RecentMap } from '../../services/engine/recent-map';

describe('RecentMap', () => {
  it('always keeps the newest `generation` keys, and never more than twice as many', () => {
    const m = new RecentMap<number, string>(1000);
    for (let i = 1; i <= 10_500; i++) {
      m.set(i, `v${i}`);
      expect(m.size).toBeLessThanOrEqual(2000);
      // The newest 1,000 are there, with their values.
      for (const k of [i, i - 1, i - 500, i - 999]) {
        if (k >= 1) expect(m.get(k)).toBe(`v${k}`);
      }
    }
    // Older ones are forgotten a generation at a time.
    expect(m.get(1)).toBeUndefined();
    expect(m.get(8000)).toBeUndefined();
    expect(m.get(9001)).toBe('v9001');
  });

  it('answers the newest value of a key set again, in either generation', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3); // a new generation: 'a' is in both, the current one wins
    expect(m.get('a')).toBe(3);
    expect(m.get('b')).toBe(2);
    m.set('a', 4); // already in the current generation: no new generation
    expect(m.get('a')).toBe(4);
    expect(m.get('b')).toBe(2);
  });

  it('keeps a value that is undefined apart from a missing key', () => {
    const m = new RecentMap<string, number | undefined>(2);
    m.set('x', 1);
    m.set('y', 2);
    m.set('x', undefined);
    expect(m.get('x')).toBeUndefined();
    expect(m.get('y')).toBe(2);
  });

  it('refuses an empty generation', () => {
    expect(() => new RecentMap(0)).toThrow(RangeError);
  });
});
