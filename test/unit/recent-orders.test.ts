/** The engine's memory of recently closed orders: the last N by close, each once. */
import type { OrderView } from '../../services/engine/core';
import { RecentOrders } from '../../services/engine/recent-orders';

const view = (orderId: number, status = 'filled') => ({ orderId, status }) as unknown as OrderView;

describe('RecentOrders', () => {
  it('keeps the last N closed, forgetting the oldest first', () => {
    const recent = new RecentOrders(3);
    for (const id of [10, 11, 12, 13, 14]) recent.add(view(id));
    expect(recent.size).toBe(3);
    expect([10, 11, 12, 13, 14].map((id) => recent.get(id)?.orderId)).toEqual([
      undefined,
      undefined,
      12,
      13,
      14,
    ]);
  });

  it('replaces the view of an order it holds without counting it twice', () => {
    const recent = new RecentOrders(2);
    recent.add(view(1, 'cancelled'));
    recent.add(view(2));
    recent.add(view(1, 'filled'));
    expect(recent.size).toBe(2);
    expect(recent.get(1)?.status).toBe('filled');
    recent.add(view(3)); // evicts 1, the oldest by first close
    expect(recent.get(1)).toBeUndefined();
    expect(recent.get(2)?.orderId).toBe(2);
    expect(recent.get(3)?.orderId).toBe(3);
  });

  it('holds exactly its capacity through many turns of the ring', () => {
    const recent = new RecentOrders(1000);
    for (let id = 0; id < 25_000; id++) recent.add(view(id));
    expect(recent.size).toBe(1000);
    expect(recent.get(23_999)).toBeUndefined();
    expect(recent.get(24_000)?.orderId).toBe(24_000);
    expect(recent.get(24_999)?.orderId).toBe(24_999);
  });
});
