/**
 * The index of open orders by id: what cancel and amend use to reach an order in O(1).
 *
 * Order ids are a sequence, and open orders are mostly recent ones, so instead of a hash map the
 * index is a directory of fixed-size pages of slots indexed by id: a lookup is two array reads, an
 * insert or delete one write, with no hashing and no rehashing as the book grows. A page is
 * dropped once its last order has left, unless it is the newest (ids only grow, so an old page
 * is never needed again), so memory follows the open orders, plus one directory entry per PAGE_SIZE ids
 * ever issued.
 *
 * The part of the Map interface the core and the benchmark use (`get`, `set`, `delete`, `has`,
 * `size`), and every open order in id order (`inIdOrder`, for the snapshot module: also the order
 * orders come to rest in, as with the Map it replaces).
 */
import type { Order } from './order';

const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
/** Ids from this on go to a Map (never in practice: 2^31 orders). */
const MAX_PAGED_ID = 0x7fffffff;

interface Page {
  readonly slots: (Order | null)[];
  live: number;
}

export class OrderIndex {
  private readonly pages: (Page | null)[] = [];
  private readonly large = new Map<number, Order>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): Order | undefined {
    if (id >= 0 && id <= MAX_PAGED_ID && (id | 0) === id) {
      const page = this.pages[id >>> PAGE_BITS];
      if (page === undefined || page === null) return undefined;
      const order = page.slots[id & (PAGE_SIZE - 1)];
      return order === null ? undefined : order;
    }
    return this.large.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Indexes an order under its id (ids are unique: an id is set at most once while open). */
  set(id: number, order: Order): this {
    if (id >= 0 && id <= MAX_PAGED_ID && (id | 0) === id) {
      const p = id >>> PAGE_BITS;
      const pages = this.pages;
      while (pages.length <= p) pages.push(null);
      let page = pages[p];
      if (page === null) {
        const slots: (Order | null)[] = new Array<Order | null>(PAGE_SIZE).fill(null);
        page = { slots, live: 0 };
        pages[p] = page;
      }
      const i = id & (PAGE_SIZE - 1);
      if (page.slots[i] === null) {
        page.live++;
        this.count++;
      }
      page.slots[i] = order;
      return this;
    }
    if (!this.large.has(id)) this.count++;
    this.large.set(id, order);
    return this;
  }

  delete(id: number): boolean {
    if (id >= 0 && id <= MAX_PAGED_ID && (id | 0) === id) {
      const p = id >>> PAGE_BITS;
      const page = this.pages[p];
      if (page === undefined || page === null) return false;
      const i = id & (PAGE_SIZE - 1);
      if (page.slots[i] === null) return false;
      page.slots[i] = null;
      this.count--;
      // The newest page stays, or churn at the head of the sequence would allocate it again.
      if (--page.live === 0 && p !== this.pages.length - 1) this.pages[p] = null;
      return true;
    }
    if (!this.large.delete(id)) return false;
    this.count--;
    return true;
  }

  /** The open orders in id order, as an array. */
  inIdOrder(): Order[] {
    const out = new Array<Order>(this.count);
    let n = 0;
    for (const page of this.pages) {
      if (page === null) continue;
      const slots = page.slots;
      for (let i = 0; i < slots.length; i++) {
        const order = slots[i];
        if (order !== null) out[n++] = order;
      }
    }
    for (const order of [...this.large.values()].sort((a, b) => a.id - b.id)) out[n++] = order;
    return out;
  }
}
