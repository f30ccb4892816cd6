/**
 * An order inside the core: a mutable record, linked into its price level's FIFO queue while it
 * rests. Views handed out of the core are copies ({@link toOrderView}), never this object.
 */
import type { Account } from './balance-sheet';
import type { Market } from './market';
import type { PriceLevel } from './price-level';
import type {
  OrderStatus,
  OrderType,
  OrderView,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from './types';

export class Order {
  /** Lots filled so far. */
  filled = 0;
  /** Quote minor units traded so far. */
  filledQuote = 0n;
  status: OrderStatus = 'new';
  /**
   * What this order holds locked now, in minor units of the asset it spends (quote for buys,
   * base for sells). Invariant while it rests: exactly what it can still spend.
   */
  locked = 0n;
  updatedAt: number;

  // Intrusive links of the price level's queue (null when not resting).
  prev: Order | null = null;
  next: Order | null = null;
  level: PriceLevel | null = null;
  // Intrusive links of the account's list of open orders.
  prevOpen: Order | null = null;
  nextOpen: Order | null = null;

  constructor(
    readonly id: number,
    readonly account: Account,
    readonly market: Market,
    readonly side: Side,
    readonly type: OrderType,
    readonly timeInForce: TimeInForce,
    readonly postOnly: boolean,
    readonly selfTradePrevention: SelfTradePrevention,
    /** Limit price in ticks; 0 for market orders. */
    readonly price: number,
    /** Quantity in lots; may be reduced by an amend. 0 for market orders by quote amount. */
    public quantity: number,
    /** Market orders by quote amount: quote minor units to spend (buy) or receive (sell). */
    readonly quoteAmount: bigint,
    readonly clientOrderId: string | null,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
  }

  get userId(): string {
    return this.account.userId;
  }

  /** Lots still to fill; unbounded (MAX_SAFE_INTEGER) for orders sized by quote amount. */
  get remaining(): number {
    return this.quantity === 0 ? Number.MAX_SAFE_INTEGER : this.quantity - this.filled;
  }

  get isOpen(): boolean {
    return this.status === 'new' || this.status === 'partially_filled';
  }
}

export function toOrderView(o: Order): OrderView {
  return {
    orderId: o.id,
    clientOrderId: o.clientOrderId,
    userId: o.account.userId,
    market: o.market.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    postOnly: o.postOnly,
    selfTradePrevention: o.selfTradePrevention,
    price: o.price,
    quantity: o.quantity,
    quoteAmount: o.quoteAmount,
    filledQuantity: o.filled,
    filledQuoteAmount: o.filledQuote,
    status: o.status,
    locked: o.locked,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}
