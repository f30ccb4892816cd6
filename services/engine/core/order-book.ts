/**
 * The order book of one market: two sides of price levels with price-time priority.
 *
 * Each side keeps its levels sorted so that the best price is the last element (bids ascending,
 * asks descending), in a list of short sorted chunks rather than one array: the best level is read
 * in O(1), removing it is a pop, and inserting or removing a level anywhere moves at most one
 * chunk's worth of entries (plus, rarely, the short list of chunks), so deep levels stay cheap with
 * 100k resting orders. An index from price to level (pages of slots) finds a level in O(1). Orders are reached in O(1)
 * through the core's order index and unlinked from their level without a search.
 */
import type { Order } from './order';
import { PriceLevel } from './price-level';
import type { Side } from './types';

/**
 * The levels of one side by price, for O(1) lookup: prices are integer ticks, so a directory of
 * pages of PAGE_SIZE slots indexed by price (two array reads, no hashing), for prices below
 * MAX_PAGED_PRICE; any price above that (16.7M ticks: 167k at a 0.01 tick) goes to a Map, which
 * bounds the directory at 64k entries per side. A page is dropped when its last level goes.
 */
const PAGE_BITS = 8;
const PAGE_SIZE = 1 << PAGE_BITS;
const MAX_PAGED_PRICE = (1 << 24) - 1;

interface LevelPage {
  readonly slots: (PriceLevel | null)[];
  live: number;
}

class LevelIndex {
  private readonly pages: (LevelPage | null)[] = [];
  private readonly large = new Map<number, PriceLevel>();

  get(price: number): PriceLevel | undefined {
    if (price >= 0 && price <= MAX_PAGED_PRICE && (price | 0) === price) {
      const page = this.pages[price >>> PAGE_BITS];
      if (page === undefined || page === null) return undefined;
      const level = page.slots[price & (PAGE_SIZE - 1)];
      return level === null ? undefined : level;
    }
    return this.large.get(price);
  }

  /** Adds a level for a price that has none. */
  add(level: PriceLevel): void {
    const price = level.price;
    if (price >= 0 && price <= MAX_PAGED_PRICE && (price | 0) === price) {
      const p = price >>> PAGE_BITS;
      const pages = this.pages;
      while (pages.length <= p) pages.push(null);
      let page = pages[p];
      if (page === null) {
        page = { slots: new Array<PriceLevel | null>(PAGE_SIZE).fill(null), live: 0 };
        pages[p] = page;
      }
      page.slots[price & (PAGE_SIZE - 1)] = level;
      page.live++;
      return;
    }
    this.large.set(price, level);
  }

  /** Removes the level of a price that has one. */
  delete(price: number): void {
    if (price >= 0 && price <= MAX_PAGED_PRICE && (price | 0) === price) {
      const p = price >>> PAGE_BITS;
      const page = this.pages[p] as LevelPage;
      page.slots[price & (PAGE_SIZE - 1)] = null;
      if (--page.live === 0) this.pages[p] = null;
      return;
    }
    this.large.delete(price);
  }
}

/** A chunk is split in two when it grows past this many levels. */
const CHUNK_MAX = 128;
/** A module constant, not the imported binding (a getter call per use under CommonJS). */
const Level = PriceLevel;

export class BookSide {
  /** Sorted chunks, each sorted, best last; no chunk is empty. */
  private readonly chunks: PriceLevel[][] = [];
  private count = 0;
  private readonly byPrice = new LevelIndex();
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
    this.byPrice.add(level);
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
