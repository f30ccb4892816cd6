/**
 * The order book of one market: two sides of price levels with price-time priority.
 *
 * Each side keeps its levels sorted so that the best price is the last element (bids ascending,
 * asks descending), in a list of short sorted chunks rather than one array: the best level is read
 * in O(1), removing it is a pop, and inserting or removing a level anywhere moves at most one
 * chunk's worth of entries (plus, rarely, the short list of chunks), so deep levels stay cheap with
 * 100k resting orders. A map from price to level finds a level in O(1). Orders are reached in O(1)
 * through the core's order index and unlinked from their level without a search.
 */
import type { Order } from './order';
import { PriceLevel } from './price-level';
import type { Side } from './types';

/** A chunk is split in two when it grows past this many levels. */
const CHUNK_MAX = 128;
/** A module constant, not the imported binding (a getter call per use under CommonJS). */
const Level = PriceLevel;

export class BookSide {
  /** Sorted chunks, each sorted, best last; no chunk is empty. */
  private readonly chunks: PriceLevel[][] = [];
  private count = 0;
  private readonly byPrice = new Map<number, PriceLevel>();
  private readonly isBuy: boolean;

  constructor(readonly side: Side) {
    this.isBuy = side === 'buy';
  }

  get best(): PriceLevel | undefined {
    const chunks = this.chunks;
    if (chunks.length === 0) return undefined;
    const last = chunks[chunks.length - 1];
    return last[last.length - 1];
  }

  get levelCount(): number {
    return this.count;
  }

  /** True when `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.isBuy ? a > b : a < b;
  }

  level(price: number): PriceLevel | undefined {
    return this.byPrice.get(price);
  }

  /** The level for `price`, created (and placed in order) when absent. */
  levelFor(price: number): PriceLevel {
    let level = this.byPrice.get(price);
    if (level !== undefined) return level;
    level = new Level(this.side, price);
    this.byPrice.set(price, level);
    this.count++;
    const chunks = this.chunks;
    if (chunks.length === 0) {
      chunks.push([level]);
      return level;
    }
    // The chunk to insert into: the first whose best level is better than `price` (the last
    // chunk when `price` is the new best).
    let c = chunks.length - 1;
    const top = chunks[c];
    if (!this.better(price, top[top.length - 1].price)) c = this.chunkAtOrAfter(price);
    const chunk = chunks[c];
    // Insert before the first level of the chunk that is better than `price`.
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.better(price, chunk[mid].price)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === chunk.length) chunk.push(level);
    else chunk.splice(lo, 0, level);
    if (chunk.length > CHUNK_MAX) chunks.splice(c + 1, 0, chunk.splice(CHUNK_MAX >>> 1));
    return level;
  }

  /** Drops an empty level. */
  removeLevel(level: PriceLevel): void {
    this.byPrice.delete(level.price);
    this.count--;
    const chunks = this.chunks;
    let c = chunks.length - 1;
    let chunk = chunks[c];
    if (chunk[chunk.length - 1] === level) {
      chunk.pop();
    } else {
      c = this.chunkAtOrAfter(level.price);
      chunk = chunks[c];
      let lo = 0;
      let hi = chunk.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.better(level.price, chunk[mid].price)) lo = mid + 1;
        else hi = mid;
      }
      chunk.splice(lo, 1);
    }
    if (chunk.length === 0) {
      if (c === chunks.length - 1) chunks.pop();
      else chunks.splice(c, 1);
    }
  }

  /** Index of the first chunk whose best level is at `price` or better (one must exist). */
  private chunkAtOrAfter(price: number): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = chunks[mid];
      if (this.better(price, chunk[chunk.length - 1].price)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Levels from the best outward, at most `limit`. */
  *fromBest(limit = Infinity): IterableIterator<PriceLevel> {
    let left = limit;
    const chunks = this.chunks;
    for (let c = chunks.length - 1; c >= 0; c--) {
      const chunk = chunks[c];
      for (let i = chunk.length - 1; i >= 0; i--) {
        if (left <= 0) return;
        left--;
        yield chunk[i];
      }
    }
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
