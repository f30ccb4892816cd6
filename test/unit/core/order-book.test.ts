import { BookSide } from '../../../services/engine/core/order-book';
import { prng } from '../../support/prng';

describe('BookSide', () => {
  it.each(['buy', 'sell'] as const)(
    'keeps %s levels sorted with the best last, whatever the insert order',
    (side) => {
      const book = new BookSide(side);
      const rnd = prng(42);
      const prices = new Set<number>();
      for (let i = 0; i < 2000; i++) {
        const price = 1 + Math.floor(rnd() * 5000);
        prices.add(price);
        book.levelFor(price);
        if (rnd() < 0.3) {
          const victim = [...prices][Math.floor(rnd() * prices.size)];
          const level = book.level(victim);
          if (level !== undefined) book.removeLevel(level);
          prices.delete(victim);
        }
      }
      const expected = [...prices].sort((a, b) => (side === 'buy' ? b - a : a - b));
      expect([...book.fromBest()].map((l) => l.price)).toEqual(expected);
      expect(book.best?.price).toBe(expected[0]);
      expect(book.levelCount).toBe(prices.size);
    },
  );

  it.each(['buy', 'sell'] as const)(
    'keeps %s levels in order across the paged and the mapped price ranges',
    (side) => {
      const book = new BookSide(side);
      const rnd = prng(9);
      const prices = new Set<number>();
      const pick = (): number =>
        rnd() < 0.5 ? 1 + Math.floor(rnd() * 2000) : 2 ** 24 - 1000 + Math.floor(rnd() * 2000);
      for (let i = 0; i < 3000; i++) {
        const price = pick();
        prices.add(price);
        expect(book.levelFor(price).price).toBe(price);
        if (rnd() < 0.45) {
          const victim = pick();
          const level = book.level(victim);
          expect(level !== undefined).toBe(prices.has(victim));
          if (level !== undefined) book.removeLevel(level);
          prices.delete(victim);
        }
      }
      const expected = [...prices].sort((a, b) => (side === 'buy' ? b - a : a - b));
      expect([...book.fromBest()].map((l) => l.price)).toEqual(expected);
      expect(book.levelCount).toBe(prices.size);
    },
  );

  it('returns the same level for the same price and at most `limit` levels from the best', () => {
    const book = new BookSide('sell');
    for (const p of [105, 101, 103, 102, 104]) book.levelFor(p);
    expect(book.levelFor(103)).toBe(book.level(103));
    expect([...book.fromBest(3)].map((l) => l.price)).toEqual([101, 102, 103]);
  });
});
