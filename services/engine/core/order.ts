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
  // Fields are declared and assigned in the constructor, not initialised as class fields: under
  // ES2022 class-field semantics each initialiser is a define on the new object, and V8 then
  // does not inline the construction of this object, made for every order.
  declare readonly id: number;
  declare readonly account: Account;
  declare readonly market: Market;
  declare readonly side: Side;
  declare readonly type: OrderType;
  declare readonly timeInForce: TimeInForce;
  declare readonly postOnly: boolean;
  declare readonly selfTradePrevention: SelfTradePrevention;
  /** Limit price in ticks; 0 for market orders. */
  declare readonly price: number;
  /** Quantity in lots; may be reduced by an amend. 0 for market orders by quote amount. */
  declare quantity: number;
  /** Market orders by quote amount: quote minor units to spend (buy) or receive (sell). */
  declare readonly quoteAmount: bigint;
  declare readonly clientOrderId: string | null;
  declare readonly createdAt: number;
  /** Lots filled so far. */
  declare filled: number;
  /** Quote minor units traded so far. */
  declare filledQuote: bigint;
  declare status: OrderStatus;
  /**
   * What this order holds locked now, in minor units of the asset it spends (quote for buys,
   * base for sells). Invariant while it rests: exactly what it can still spend.
   */
  declare locked: bigint;
  declare updatedAt: number;
  // Intrusive links of the price level's queue (null when not resting).
  declare prev: Order | null;
  declare next: Order | null;
  declare level: PriceLevel | null;
  // Intrusive links of the account's list of open orders.
  declare prevOpen: Order | null;
  declare nextOpen: Order | null;

  constructor(
    id: number,
    account: Account,
    market: Market,
    side: Side,
    type: OrderType,
    timeInForce: TimeInForce,
    postOnly: boolean,
    selfTradePrevention: SelfTradePrevention,
    price: number,
    quantity: number,
    quoteAmount: bigint,
    clientOrderId: string | null,
    createdAt: number,
  ) {
    this.id = id;
    this.account = account;
    this.market = market;
    this.side = side;
    this.type = type;
    this.timeInForce = timeInForce;
    this.postOnly = postOnly;
    this.selfTradePrevention = selfTradePrevention;
    this.price = price;
    this.quantity = quantity;
    this.quoteAmount = quoteAmount;
    this.clientOrderId = clientOrderId;
    this.createdAt = createdAt;
    this.filled = 0;
    this.filledQuote = 0n;
    this.status = 'new';
    this.locked = 0n;
    this.updatedAt = createdAt;
    this.prev = null;
    this.next = null;
    this.level = null;
    this.prevOpen = null;
    this.nextOpen = null;
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
