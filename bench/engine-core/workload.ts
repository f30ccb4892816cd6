/**
 * The benchmark's workload: a deterministic stream of core commands on SOL_USDC, generated
 * before anything is timed.
 *
 * Many funded users place limit orders on both sides of a mid price that random-walks; about a
 * third of the limit orders cross the spread, about a fifth of all operations cancel a random
 * resting order, and a few percent are market orders. The generator drives a scratch core of its
 * own while it writes the stream, so it knows the real best bid and ask (to make an order
 * marketable or not), the id the core gives each order (so that the peer book gets the same ids)
 * and which orders still rest (so that every cancel names a live order of its owner). Replayed on
 * a fresh core, the stream therefore gives exactly the same state, with no rejected command.
 *
 * The book is pre-filled to the target size with passive orders, then held near it: the size of
 * the taking orders and, within 16-24% of operations, the share of cancels follow the distance of
 * the book from its target.
 */
import {
  type Command,
  type ExchangeCore,
  type Outcome,
  type PlaceOrderCommand,
  type Side,
  createDefaultCore,
} from '../../services/engine/core';
import { Prng } from './prng';

export const MARKET = 'SOL_USDC';

export interface WorkloadSpec {
  readonly seed: number;
  /** Resting orders to pre-fill and hold the book at. */
  readonly restingOrders: number;
  readonly users: number;
  /** Operations run (untimed) after the pre-fill, before measuring. */
  readonly warmupOps: number;
  /** Operations timed as one block for throughput. */
  readonly throughputOps: number;
  /** Operations timed one by one for latency percentiles. */
  readonly latencyOps: number;
}

/** Nominal shares of operations after the pre-fill; the rest are limit orders. */
const CANCEL_SHARE = 0.2;
const MARKET_SHARE = 0.04;
/** Share of the limit orders that cross the spread. */
const MARKETABLE_SHARE = 1 / 3;
/** Share of all operations that are passive limit orders (about 0.51). */
const PASSIVE_SHARE = (1 - CANCEL_SHARE - MARKET_SHARE) * (1 - MARKETABLE_SHARE);
/**
 * Passive orders are placed an exponentially distributed number of ticks from the mid: this
 * share near it (mean √(target)/8 ticks, at least 4), where the takers reach them, the rest deep
 * (mean 1.5 × √(target) ticks), so that a bigger book spreads over more levels. Deep orders
 * leave almost only by cancels, so in the steady state they are PASSIVE_SHARE / CANCEL_SHARE ×
 * (1 − NEAR_SHARE) of the book (about 0.9); the pre-fill builds the book in that proportion.
 */
const NEAR_SHARE = 0.64;
const PREFILL_NEAR_SHARE = Math.max(0, 1 - (PASSIVE_SHARE / CANCEL_SHARE) * (1 - NEAR_SHARE));
/** Mid price at start, ticks (500.00 USDC); orders never go below MIN_PRICE. */
const START_MID = 50_000;
const MIN_PRICE = 20_000;
/** Chance per operation that the mid moves one tick. */
const MID_STEP_CHANCE = 0.25;
/** Every user gets this much of each asset, in minor units: 1e9 USDC and 1e7 SOL. */
const USDC_DEPOSIT = 10n ** 15n;
const SOL_DEPOSIT = 10n ** 16n;
const TS0 = 1_700_000_000_000;

/** What an operation is; `kinds` in a {@link Workload} holds indexes into this list. */
export const OP_KINDS = ['passive limit', 'marketable limit', 'market', 'cancel'] as const;
export type OpKind = (typeof OP_KINDS)[number];
const PASSIVE = 0;
const MARKETABLE = 1;
const MARKET_ORDER = 2;
const CANCEL = 3;

export interface Workload {
  readonly spec: WorkloadSpec;
  /** Users and deposits, applied to the core before anything else. */
  readonly setup: Command[];
  /** The operations: pre-fill, warm-up, throughput block, latency block, in that order. */
  readonly ops: Command[];
  /** For each operation that places an order, the id the core gives it; 0 for cancels. */
  readonly orderIds: Float64Array;
  /** For each operation, its kind (an index into OP_KINDS). */
  readonly kinds: Uint8Array;
  /** Boundaries in `ops`. */
  readonly prefillEnd: number;
  readonly warmupEnd: number;
  readonly throughputEnd: number;
  /** Operations of each kind after the pre-fill, by OP_KINDS index. */
  readonly mix: number[];
  /** Shape of the book at the end: price levels (both sides) and the longest queue. */
  readonly levelsAtEnd: number;
  readonly maxLevelOrdersAtEnd: number;
}

/** Resting orders with their owners; O(1) add, remove and uniform pick. */
class RestingOrders {
  private readonly ids: number[] = [];
  private readonly owners: string[] = [];
  private readonly index = new Map<number, number>();

  get size(): number {
    return this.ids.length;
  }

  add(id: number, owner: string): void {
    this.index.set(id, this.ids.length);
    this.ids.push(id);
    this.owners.push(owner);
  }

  remove(id: number): void {
    const at = this.index.get(id);
    if (at === undefined) return;
    this.index.delete(id);
    const last = this.ids.length - 1;
    if (at !== last) {
      this.ids[at] = this.ids[last];
      this.owners[at] = this.owners[last];
      this.index.set(this.ids[at], at);
    }
    this.ids.pop();
    this.owners.pop();
  }

  pick(rng: Prng): { id: number; owner: string } {
    const at = rng.int(this.ids.length);
    return { id: this.ids[at], owner: this.owners[at] };
  }
}

export function generateWorkload(spec: WorkloadSpec): Workload {
  const rng = new Prng(spec.seed);
  const scratch: ExchangeCore = createDefaultCore();
  const book = scratch.market(MARKET).book;
  const resting = new RestingOrders();
  let seq = scratch.lastCommandSeq;
  let tick = 0;
  const ts = (): number => TS0 + (tick++ >>> 10);

  const check = (cmd: Command, out: Outcome): void => {
    if (out.error !== null) {
      throw new Error(`workload command ${cmd.seq} (${cmd.type}) refused: ${out.error.message}`);
    }
  };

  // Users, each funded far beyond what it will ever lock.
  const setup: Command[] = [];
  const users: string[] = [];
  for (let u = 0; u < spec.users; u++) {
    const cmd: Command = { type: 'create_user', seq: ++seq, ts: ts(), apiKeyHash: `bench-${u}` };
    const out = scratch.apply(cmd);
    check(cmd, out);
    if (out.reply.kind !== 'user') throw new Error('create_user gave no user');
    users.push(out.reply.userId);
    setup.push(cmd);
  }
  for (const userId of users) {
    for (const [asset, amount] of [
      ['USDC', USDC_DEPOSIT],
      ['SOL', SOL_DEPOSIT],
    ] as const) {
      const cmd: Command = { type: 'deposit', seq: ++seq, ts: ts(), userId, asset, amount };
      check(cmd, scratch.apply(cmd));
      setup.push(cmd);
    }
  }

  const ops: Command[] = [];
  const orderIds: number[] = [];
  const kinds: number[] = [];
  const nearScale = Math.max(4, Math.round(Math.sqrt(spec.restingOrders) / 8));
  const deepScale = Math.max(10, Math.round(Math.sqrt(spec.restingOrders) * 1.5));
  let mid = START_MID;

  const apply = (cmd: Command, kind: number): void => {
    const out = scratch.apply(cmd);
    check(cmd, out);
    for (const e of out.events) {
      if (e.type === 'order' && (e.kind === 'filled' || e.kind === 'cancelled')) {
        resting.remove(e.order.orderId);
      }
    }
    let orderId = 0;
    if (cmd.type === 'place_order' && out.reply.kind === 'order') {
      const order = out.reply.order;
      orderId = order.orderId;
      if (order.status === 'new' || order.status === 'partially_filled') {
        resting.add(order.orderId, order.userId);
      }
    }
    ops.push(cmd);
    orderIds.push(orderId);
    kinds.push(kind);
  };

  const randomUser = (): string => users[rng.int(users.length)];
  const lots = (): number => 1 + rng.int(20);
  const place = (
    side: Side,
    orderType: 'limit' | 'market',
    quantity: number,
    price?: number,
  ): PlaceOrderCommand => ({
    type: 'place_order',
    seq: ++seq,
    ts: ts(),
    userId: randomUser(),
    market: MARKET,
    side,
    orderType,
    ...(price === undefined ? {} : { price }),
    quantity,
  });

  const passive = (nearShare: number): PlaceOrderCommand => {
    const side: Side = rng.next() < 0.5 ? 'buy' : 'sell';
    const scale = rng.next() < nearShare ? nearScale : deepScale;
    const offset = 1 + Math.floor(rng.exp() * scale);
    // Measured from the mid, or from the opposite best when the mid has moved past it.
    const ask = book.asks.best;
    const bid = book.bids.best;
    const price =
      side === 'buy'
        ? Math.min(mid, ask === undefined ? mid : ask.price) - offset
        : Math.max(mid, bid === undefined ? mid : bid.price) + offset;
    return place(side, 'limit', lots(), Math.max(MIN_PRICE, price));
  };

  const fill = (): number => resting.size / spec.restingOrders;

  /** A taking order, or undefined when the book is empty on both sides. */
  const taking = (orderType: 'limit' | 'market'): PlaceOrderCommand | undefined => {
    const bid = book.bids.best;
    const ask = book.asks.best;
    let side: Side;
    if (bid !== undefined && ask !== undefined) {
      // Lean towards the side that moves the book back to the random-walking mid.
      const lean = clamp((mid - (bid.price + ask.price) / 2) / 20, -0.3, 0.3);
      side = rng.next() < 0.5 + lean ? 'buy' : 'sell';
    } else if (ask !== undefined) side = 'buy';
    else if (bid !== undefined) side = 'sell';
    else return undefined;
    // Takers grow when the book is above its target size and shrink when it is below.
    const steer = clamp(1.2 * (1 + 4 * (fill() - 1)), 0.5, 2);
    const quantity = Math.max(1, Math.round(lots() * steer));
    if (orderType === 'market') return place(side, 'market', quantity);
    // Cross the spread by up to two ticks.
    const price =
      side === 'buy' ? (ask?.price ?? mid) + rng.int(3) : (bid?.price ?? mid) - rng.int(3);
    return place(side, 'limit', quantity, Math.max(MIN_PRICE, price));
  };

  const walk = (): void => {
    if (rng.next() < MID_STEP_CHANCE) mid += rng.next() < 0.5 ? -1 : 1;
  };

  // The mid stays put during the pre-fill: without takers the book could not follow it.
  while (resting.size < spec.restingOrders) apply(passive(PREFILL_NEAR_SHARE), PASSIVE);
  const prefillEnd = ops.length;

  const end = prefillEnd + spec.warmupOps + spec.throughputOps + spec.latencyOps;
  while (ops.length < end) {
    walk();
    const r = rng.next();
    // Cancels, too, follow the book's distance from its target, within 16-24% of operations.
    const cancelShare = clamp(CANCEL_SHARE * (1 + 3 * (fill() - 1)), 0.16, 0.24);
    if (r < cancelShare && resting.size > 0) {
      const victim = resting.pick(rng);
      const cmd: Command = {
        type: 'cancel_order',
        seq: ++seq,
        ts: ts(),
        userId: victim.owner,
        orderId: victim.id,
      };
      apply(cmd, CANCEL);
      continue;
    }
    if (r < cancelShare + MARKET_SHARE) {
      const cmd = taking('market');
      if (cmd !== undefined) {
        apply(cmd, MARKET_ORDER);
        continue;
      }
    } else if (rng.next() < MARKETABLE_SHARE) {
      const cmd = taking('limit');
      if (cmd !== undefined) {
        apply(cmd, MARKETABLE);
        continue;
      }
    }
    apply(passive(NEAR_SHARE), PASSIVE);
  }

  return {
    spec,
    setup,
    ops,
    orderIds: Float64Array.from(orderIds),
    kinds: Uint8Array.from(kinds),
    prefillEnd,
    warmupEnd: prefillEnd + spec.warmupOps,
    throughputEnd: prefillEnd + spec.warmupOps + spec.throughputOps,
    mix: OP_KINDS.map((_, k) => kinds.slice(prefillEnd).filter((x) => x === k).length),
    levelsAtEnd: book.bids.levelCount + book.asks.levelCount,
    maxLevelOrdersAtEnd: [...book.bids.fromBest(), ...book.asks.fromBest()].reduce(
      (max, level) => Math.max(max, level.count),
      0,
    ),
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
