import { BalanceSheet } from '../../../services/engine/core/balance-sheet';
import type { Order } from '../../../services/engine/core/order';
import { OrderIndex } from '../../../services/engine/core/order-index';
import { prng } from '../../support/prng';

/** A stand-in order: the index only reads `id`. */
const fake = (id: number): Order => ({ id }) as Order;

describe('OrderIndex', () => {
  it('behaves like a Map of open orders, iterated in id order', () => {
    const index = new OrderIndex();
    const model = new Map<number, Order>();
    const rnd = prng(7);
    let next = 0;
    for (let i = 0; i < 20_000; i++) {
      if (rnd() < 0.55 || model.size === 0) {
        // Ids only grow; now and then a jump over whole pages.
        next += rnd() < 0.01 ? 5000 : 1;
        const order = fake(next);
        index.set(next, order);
        model.set(next, order);
      } else {
        const ids = [...model.keys()];
        const victim = ids[Math.floor(rnd() * ids.length)];
        expect(index.delete(victim)).toBe(true);
        model.delete(victim);
        expect(index.delete(victim)).toBe(false);
      }
      expect(index.size).toBe(model.size);
    }
    for (const id of [next, next + 1, 1, 0, -1, 1.5, NaN, 2 ** 40]) {
      expect(index.get(id)).toBe(model.get(id));
      expect(index.has(id)).toBe(model.has(id));
    }
    expect(index.inIdOrder().map((o) => o.id)).toEqual([...model.keys()]);
  });

  it('keeps ids beyond 2^31 too', () => {
    const index = new OrderIndex();
    index.set(3, fake(3));
    index.set(2 ** 33, fake(2 ** 33));
    index.set(2 ** 32, fake(2 ** 32));
    expect(index.size).toBe(3);
    expect(index.get(2 ** 33)?.id).toBe(2 ** 33);
    expect(index.inIdOrder().map((o) => o.id)).toEqual([3, 2 ** 32, 2 ** 33]);
    expect(index.delete(2 ** 32)).toBe(true);
    expect(index.get(2 ** 32)).toBeUndefined();
    expect(index.size).toBe(2);
  });
});

describe('BalanceSheet.account', () => {
  it('finds numbered and other user ids, and nothing for near misses', () => {
    const sheet = new BalanceSheet();
    const ids = ['1', '2', '10', 'alice', '007', '3'];
    for (const id of ids) sheet.openAccount(id, `hash-${id}`);
    for (const id of ids) expect(sheet.account(id).userId).toBe(id);
    for (const miss of ['', '0', '4', '7', '1.0', ' 1', '+1', '1e1', '0x1', '-1', 'NaN', '9']) {
      expect(() => sheet.account(miss)).toThrow('unknown user');
    }
  });
});
