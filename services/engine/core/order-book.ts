/**
 * The order book of one market: two sides of price levels with price-time priority.
 *
 * Each side keeps its levels in an array sorted so that the best price is the last element:
 * bids ascending, asks descending. The best level is read in O(1), removing it is a pop, and a
 * new level is inserted by binary search near the top of the book where most activity is. A map
 * from price to level finds a level in O(1). Orders are reached in O(1) through the core's order
 * index and unlinked from their level without a search.
 */
import type { Order } from './order';
import { PriceLevel } from './price-level';
import type { Side } from './types';

export class BookSide {
  /** Sorted, best last. */
  private readonly levels: PriceLevel[] = [];
  private readonly byPrice = new Map<number, PriceLevel>();

  constructor(readonly side: Side) {}

  get best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }

  get levelCount(): number {
    return this.levels.length;
  }

  /** True when `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.side === 'buy' ? a > b : a < b;
  }

  level(price: number): PriceLevel | undefined {
    return this.byPrice.get(price);
  }

  /** The level for `price`, created (and placed in order) when absent. */
  levelFor(price: number): PriceLevel {
    let level = this.byPrice.get(price);
    if (level !== undefined) return level;
    level = new PriceLevel(this.side, price);
    this.byPrice.set(price, level);
    const levels = this.levels;
    // Insert before the first level that is better than `price` (best stays last).
    let lo = 0;
    let hi = levels.length;
    if (hi === 0 || this.better(price, levels[hi - 1].price)) {
      levels.push(level);
      return level;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.better(price, levels[mid].price)) lo = mid + 1;
      else hi = mid;
    }
    levels.splice(lo, 0, level);
    return level;
  }

  /** Drops an empty level. */
  removeLevel(level: PriceLevel): void {
    this.byPrice.delete(level.price);
    const levels = this.levels;
    const last = levels.length - 1;
    if (levels[last] === level) {
      levels.pop();
      return;
    }
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.better(level.price, levels[mid].price)) lo = mid + 1;
      else hi = mid;
    }
    levels.splice(lo, 1);
  }

  /** Levels from the best outward, at most `limit`. */
  *fromBest(limit = Infinity): IterableIterator<PriceLevel> {
    const levels = this.levels;
    const end = Math.max(0, levels.length - limit);
    for (let i = levels.length - 1; i >= end; i--) yield levels[i];
  }
}

export class OrderBook {
  readonly bids = new BookSide('buy');
  readonly asks = new BookSide('sell');

  sideOf(side: Side): BookSide {
    return side === 'buy' ? this.bids : this.asks;
  }

  /** The side an order of `side` trades against. */
  oppositeOf(side: Side): BookSide {
    return side === 'buy' ? this.asks : this.bids;
  }

  /** Appends an order at the tail of its price level. */
  add(order: Order): PriceLevel {
    const level = this.sideOf(order.side).levelFor(order.price);
    level.push(order);
    return level;
  }

  /** Unlinks a resting order, dropping its level when it empties. Returns the level. */
  remove(order: Order): PriceLevel {
    const level = order.level;
    if (level === null) throw new Error(`order ${order.id} is not resting`);
    level.total -= order.remaining;
    level.unlink(order);
    if (level.isEmpty) this.sideOf(order.side).removeLevel(level);
    return level;
  }
}
