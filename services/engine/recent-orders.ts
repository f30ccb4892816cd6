/**
 * The last N orders that closed (filled, cancelled, expired), by id, so GetOrder still answers
 * for them until the History service has them.
 *
 * The eviction order is a ring of ids: the oldest is found without iterating the map, whose
 * iteration skips every entry deleted since its last rehash (a cost that grew with the deletions
 * once the map was full: ~25 µs per closed order at 100,000, against ~0.2 µs this way).
 */
import type { OrderView } from './core';

export class RecentOrders {
  private readonly byId = new Map<number, OrderView>();
  private readonly ring: number[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<number>(capacity).fill(-1);
  }

  get size(): number {
    return this.byId.size;
  }

  get(orderId: number): OrderView | undefined {
    return this.byId.get(orderId);
  }

  /** Remembers `order` (its latest view if it is there already), forgetting the oldest if full. */
  add(order: OrderView): void {
    if (!this.byId.has(order.orderId)) {
      const oldest = this.ring[this.next];
      if (oldest >= 0) this.byId.delete(oldest);
      this.ring[this.next] = order.orderId;
      this.next = (this.next + 1) % this.capacity;
    }
    this.byId.set(order.orderId, order);
  }
}
