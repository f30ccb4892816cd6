/**
 * The whole state of the core as plain JSON-safe data (bigints as decimal strings), and back.
 * Restoring a snapshot gives a core that behaves exactly like the one it was taken from: same
 * books in the same queue order, same balances, same counters, so the same next commands give the
 * same events. Maps are written in their iteration order and rebuilt in it.
 */
import { ExchangeCore, type OrderWatcher } from './exchange-core';
import { Market } from './market';
import { Order } from './order';
import type {
  MarketView,
  OrderStatus,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from './types';

export const SNAPSHOT_VERSION = 2;

/** The enumerations of an order, written in a snapshot as their index in these lists. */
const SIDES: readonly Side[] = ['buy', 'sell'];
const ORDER_TYPES: readonly OrderType[] = ['limit', 'market'];
const TIMES_IN_FORCE: readonly TimeInForce[] = ['GTC', 'IOC', 'FOK'];
const STP_MODES: readonly SelfTradePrevention[] = ['cancel_taker', 'cancel_maker', 'cancel_both'];
const STATUSES: readonly OrderStatus[] = [
  'new',
  'partially_filled',
  'filled',
  'cancelled',
  'expired',
  'rejected',
];

/**
 * An open order in a snapshot: a positional array, a third of the bytes of an object with its
 * field names (a book of 135,000 orders was a 46 MB document as objects). Enumerations are their
 * index in the lists above, the market its index in `markets`, bigints decimal strings.
 */
export type OrderTuple = [
  id: number,
  userId: string,
  market: number,
  side: number,
  type: number,
  timeInForce: number,
  postOnly: 0 | 1,
  selfTradePrevention: number,
  price: number,
  quantity: number,
  quoteAmount: string,
  filled: number,
  filledQuote: string,
  status: number,
  locked: string,
  clientOrderId: string | null,
  createdAt: number,
  updatedAt: number,
];

/** An open order in a version 1 snapshot, which `fromSnapshot` still reads. */
export interface OrderSnapshotV1 {
  id: number;
  userId: string;
  market: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  selfTradePrevention: SelfTradePrevention;
  price: number;
  quantity: number;
  quoteAmount: string;
  filled: number;
  filledQuote: string;
  status: OrderStatus;
  locked: string;
  clientOrderId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ExchangeSnapshot {
  version: number;
  counters: { order: number; user: number; event: number; command: number };
  assets: {
    symbol: string;
    decimals: number;
    fees: string;
    deposited: string;
    withdrawn: string;
  }[];
  users: { userId: string; apiKeyHash: string; available: string[]; locked: string[] }[];
  markets: {
    spec: MarketView;
    updateId: number;
    tradeSeq: number;
    /**
     * Version 1 only: order ids per level, best level first, each level in queue order. A
     * version 2 snapshot leaves them out: every open order rests, each rests when it is placed
     * and ids only grow, so a level's queue is its orders in id order, which `orders` is.
     */
    bids?: number[][];
    asks?: number[][];
  }[];
  /** Open orders in id order (objects in a version 1 snapshot). */
  orders: OrderTuple[] | OrderSnapshotV1[];
  idempotency: [
    string,
    {
      type: 'deposit' | 'withdraw';
      asset: string;
      amount: string;
      available: string;
      locked: string;
    },
  ][];
}

/**
 * The state captured at one instant, cheaply: everything but the open orders as in the
 * snapshot, taken at once, and the open orders themselves, taken a part at a time
 * ({@link capturedOrders}) while the core goes on. Until an order's fields are copied, the core
 * asks the capture to copy them before it changes the order (a fill, an amend, a cancel), so each
 * order is read as it was at the capture's instant. Copying the orders of a large book at once
 * stopped the engine's loop for the whole of it (100,000 orders: 41-58 ms; each order read is a
 * cache miss); now the capture takes at once only the list of the orders, and copies them a chunk
 * at a time with the text.
 */
export class SnapshotCapture implements OrderWatcher {
  readonly rest: Omit<ExchangeSnapshot, 'orders'>;
  readonly orderCount: number;
  /** The open orders at the capture's instant, in id order. */
  private readonly orders: Order[];
  /** Each of them as it was then, once copied. */
  private readonly tuples: (OrderTuple | undefined)[];
  /** Orders before this index are copied (and some after it, those the core changed early). */
  private copiedTo = 0;
  /** The last order id issued before the capture: later orders are not in it. */
  private readonly lastId: number;
  private readonly marketIndex: Map<Market, number>;
  private core: ExchangeCore | null;

  /** @internal use {@link captureSnapshot}. */
  constructor(core: ExchangeCore, rest: Omit<ExchangeSnapshot, 'orders'>) {
    this.rest = rest;
    this.orders = core.orders.inIdOrder();
    this.orderCount = this.orders.length;
    this.tuples = new Array<OrderTuple | undefined>(this.orderCount);
    this.lastId = core.counters.order;
    this.marketIndex = new Map<Market, number>();
    for (const m of core.markets.values()) this.marketIndex.set(m, this.marketIndex.size);
    this.core = core;
    if (this.orderCount > 0) core.watcher = this;
  }

  /** @internal The core is about to change `order`: keep it as it is, if not copied yet. */
  beforeChange(order: Order): void {
    const id = order.id;
    if (id > this.lastId) return;
    const orders = this.orders;
    let lo = this.copiedTo;
    let hi = orders.length;
    if (lo >= hi || id < orders[lo].id) return;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (orders[mid].id < id) lo = mid + 1;
      else hi = mid;
    }
    if (lo < orders.length && orders[lo] === order && this.tuples[lo] === undefined) {
      this.tuples[lo] = this.tupleOf(order);
    }
  }

  /** The captured orders `from` .. `to` (exclusive), copying those not copied yet. */
  orderTuples(from: number, to: number): OrderTuple[] {
    const end = Math.min(to, this.orderCount);
    const tuples = this.tuples;
    for (let i = this.copiedTo; i < end; i++) {
      if (tuples[i] === undefined) tuples[i] = this.tupleOf(this.orders[i]);
    }
    if (end > this.copiedTo) this.copiedTo = end;
    if (this.copiedTo === this.orderCount) this.release();
    return tuples.slice(from, end) as OrderTuple[];
  }

  /** Copies what is left now and stops watching the core (a capture abandoned half-way). */
  finish(): void {
    this.orderTuples(this.orderCount, this.orderCount);
    this.release();
  }

  private release(): void {
    if (this.core !== null && this.core.watcher === this) this.core.watcher = null;
    this.core = null;
  }

  private tupleOf(o: Order): OrderTuple {
    return [
      o.id,
      o.account.userId,
      this.marketIndex.get(o.market) as number,
      SIDES.indexOf(o.side),
      ORDER_TYPES.indexOf(o.type),
      TIMES_IN_FORCE.indexOf(o.timeInForce),
      o.postOnly ? 1 : 0,
      STP_MODES.indexOf(o.selfTradePrevention),
      o.price,
      o.quantity,
      o.quoteAmount.toString(),
      o.filled,
      o.filledQuote.toString(),
      STATUSES.indexOf(o.status),
      o.locked.toString(),
      o.clientOrderId,
      o.createdAt,
      o.updatedAt,
    ];
  }
}

/**
 * Captures the core's state now (see {@link SnapshotCapture}). A capture still watching the core
 * is finished first: the core has one watcher.
 */
export function captureSnapshot(core: ExchangeCore): SnapshotCapture {
  const sheet = core.sheet;
  const previous = core.watcher;
  if (previous instanceof SnapshotCapture) previous.finish();
  return new SnapshotCapture(core, {
    version: SNAPSHOT_VERSION,
    counters: { ...core.counters },
    assets: sheet.assets.map((a) => ({
      symbol: a.symbol,
      decimals: a.decimals,
      fees: sheet.fees[a.index].toString(),
      deposited: sheet.deposited[a.index].toString(),
      withdrawn: sheet.withdrawn[a.index].toString(),
    })),
    users: [...sheet.accounts.values()].map((acc) => ({
      userId: acc.userId,
      apiKeyHash: acc.apiKeyHash,
      available: acc.available.map(String),
      locked: acc.locked.map(String),
    })),
    markets: [...core.markets.values()].map((m) => ({
      spec: m.spec,
      updateId: m.updateId,
      tradeSeq: m.tradeSeq,
    })),
    idempotency: [...core.idempotency.entries()].map(([key, r]) => [
      key,
      {
        type: r.type,
        asset: r.asset,
        amount: r.amount.toString(),
        available: r.balance.available.toString(),
        locked: r.balance.locked.toString(),
      },
    ]),
  });
}

/** The snapshot's orders `from` .. `to` (exclusive) of a capture (see {@link SnapshotCapture}). */
export function capturedOrders(capture: SnapshotCapture, from: number, to: number): OrderTuple[] {
  return capture.orderTuples(from, to);
}

export function toSnapshot(core: ExchangeCore): ExchangeSnapshot {
  const capture = captureSnapshot(core);
  return { ...capture.rest, orders: capturedOrders(capture, 0, capture.orderCount) };
}

/** Reads an enumeration's index, refusing one out of its list. */
function fromList<T>(list: readonly T[], index: number, what: string): T {
  const value = list[index];
  if (value === undefined) throw new Error(`snapshot has an unknown ${what} ${index}`);
  return value;
}

/** A version 2 order tuple as a version 1 order object. */
function orderFromTuple(t: OrderTuple, markets: ExchangeSnapshot['markets']): OrderSnapshotV1 {
  const market = markets[t[2]];
  if (market === undefined) throw new Error(`snapshot order ${t[0]} names market ${t[2]}`);
  return {
    id: t[0],
    userId: t[1],
    market: market.spec.symbol,
    side: fromList(SIDES, t[3], 'side'),
    type: fromList(ORDER_TYPES, t[4], 'order type'),
    timeInForce: fromList(TIMES_IN_FORCE, t[5], 'time in force'),
    postOnly: t[6] === 1,
    selfTradePrevention: fromList(STP_MODES, t[7], 'self-trade prevention'),
    price: t[8],
    quantity: t[9],
    quoteAmount: t[10],
    filled: t[11],
    filledQuote: t[12],
    status: fromList(STATUSES, t[13], 'status'),
    locked: t[14],
    clientOrderId: t[15],
    createdAt: t[16],
    updatedAt: t[17],
  };
}

export function fromSnapshot(snapshot: ExchangeSnapshot): ExchangeCore {
  if (snapshot.version !== SNAPSHOT_VERSION && snapshot.version !== 1) {
    throw new Error(`unsupported snapshot version ${snapshot.version}`);
  }
  const core = new ExchangeCore();
  const sheet = core.sheet;
  for (const a of snapshot.assets) {
    const asset = sheet.addAsset(a.symbol, a.decimals);
    sheet.fees[asset.index] = BigInt(a.fees);
    sheet.deposited[asset.index] = BigInt(a.deposited);
    sheet.withdrawn[asset.index] = BigInt(a.withdrawn);
  }
  for (const u of snapshot.users) {
    const account = sheet.openAccount(u.userId, u.apiKeyHash);
    u.available.forEach((v, i) => (account.available[i] = BigInt(v)));
    u.locked.forEach((v, i) => (account.locked[i] = BigInt(v)));
  }
  for (const m of snapshot.markets) {
    const market = Market.create(
      { type: 'add_market', seq: 0, ts: 0, ...m.spec },
      sheet.asset(m.spec.base),
      sheet.asset(m.spec.quote),
    );
    market.updateId = m.updateId;
    market.tradeSeq = m.tradeSeq;
    core.markets.set(market.symbol, market);
  }
  const orders =
    snapshot.version === 1
      ? (snapshot.orders as OrderSnapshotV1[])
      : (snapshot.orders as OrderTuple[]).map((t) => orderFromTuple(t, snapshot.markets));
  let previousId = 0;
  for (const s of orders) {
    // Open orders are listed in id order, each once (a format 2 snapshot's queues rely on it).
    if (s.id <= previousId) throw new Error(`snapshot orders out of id order at ${s.id}`);
    previousId = s.id;
    const account = sheet.account(s.userId);
    const order = new Order(
      s.id,
      account,
      core.market(s.market),
      s.side,
      s.type,
      s.timeInForce,
      s.postOnly,
      s.selfTradePrevention,
      s.price,
      s.quantity,
      BigInt(s.quoteAmount),
      s.clientOrderId,
      s.createdAt,
    );
    order.filled = s.filled;
    order.filledQuote = BigInt(s.filledQuote);
    order.status = s.status;
    order.locked = BigInt(s.locked);
    order.updatedAt = s.updatedAt;
    core.orders.set(order.id, order);
    account.addOpen(order);
    // Format 2: in id order (checked above), so each level's queue is in id order, as it was
    // (see `bids` above). Format 1 lists the queues.
    if (snapshot.version !== 1) order.market.book.add(order);
  }
  if (snapshot.version === 1) {
    for (const m of snapshot.markets) {
      for (const ids of [...(m.bids ?? []), ...(m.asks ?? [])]) {
        for (const id of ids) {
          const order = core.orders.get(id);
          if (order === undefined) throw new Error(`snapshot book names unknown order ${id}`);
          order.market.book.add(order);
        }
      }
    }
  }
  for (const [key, r] of snapshot.idempotency) {
    core.idempotency.set(key, {
      type: r.type,
      asset: r.asset,
      amount: BigInt(r.amount),
      balance: { asset: r.asset, available: BigInt(r.available), locked: BigInt(r.locked) },
    });
  }
  core.counters = { ...snapshot.counters };
  return core;
}
