/**
 * One price on one side of a book: a FIFO queue of resting orders (time priority), kept as an
 * intrusive doubly linked list so that removing any order is O(1).
 */
import type { Order } from './order';
import type { Side } from './types';

export class PriceLevel {
  // Assigned in the constructor rather than as class fields, so that V8 inlines the construction
  // (see Order).
  declare readonly side: Side;
  declare readonly price: number;
  declare head: Order | null;
  declare tail: Order | null;
  /** Sum of the remaining lots of the queued orders. */
  declare total: number;
  declare count: number;
  /** Command stamp of the last change, used to collect each command's depth changes once. */
  declare touched: number;

  constructor(side: Side, price: number) {
    this.side = side;
    this.price = price;
    this.head = null;
    this.tail = null;
    this.total = 0;
    this.count = 0;
    this.touched = 0;
  }

  push(order: Order): void {
    order.level = this;
    order.prev = this.tail;
    order.next = null;
    if (this.tail === null) this.head = order;
    else this.tail.next = order;
    this.tail = order;
    this.total += order.remaining;
    this.count++;
  }

  /** Unlinks the order; its remaining lots must already be subtracted from `total` by the caller. */
  unlink(order: Order): void {
    if (order.prev === null) this.head = order.next;
    else order.prev.next = order.next;
    if (order.next === null) this.tail = order.prev;
    else order.next.prev = order.prev;
    order.prev = null;
    order.next = null;
    order.level = null;
    this.count--;
  }

  get isEmpty(): boolean {
    return this.head === null;
  }
}
