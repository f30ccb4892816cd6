/**
 * A naive reference model of the matching core, written from the specification and sharing no
 * code with `services/engine/core/` except its types. It is meant to be obviously correct, not
 * fast: every market's book is a plain array of resting orders, the best maker is found by
 * filtering and sorting on every step, balances live in a Map keyed `${user}/${asset}`.
 *
 * Units as in the core: prices in integer ticks, quantities in integer lots, amounts in integer
 * minor units (bigint). The three default markets' integer parameters are hard-coded below.
 */
import type {
  AmendOrderCommand,
  CancelAllCommand,
  CancelOrderCommand,
  Command,
  DepositCommand,
  OrderStatus,
  OrderType,
  PlaceOrderCommand,
  SelfTradePrevention,
  Side,
  TimeInForce,
  WithdrawCommand,
} from '../../../services/engine/core/types';

export interface RefMarket {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Base minor units in one lot. */
  readonly lotMinor: bigint;
  /** Quote minor units paid for `lots` at `price` ticks, rounded down. */
  readonly notional: (price: bigint, lots: bigint) => bigint;
}

export const REF_ASSETS: readonly string[] = ['USDC', 'SOL', 'BTC', 'ETH'];

export const REF_MARKETS: ReadonlyMap<string, RefMarket> = new Map<string, RefMarket>([
  // tick 0.01 USDC x lot 0.01 SOL = 0.0001 USDC = 100 USDC minor units; 1 lot = 1e7 SOL minor.
  [
    'SOL_USDC',
    {
      symbol: 'SOL_USDC',
      base: 'SOL',
      quote: 'USDC',
      lotMinor: 10_000_000n,
      notional: (p, l) => p * l * 100n,
    },
  ],
  // tick 0.01 USDC x lot 0.00001 BTC = 1e-7 USDC = 0.1 minor units; 1 lot = 1000 BTC minor.
  [
    'BTC_USDC',
    {
      symbol: 'BTC_USDC',
      base: 'BTC',
      quote: 'USDC',
      lotMinor: 1_000n,
      notional: (p, l) => (p * l) / 10n,
    },
  ],
  // tick 0.01 USDC x lot 0.0001 ETH = 1e-6 USDC = 1 minor unit; 1 lot = 1e14 ETH minor.
  [
    'ETH_USDC',
    {
      symbol: 'ETH_USDC',
      base: 'ETH',
      quote: 'USDC',
      lotMinor: 100_000_000_000_000n,
      notional: (p, l) => p * l,
    },
  ],
]);

const MIN_QUANTITY_LOTS = 1;
const MIN_NOTIONAL = 1_000_000n;
const MAKER_FEE_PPM = 1_000n;
const TAKER_FEE_PPM = 2_000n;
const MILLION = 1_000_000n;

export interface RefOrder {
  readonly id: number;
  readonly user: string;
  readonly market: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly postOnly: boolean;
  readonly stp: SelfTradePrevention;
  /** Ticks; 0 for market orders. */
  readonly price: number;
  /** Lots; 0 for a market order by quote amount. Reduced by an amend. */
  quantity: number;
  /** Market orders by quote amount only; 0n otherwise. */
  readonly quoteAmount: bigint;
  readonly clientOrderId: string | null;
  filled: number;
  filledQuote: bigint;
  status: OrderStatus;
  /** What the order holds locked now: quote for a buy, base for a sell. */
  locked: bigint;
}

/** The parts of an order that the test compares with the core. */
export interface RefOrderSummary {
  readonly orderId: number;
  readonly status: OrderStatus;
  readonly quantity: number;
  readonly filledQuantity: number;
  readonly filledQuoteAmount: bigint;
  readonly locked: bigint;
}

/** A taker fill: price, lots, quote amount, taker fee. */
export type RefFill = readonly [number, number, bigint, bigint];

export type RefReply =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly userId: string }
  | {
      readonly kind: 'balance';
      readonly available: bigint;
      readonly locked: bigint;
      readonly replayed: boolean;
    }
  | {
      readonly kind: 'order';
      readonly order: RefOrderSummary;
      readonly fills: RefFill[];
      readonly replayed: boolean;
    }
  | { readonly kind: 'orders'; readonly orders: RefOrderSummary[] };

export interface RefOutcome {
  /** The refusal code, or null when the command was applied. */
  readonly error: string | null;
  readonly reply: RefReply;
}

/** Things the model saw happen, so the test can check that the generator exercises them. */
export interface RefStats {
  trades: number;
  selfTradeCancels: Record<SelfTradePrevention, number>;
  statuses: Record<string, number>;
  /** Why takers stopped matching, by reason. */
  stops: Record<string, number>;
  replays: number;
}

export interface RefDepth {
  readonly lastUpdateId: number;
  readonly bids: [number, number][];
  readonly asks: [number, number][];
}

interface Balance {
  available: bigint;
  locked: bigint;
}

interface TransferRecord {
  readonly type: 'deposit' | 'withdraw';
  readonly asset: string;
  readonly amount: bigint;
  readonly available: bigint;
  readonly locked: bigint;
}

/** Why matching of a taker stopped. */
type Stop =
  | 'filled' // its quantity is all filled
  | 'no_liquidity' // the opposite side is empty
  | 'no_cross' // the best opposite price is beyond its limit
  | 'self_trade' // stopped by its self-trade prevention mode
  | 'quote_used' // by quote amount: the next lot no longer fits in the quote amount
  | 'out_of_funds'; // a market order cannot pay for one more lot

function refuse(code: string): RefOutcome {
  return { error: code, reply: { kind: 'none' } };
}

function isPositiveSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function min(a: number, b: number): number {
  return a < b ? a : b;
}

/** ceil(amount * ppm / 1e6), written out. */
function feeOf(amount: bigint, ppm: bigint): bigint {
  const product = amount * ppm;
  const quotient = product / MILLION;
  return quotient * MILLION === product ? quotient : quotient + 1n;
}

function summary(o: RefOrder): RefOrderSummary {
  return {
    orderId: o.id,
    status: o.status,
    quantity: o.quantity,
    filledQuantity: o.filled,
    filledQuoteAmount: o.filledQuote,
    locked: o.locked,
  };
}

export class ReferenceExchange {
  readonly users: string[] = [];
  private readonly balances = new Map<string, Balance>();
  private readonly feePot = new Map<string, bigint>();
  /** Every resting order of every market, in no particular order. */
  private resting: RefOrder[] = [];
  private lastOrderId = 0;
  private readonly updateIds = new Map<string, number>();
  private readonly transfers = new Map<string, TransferRecord>();
  /** Markets whose book the current command changed. */
  private booksChanged = new Set<string>();
  private fills: RefFill[] = [];
  readonly stats: RefStats = {
    trades: 0,
    selfTradeCancels: { cancel_taker: 0, cancel_maker: 0, cancel_both: 0 },
    statuses: {},
    stops: {},
    replays: 0,
  };

  apply(cmd: Command): RefOutcome {
    this.booksChanged = new Set();
    this.fills = [];
    const outcome = this.dispatch(cmd);
    for (const market of this.booksChanged) {
      this.updateIds.set(market, (this.updateIds.get(market) ?? 0) + 1);
    }
    if (outcome.reply.kind === 'order') {
      const status = outcome.reply.order.status;
      this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
    }
    return outcome;
  }

  private dispatch(cmd: Command): RefOutcome {
    switch (cmd.type) {
      case 'create_user': {
        const userId = String(this.users.length + 1);
        this.users.push(userId);
        return { error: null, reply: { kind: 'user', userId } };
      }
      case 'deposit':
        return this.transfer(cmd, 'deposit');
      case 'withdraw':
        return this.transfer(cmd, 'withdraw');
      case 'place_order':
        return this.place(cmd);
      case 'cancel_order':
        return this.cancel(cmd);
      case 'cancel_all':
        return this.cancelAll(cmd);
      case 'amend_order':
        return this.amend(cmd);
      default:
        throw new Error(`the reference model does not handle ${cmd.type}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  balance(user: string, asset: string): Balance {
    const key = `${user}/${asset}`;
    let balance = this.balances.get(key);
    if (balance === undefined) {
      balance = { available: 0n, locked: 0n };
      this.balances.set(key, balance);
    }
    return balance;
  }

  fee(asset: string): bigint {
    return this.feePot.get(asset) ?? 0n;
  }

  /** A user's open orders (all markets), by order id. */
  openOrders(user: string): RefOrder[] {
    return this.resting.filter((o) => o.user === user).sort((a, b) => a.id - b.id);
  }

  /** Every open order of every user, by order id. */
  allOpenOrders(): RefOrder[] {
    return [...this.resting].sort((a, b) => a.id - b.id);
  }

  depth(market: string): RefDepth {
    const levels = (side: Side): [number, number][] => {
      const totals = new Map<number, number>();
      for (const o of this.resting) {
        if (o.market === market && o.side === side) {
          totals.set(o.price, (totals.get(o.price) ?? 0) + o.quantity - o.filled);
        }
      }
      const prices = [...totals.keys()].sort((a, b) => (side === 'buy' ? b - a : a - b));
      return prices.map((p) => [p, totals.get(p) ?? 0]);
    };
    return {
      lastUpdateId: this.updateIds.get(market) ?? 0,
      bids: levels('buy'),
      asks: levels('sell'),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Deposits and withdrawals

  private transfer(
    cmd: DepositCommand | WithdrawCommand,
    type: 'deposit' | 'withdraw',
  ): RefOutcome {
    if (!this.users.includes(cmd.userId)) return refuse('UNKNOWN_USER');
    if (!REF_ASSETS.includes(cmd.asset)) return refuse('UNKNOWN_ASSET');
    if (typeof cmd.amount !== 'bigint' || cmd.amount <= 0n) return refuse('INVALID_AMOUNT');
    const key = cmd.idempotencyKey === undefined ? null : `${cmd.userId}/${cmd.idempotencyKey}`;
    if (key !== null) {
      const prior = this.transfers.get(key);
      if (prior !== undefined) {
        if (prior.type !== type || prior.asset !== cmd.asset || prior.amount !== cmd.amount) {
          return refuse('IDEMPOTENCY_KEY_REUSED');
        }
        this.stats.replays++;
        return {
          error: null,
          reply: {
            kind: 'balance',
            available: prior.available,
            locked: prior.locked,
            replayed: true,
          },
        };
      }
    }
    const balance = this.balance(cmd.userId, cmd.asset);
    if (type === 'withdraw') {
      if (balance.available < cmd.amount) return refuse('INSUFFICIENT_BALANCE');
      balance.available -= cmd.amount;
    } else {
      balance.available += cmd.amount;
    }
    if (key !== null) {
      this.transfers.set(key, {
        type,
        asset: cmd.asset,
        amount: cmd.amount,
        available: balance.available,
        locked: balance.locked,
      });
    }
    return {
      error: null,
      reply: {
        kind: 'balance',
        available: balance.available,
        locked: balance.locked,
        replayed: false,
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Placing and matching

  private place(cmd: PlaceOrderCommand): RefOutcome {
    if (!this.users.includes(cmd.userId)) return refuse('UNKNOWN_USER');
    const market = REF_MARKETS.get(cmd.market);
    if (market === undefined) return refuse('UNKNOWN_MARKET');
    const stp = cmd.selfTradePrevention ?? 'cancel_taker';
    const postOnly = cmd.postOnly === true;

    let tif: TimeInForce;
    let price = 0;
    let quantity = 0;
    let quoteAmount = 0n;
    if (cmd.orderType === 'limit') {
      tif = cmd.timeInForce ?? 'GTC';
      if (postOnly && tif !== 'GTC') return refuse('INVALID_TIME_IN_FORCE');
      if (!isPositiveSafeInteger(cmd.price)) return refuse('INVALID_PRICE');
      if (!isPositiveSafeInteger(cmd.quantity)) return refuse('INVALID_QUANTITY');
      price = cmd.price;
      quantity = cmd.quantity;
      if (quantity < MIN_QUANTITY_LOTS) return refuse('MIN_QUANTITY');
      if (market.notional(BigInt(price), BigInt(quantity)) < MIN_NOTIONAL) {
        return refuse('MIN_NOTIONAL');
      }
    } else {
      if (cmd.timeInForce !== undefined && cmd.timeInForce !== 'IOC') {
        return refuse('INVALID_TIME_IN_FORCE');
      }
      tif = 'IOC';
      if (cmd.quantity !== undefined) {
        if (!isPositiveSafeInteger(cmd.quantity)) return refuse('INVALID_QUANTITY');
        quantity = cmd.quantity;
        if (quantity < MIN_QUANTITY_LOTS) return refuse('MIN_QUANTITY');
      } else {
        const amount = cmd.quoteAmount ?? 0n;
        if (amount <= 0n) return refuse('INVALID_QUANTITY');
        if (amount < MIN_NOTIONAL) return refuse('MIN_NOTIONAL');
        quoteAmount = amount;
      }
    }

    const clientOrderId = cmd.clientOrderId ?? null;
    if (clientOrderId !== null) {
      const prior = this.resting.find(
        (o) => o.user === cmd.userId && o.clientOrderId === clientOrderId,
      );
      if (prior !== undefined) {
        const same =
          prior.market === cmd.market &&
          prior.side === cmd.side &&
          prior.type === cmd.orderType &&
          prior.price === price &&
          prior.quantity === quantity &&
          prior.quoteAmount === quoteAmount &&
          prior.tif === tif &&
          prior.postOnly === postOnly &&
          prior.stp === stp;
        if (!same) return refuse('DUPLICATE_CLIENT_ORDER_ID');
        this.stats.replays++;
        return {
          error: null,
          reply: { kind: 'order', order: summary(prior), fills: [], replayed: true },
        };
      }
    }

    const best = this.bestMaker(market.symbol, cmd.side === 'buy' ? 'sell' : 'buy');
    if (postOnly && best !== undefined && this.crosses(cmd.side, price, best.price)) {
      return refuse('WOULD_TAKE');
    }

    const payAsset = cmd.side === 'buy' ? market.quote : market.base;
    const available = this.balance(cmd.userId, payAsset).available;
    let lock: bigint;
    if (cmd.orderType === 'limit') {
      lock =
        cmd.side === 'buy'
          ? market.notional(BigInt(price), BigInt(quantity))
          : BigInt(quantity) * market.lotMinor;
    } else if (cmd.side === 'buy') {
      lock = quoteAmount > 0n ? quoteAmount : available;
    } else {
      lock = quantity > 0 ? BigInt(quantity) * market.lotMinor : available;
    }
    if (lock === 0n || lock > available) return refuse('INSUFFICIENT_BALANCE');

    if (
      tif === 'FOK' &&
      !this.fillsCompletelyNow(cmd.userId, market, cmd.side, price, quantity, stp)
    ) {
      return refuse('FOK_NOT_FILLABLE');
    }

    const order: RefOrder = {
      id: ++this.lastOrderId,
      user: cmd.userId,
      market: market.symbol,
      side: cmd.side,
      type: cmd.orderType,
      tif,
      postOnly,
      stp,
      price,
      quantity,
      quoteAmount,
      clientOrderId,
      filled: 0,
      filledQuote: 0n,
      status: 'new',
      locked: 0n,
    };
    const pay = this.balance(order.user, payAsset);
    pay.available -= lock;
    pay.locked += lock;
    order.locked = lock;

    const stop = this.match(order, market);
    this.stats.stops[stop] = (this.stats.stops[stop] ?? 0) + 1;
    if (stop === 'self_trade') {
      this.finish(order, 'cancelled');
    } else if (stop === 'filled') {
      this.finish(order, 'filled');
    } else if (stop === 'quote_used') {
      this.finish(order, order.filled > 0 ? 'filled' : 'expired');
    } else if (order.type === 'limit' && order.tif === 'GTC') {
      order.status = order.filled > 0 ? 'partially_filled' : 'new';
      this.keepExactLock(order);
      this.resting.push(order);
      this.booksChanged.add(order.market);
    } else {
      this.finish(order, 'expired');
    }
    return {
      error: null,
      reply: { kind: 'order', order: summary(order), fills: this.fills, replayed: false },
    };
  }

  /** Does an order on `side` with limit `price` trade with a maker at `makerPrice`? */
  private crosses(side: Side, price: number, makerPrice: number): boolean {
    return side === 'buy' ? makerPrice <= price : makerPrice >= price;
  }

  /** The resting orders of one side of a market, best price first, then oldest (lowest id). */
  private queue(market: string, side: Side): RefOrder[] {
    return this.resting
      .filter((o) => o.market === market && o.side === side)
      .sort((a, b) => {
        if (a.price !== b.price) return side === 'buy' ? b.price - a.price : a.price - b.price;
        return a.id - b.id;
      });
  }

  private bestMaker(market: string, side: Side): RefOrder | undefined {
    return this.queue(market, side)[0];
  }

  /** A FOK check: walk the book as matching would, without changing anything. */
  private fillsCompletelyNow(
    user: string,
    market: RefMarket,
    side: Side,
    price: number,
    quantity: number,
    stp: SelfTradePrevention,
  ): boolean {
    let missing = quantity;
    for (const maker of this.queue(market.symbol, side === 'buy' ? 'sell' : 'buy')) {
      if (!this.crosses(side, price, maker.price)) return false;
      if (maker.user === user) {
        // cancel_maker would cancel it and go on; the other modes stop the taker here.
        if (stp === 'cancel_maker') continue;
        return false;
      }
      missing -= maker.quantity - maker.filled;
      if (missing <= 0) return true;
    }
    return false;
  }

  /** Most lots whose notional at `price` is at most `budget` (notional grows with lots). */
  private mostLotsWithin(market: RefMarket, price: number, budget: bigint): number {
    const p = BigInt(price);
    if (market.notional(p, 1n) > budget) return 0;
    let low = 1n; // fits
    let high = 2n;
    while (market.notional(p, high) <= budget) high *= 2n;
    // low fits, high does not.
    while (high - low > 1n) {
      const mid = (low + high) / 2n;
      if (market.notional(p, mid) <= budget) low = mid;
      else high = mid;
    }
    return Number(low);
  }

  private match(taker: RefOrder, market: RefMarket): Stop {
    const makerSide: Side = taker.side === 'buy' ? 'sell' : 'buy';
    for (;;) {
      if (taker.quantity > 0 && taker.filled === taker.quantity) return 'filled';
      if (
        taker.quoteAmount > 0n &&
        (taker.side === 'buy' ? taker.locked === 0n : taker.filledQuote >= taker.quoteAmount)
      ) {
        return 'quote_used';
      }
      const maker = this.bestMaker(market.symbol, makerSide);
      if (maker === undefined) return 'no_liquidity';
      if (taker.type === 'limit' && !this.crosses(taker.side, taker.price, maker.price)) {
        return 'no_cross';
      }
      if (maker.user === taker.user) {
        this.stats.selfTradeCancels[taker.stp]++;
        if (taker.stp === 'cancel_taker') return 'self_trade';
        this.closeResting(maker, 'cancelled');
        if (taker.stp === 'cancel_both') return 'self_trade';
        continue;
      }
      let lots = maker.quantity - maker.filled;
      if (taker.quantity > 0) lots = min(lots, taker.quantity - taker.filled);
      if (taker.type === 'market') {
        if (taker.side === 'buy') {
          lots = min(lots, this.mostLotsWithin(market, maker.price, taker.locked));
          if (lots === 0) return taker.quoteAmount > 0n ? 'quote_used' : 'out_of_funds';
        } else {
          lots = min(lots, Number(taker.locked / market.lotMinor));
          if (lots === 0) return 'out_of_funds';
          if (taker.quoteAmount > 0n) {
            const wanted = taker.quoteAmount - taker.filledQuote;
            lots = min(lots, this.mostLotsWithin(market, maker.price, wanted));
            if (lots === 0) return 'quote_used';
          }
        }
      }
      this.trade(market, taker, maker, lots);
    }
  }

  private trade(market: RefMarket, taker: RefOrder, maker: RefOrder, lots: number): void {
    const quote = market.notional(BigInt(maker.price), BigInt(lots));
    const base = BigInt(lots) * market.lotMinor;
    const takerBuys = taker.side === 'buy';
    const buyer = takerBuys ? taker : maker;
    const seller = takerBuys ? maker : taker;
    const buyerFee = feeOf(base, takerBuys ? TAKER_FEE_PPM : MAKER_FEE_PPM);
    const sellerFee = feeOf(quote, takerBuys ? MAKER_FEE_PPM : TAKER_FEE_PPM);

    this.balance(buyer.user, market.quote).locked -= quote;
    buyer.locked -= quote;
    this.balance(buyer.user, market.base).available += base - buyerFee;
    this.feePot.set(market.base, this.fee(market.base) + buyerFee);

    this.balance(seller.user, market.base).locked -= base;
    seller.locked -= base;
    this.balance(seller.user, market.quote).available += quote - sellerFee;
    this.feePot.set(market.quote, this.fee(market.quote) + sellerFee);

    for (const o of [taker, maker]) {
      o.filled += lots;
      o.filledQuote += quote;
    }
    this.stats.trades++;
    this.fills.push([maker.price, lots, quote, takerBuys ? buyerFee : sellerFee]);
    this.booksChanged.add(market.symbol);

    if (maker.filled === maker.quantity) {
      this.closeResting(maker, 'filled');
    } else {
      maker.status = 'partially_filled';
      this.keepExactLock(maker);
    }
  }

  /** A resting order keeps locked exactly what it can still spend; the excess goes back. */
  private keepExactLock(order: RefOrder): void {
    const market = REF_MARKETS.get(order.market) as RefMarket;
    const remaining = BigInt(order.quantity - order.filled);
    const needed =
      order.side === 'buy'
        ? market.notional(BigInt(order.price), remaining)
        : remaining * market.lotMinor;
    const excess = order.locked - needed;
    if (excess < 0n) throw new Error(`reference model: order ${order.id} holds too little`);
    this.unlock(order, excess);
  }

  private unlock(order: RefOrder, amount: bigint): void {
    const market = REF_MARKETS.get(order.market) as RefMarket;
    const balance = this.balance(order.user, order.side === 'buy' ? market.quote : market.base);
    balance.locked -= amount;
    balance.available += amount;
    order.locked -= amount;
  }

  /** Ends an order (resting or not): it gives back everything it still holds. */
  private finish(order: RefOrder, status: OrderStatus): void {
    this.unlock(order, order.locked);
    order.status = status;
  }

  private closeResting(order: RefOrder, status: OrderStatus): void {
    this.resting = this.resting.filter((o) => o !== order);
    this.booksChanged.add(order.market);
    this.finish(order, status);
  }

  // -------------------------------------------------------------------------------------------
  // Cancel, cancel all, amend

  private findOwn(
    user: string,
    orderId: number | undefined,
    clientOrderId: string | undefined,
  ): RefOrder | string {
    if (orderId === undefined && clientOrderId === undefined) return 'INVALID_ORDER';
    const found = this.resting.find(
      (o) =>
        o.user === user &&
        (orderId === undefined || o.id === orderId) &&
        (clientOrderId === undefined || o.clientOrderId === clientOrderId),
    );
    return found ?? 'ORDER_NOT_FOUND';
  }

  private cancel(cmd: CancelOrderCommand): RefOutcome {
    if (!this.users.includes(cmd.userId)) return refuse('UNKNOWN_USER');
    const order = this.findOwn(cmd.userId, cmd.orderId, cmd.clientOrderId);
    if (typeof order === 'string') return refuse(order);
    this.closeResting(order, 'cancelled');
    return {
      error: null,
      reply: { kind: 'order', order: summary(order), fills: [], replayed: false },
    };
  }

  private cancelAll(cmd: CancelAllCommand): RefOutcome {
    if (!this.users.includes(cmd.userId)) return refuse('UNKNOWN_USER');
    if (cmd.market !== undefined && !REF_MARKETS.has(cmd.market)) return refuse('UNKNOWN_MARKET');
    const victims = this.openOrders(cmd.userId).filter(
      (o) => cmd.market === undefined || o.market === cmd.market,
    );
    for (const order of victims) this.closeResting(order, 'cancelled');
    return { error: null, reply: { kind: 'orders', orders: victims.map(summary) } };
  }

  private amend(cmd: AmendOrderCommand): RefOutcome {
    if (!this.users.includes(cmd.userId)) return refuse('UNKNOWN_USER');
    const order = this.findOwn(cmd.userId, cmd.orderId, cmd.clientOrderId);
    if (typeof order === 'string') return refuse(order);
    if (!isPositiveSafeInteger(cmd.quantity)) return refuse('INVALID_QUANTITY');
    if (cmd.quantity >= order.quantity || cmd.quantity <= order.filled) {
      return refuse('INVALID_QUANTITY');
    }
    order.quantity = cmd.quantity;
    this.keepExactLock(order);
    this.booksChanged.add(order.market);
    return {
      error: null,
      reply: { kind: 'order', order: summary(order), fills: [], replayed: false },
    };
  }
}
