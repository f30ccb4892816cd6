/**
 * The matching core: markets, order books, users and balances, changed only by {@link apply}.
 *
 * Commands in, events out. `apply` validates a command completely before it changes anything,
 * so a refused command (a {@link DomainError}) leaves the state exactly as it was. The core has no
 * clock, no randomness and no I/O: the same commands in the same order give the same state and
 * the same events. Ids (users, orders, trades, events) are sequences.
 */
import { BoundedMap } from './bounded-map';
import { Account, type Asset, BalanceSheet } from './balance-sheet';
import { DomainError } from './errors';
import { Market } from './market';
import { Order, toOrderView } from './order';
import { OrderIndex } from './order-index';
import type { PriceLevel } from './price-level';
import {
  type AddMarketCommand,
  type AmendOrderCommand,
  type AssetView,
  type BalanceView,
  type CancelAllCommand,
  type CancelOrderCommand,
  type CloseReason,
  type Command,
  type DepositCommand,
  type DepthView,
  type ExchangeEvent,
  type FillView,
  type MarketView,
  type OrderEventKind,
  type OrderStatus,
  type OrderView,
  type PlaceOrderCommand,
  type Reply,
  type SelfTradePrevention,
  type Side,
  type TimeInForce,
  type WithdrawCommand,
} from './types';
import { MAX_LOTS, MAX_TICKS, bigIntOf } from './units';

// Hot imports copied into module constants: in the CommonJS output that tsx and jest run, every
// use of an imported binding is a getter call, which shows in profiles of the hot path.
const OrderRecord = Order;
const orderView = toOrderView;
const MAX_PRICE_TICKS = MAX_TICKS;
const MAX_QUANTITY_LOTS = MAX_LOTS;
const toBigInt = bigIntOf;

/** What `apply` returns: the events the command caused, and either a reply or the refusal. */
export interface Outcome {
  readonly events: ExchangeEvent[];
  readonly error: DomainError | null;
  readonly reply: Reply;
}

/**
 * Told before the core changes an order that rests (a fill, an amend, its end): how a snapshot
 * capture keeps the orders it has not copied yet as they were (see snapshot.ts).
 */
export interface OrderWatcher {
  beforeChange(order: Order): void;
}

/** Why matching stopped. */
type MatchEnd = 'done' | 'no_cross' | 'no_liquidity' | 'self_trade' | 'insufficient_funds';

interface IdempotencyRecord {
  readonly type: 'deposit' | 'withdraw';
  readonly asset: string;
  readonly amount: bigint;
  readonly balance: BalanceView;
}

/** How many deposit/withdraw idempotency keys are remembered (oldest forgotten first). */
export const IDEMPOTENCY_CAPACITY = 100_000;
const CLIENT_ORDER_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,128}$/;
const NO_REPLY: Reply = { kind: 'none' };

export class ExchangeCore {
  /** @internal exposed to the snapshot module. */
  readonly sheet = new BalanceSheet();
  /** @internal */
  readonly markets = new Map<string, Market>();
  /** @internal every open order, by id. */
  readonly orders = new OrderIndex();
  /** @internal */
  readonly idempotency = new BoundedMap<string, IdempotencyRecord>(IDEMPOTENCY_CAPACITY);
  /** @internal */
  counters = { order: 0, user: 0, event: 0, command: 0 };
  /** @internal a snapshot capture still copying the open orders, if any. */
  watcher: OrderWatcher | null = null;

  // Per-command scratch state.
  private events: ExchangeEvent[] = [];
  private ts = 0;
  private stamp = 0;
  // Balances and markets the command changed: the first `touchedBalanceCount` (resp.
  // `touchedMarketCount`) entries; the arrays are reused, never truncated (cheaper than length=0).
  private readonly touchedBalances: Account[] = [];
  private readonly touchedAssets: Asset[] = [];
  private touchedBalanceCount = 0;
  private readonly touchedMarkets: Market[] = [];
  private touchedMarketCount = 0;
  /** The view in the last order event of this command, reused by the reply when still current. */
  private lastView: OrderView | null = null;
  /** The order being placed, while it matches (its balances are settled by settleTaker). */
  private taker: Order | null = null;
  /** The market last looked up by symbol (see {@link market}). */
  private lastMarket: Market | null = null;

  /** Applies one command. Commands must arrive with strictly increasing `seq`. */
  apply(cmd: Command): Outcome {
    if (!(cmd.seq > this.counters.command)) {
      throw new Error(`command seq ${cmd.seq} is not after ${this.counters.command}`);
    }
    this.counters.command = cmd.seq;
    this.ts = cmd.ts;
    this.stamp++;
    this.events = [];
    this.lastView = null;
    const eventSeq = this.counters.event;
    try {
      const reply = this.dispatch(cmd);
      this.flushBalances();
      this.flushDepth();
      return { events: this.events, error: null, reply };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      // Validation precedes every change, so nothing needs undoing; drop scratch state only.
      this.counters.event = eventSeq;
      this.touchedBalanceCount = 0;
      this.touchedMarketCount = 0;
      const events: ExchangeEvent[] = [];
      if (cmd.type === 'place_order') {
        events.push({
          type: 'order_rejected',
          seq: ++this.counters.event,
          ts: this.ts,
          userId: String(cmd.userId),
          market: String(cmd.market),
          clientOrderId: typeof cmd.clientOrderId === 'string' ? cmd.clientOrderId : null,
          code: err.code,
          message: err.message,
        });
      }
      return { events, error: err, reply: NO_REPLY };
    }
  }

  private dispatch(cmd: Command): Reply {
    switch (cmd.type) {
      case 'place_order':
        return this.placeOrder(cmd);
      case 'cancel_order':
        return this.cancelOrder(cmd);
      case 'cancel_all':
        return this.cancelAll(cmd);
      case 'amend_order':
        return this.amendOrder(cmd);
      case 'deposit':
        return this.deposit(cmd);
      case 'withdraw':
        return this.withdraw(cmd);
      case 'create_user':
        return this.createUser(cmd.apiKeyHash);
      case 'add_asset':
        return this.addAsset(cmd.symbol, cmd.decimals);
      case 'add_market':
        return this.addMarket(cmd);
      default:
        throw new DomainError(
          'INVALID_ORDER',
          `unknown command ${String((cmd as { type: unknown }).type)}`,
        );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reference data

  private addAsset(symbol: string, decimals: number): Reply {
    const asset = this.sheet.addAsset(symbol, decimals);
    const view: AssetView = { symbol: asset.symbol, decimals: asset.decimals };
    this.emit({ type: 'asset_added', seq: ++this.counters.event, ts: this.ts, asset: view });
    return { kind: 'asset', asset: view };
  }

  private addMarket(cmd: AddMarketCommand): Reply {
    if (this.markets.has(cmd.symbol)) {
      throw new DomainError('MARKET_EXISTS', `market ${cmd.symbol} already exists`);
    }
    const market = Market.create(cmd, this.sheet.asset(cmd.base), this.sheet.asset(cmd.quote));
    this.markets.set(market.symbol, market);
    this.emit({
      type: 'market_added',
      seq: ++this.counters.event,
      ts: this.ts,
      market: market.spec,
    });
    return { kind: 'market', market: market.spec };
  }

  private createUser(apiKeyHash: string): Reply {
    if (typeof apiKeyHash !== 'string' || apiKeyHash.length === 0 || apiKeyHash.length > 128) {
      throw new DomainError('INVALID_ORDER', 'apiKeyHash must be a non-empty string');
    }
    const userId = String(this.counters.user + 1);
    this.sheet.openAccount(userId, apiKeyHash);
    this.counters.user++;
    this.emit({ type: 'user_created', seq: ++this.counters.event, ts: this.ts, userId });
    return { kind: 'user', userId };
  }

  // -------------------------------------------------------------------------------------------
  // Deposits and withdrawals

  private deposit(cmd: DepositCommand): Reply {
    return this.transfer(cmd, 'deposit');
  }

  private withdraw(cmd: WithdrawCommand): Reply {
    return this.transfer(cmd, 'withdraw');
  }

  private transfer(cmd: DepositCommand | WithdrawCommand, type: 'deposit' | 'withdraw'): Reply {
    const account = this.sheet.account(cmd.userId);
    const asset = this.sheet.asset(cmd.asset);
    if (typeof cmd.amount !== 'bigint' || cmd.amount <= 0n) {
      throw new DomainError('INVALID_AMOUNT', 'amount must be greater than zero');
    }
    let key: string | null = null;
    if (cmd.idempotencyKey !== undefined) {
      if (typeof cmd.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_RE.test(cmd.idempotencyKey)) {
        throw new DomainError(
          'INVALID_AMOUNT',
          'idempotency key must be 1-128 printable characters',
        );
      }
      key = `${account.userId}\u0000${cmd.idempotencyKey}`;
      const prior = this.idempotency.get(key);
      if (prior !== undefined) {
        if (prior.type !== type || prior.asset !== asset.symbol || prior.amount !== cmd.amount) {
          throw new DomainError(
            'IDEMPOTENCY_KEY_REUSED',
            'idempotency key was used for a different request',
          );
        }
        return { kind: 'balance', balance: prior.balance, replayed: true };
      }
    }
    if (type === 'deposit') this.sheet.deposit(account, asset, cmd.amount);
    else this.sheet.withdraw(account, asset, cmd.amount);
    this.touchBalance(account, asset);
    this.emit({
      type: type === 'deposit' ? 'deposit' : 'withdrawal',
      seq: ++this.counters.event,
      ts: this.ts,
      userId: account.userId,
      asset: asset.symbol,
      amount: cmd.amount,
      idempotencyKey: cmd.idempotencyKey ?? null,
    });
    const balance = this.balanceView(account, asset);
    if (key !== null) {
      this.idempotency.set(key, { type, asset: asset.symbol, amount: cmd.amount, balance });
    }
    return { kind: 'balance', balance, replayed: false };
  }

  // -------------------------------------------------------------------------------------------
  // Orders

  private placeOrder(cmd: PlaceOrderCommand): Reply {
    const account = this.sheet.account(cmd.userId);
    const market = this.market(cmd.market);
    const side = cmd.side;
    if (side !== 'buy' && side !== 'sell') {
      throw new DomainError('INVALID_ORDER', `side must be buy or sell, got ${String(side)}`);
    }
    const stp: SelfTradePrevention = cmd.selfTradePrevention ?? 'cancel_taker';
    if (stp !== 'cancel_taker' && stp !== 'cancel_maker' && stp !== 'cancel_both') {
      throw new DomainError('INVALID_ORDER', `unknown self-trade prevention ${String(stp)}`);
    }
    if (cmd.postOnly !== undefined && typeof cmd.postOnly !== 'boolean') {
      throw new DomainError('INVALID_ORDER', 'postOnly must be a boolean');
    }
    const postOnly = cmd.postOnly === true;
    const clientOrderId = cmd.clientOrderId ?? null;
    if (
      clientOrderId !== null &&
      (typeof clientOrderId !== 'string' || !CLIENT_ORDER_ID_RE.test(clientOrderId))
    ) {
      throw new DomainError(
        'INVALID_CLIENT_ORDER_ID',
        'clientOrderId must be 1-64 of A-Z a-z 0-9 _ . : -',
      );
    }

    let tif: TimeInForce;
    let price = 0;
    let quantity = 0;
    let quoteAmount = 0n;
    let notional = 0n;
    if (cmd.orderType === 'limit') {
      tif = cmd.timeInForce ?? 'GTC';
      if (tif !== 'GTC' && tif !== 'IOC' && tif !== 'FOK') {
        throw new DomainError(
          'INVALID_TIME_IN_FORCE',
          `time in force must be GTC, IOC or FOK, got ${String(tif)}`,
        );
      }
      if (postOnly && tif !== 'GTC') {
        throw new DomainError('INVALID_TIME_IN_FORCE', 'a post-only order must be GTC');
      }
      if (cmd.quoteAmount !== undefined) {
        throw new DomainError(
          'INVALID_ORDER',
          'a limit order takes a quantity, not a quote amount',
        );
      }
      price = checkSteps(cmd.price, MAX_PRICE_TICKS, 'INVALID_PRICE', 'price');
      quantity = checkSteps(cmd.quantity, MAX_QUANTITY_LOTS, 'INVALID_QUANTITY', 'quantity');
      if (quantity < market.minQuantity) {
        throw new DomainError(
          'MIN_QUANTITY',
          `quantity is below the minimum ${market.spec.minQuantity}`,
        );
      }
      notional = market.notional(price, quantity);
      if (notional < market.minNotional) {
        throw new DomainError(
          'MIN_NOTIONAL',
          `order value is below the minimum ${market.spec.minNotional} ${market.quote.symbol}`,
        );
      }
    } else if (cmd.orderType === 'market') {
      if (cmd.timeInForce !== undefined && cmd.timeInForce !== 'IOC') {
        throw new DomainError('INVALID_TIME_IN_FORCE', 'a market order is always IOC');
      }
      tif = 'IOC';
      if (postOnly) throw new DomainError('INVALID_ORDER', 'a market order cannot be post-only');
      if (cmd.price !== undefined)
        throw new DomainError('INVALID_ORDER', 'a market order takes no price');
      if ((cmd.quantity === undefined) === (cmd.quoteAmount === undefined)) {
        throw new DomainError(
          'INVALID_ORDER',
          'a market order takes exactly one of quantity and quote amount',
        );
      }
      if (cmd.quantity !== undefined) {
        quantity = checkSteps(cmd.quantity, MAX_QUANTITY_LOTS, 'INVALID_QUANTITY', 'quantity');
        if (quantity < market.minQuantity) {
          throw new DomainError(
            'MIN_QUANTITY',
            `quantity is below the minimum ${market.spec.minQuantity}`,
          );
        }
      } else {
        if (typeof cmd.quoteAmount !== 'bigint' || cmd.quoteAmount <= 0n) {
          throw new DomainError('INVALID_QUANTITY', 'quote amount must be greater than zero');
        }
        quoteAmount = cmd.quoteAmount;
        if (quoteAmount < market.minNotional) {
          throw new DomainError(
            'MIN_NOTIONAL',
            `quote amount is below the minimum ${market.spec.minNotional} ${market.quote.symbol}`,
          );
        }
      }
    } else {
      throw new DomainError(
        'INVALID_ORDER',
        `order type must be limit or market, got ${String(cmd.orderType)}`,
      );
    }

    if (clientOrderId !== null) {
      const prior = account.byClientId.get(clientOrderId);
      if (prior !== undefined) {
        if (
          sameRequest(
            prior,
            market,
            side,
            cmd.orderType,
            price,
            quantity,
            quoteAmount,
            tif,
            postOnly,
            stp,
          )
        ) {
          return { kind: 'order', order: orderView(prior), fills: [], replayed: true };
        }
        throw new DomainError(
          'DUPLICATE_CLIENT_ORDER_ID',
          `an open order already has clientOrderId ${clientOrderId}`,
        );
      }
    }

    const opposite = market.book.oppositeOf(side);
    if (postOnly) {
      const best = opposite.best;
      if (best !== undefined && crosses(side, price, best.price)) {
        throw new DomainError('WOULD_TAKE', 'a post-only order would trade on arrival');
      }
    }

    const payAsset = side === 'buy' ? market.quote : market.base;
    const available = account.available[payAsset.index];
    let lock: bigint;
    if (cmd.orderType === 'limit') lock = side === 'buy' ? notional : market.baseAmount(quantity);
    else if (side === 'buy') lock = quoteAmount > 0n ? quoteAmount : available;
    else lock = quantity > 0 ? market.baseAmount(quantity) : available;
    if (lock > available || (cmd.orderType === 'market' && lock === 0n)) {
      throw new DomainError(
        'INSUFFICIENT_BALANCE',
        `available ${payAsset.symbol} is less than the order needs`,
      );
    }
    if (tif === 'FOK' && !this.fillable(account, market, side, price, quantity, stp)) {
      throw new DomainError('FOK_NOT_FILLABLE', 'the order cannot be filled in full at once');
    }

    // Everything is checked: from here on the command cannot fail.
    const order = new OrderRecord(
      ++this.counters.order,
      account,
      market,
      side,
      cmd.orderType,
      tif,
      postOnly,
      stp,
      price,
      quantity,
      quoteAmount,
      clientOrderId,
      this.ts,
    );
    // The lock is taken from the balances once, when the order is done with (settleTaker):
    // until then its payments and releases change only `order.locked`.
    order.locked = lock;
    this.taker = order;
    this.touchBalance(account, payAsset);
    this.emitOrder('accepted', order, null);

    const fills: FillView[] = [];
    const end = this.match(order, market, fills);

    const rests =
      order.type === 'limit' && tif === 'GTC' && (end === 'no_cross' || end === 'no_liquidity');
    if (end === 'done' && order.filled > 0) {
      this.finish(order, 'filled', null);
    } else if (rests) {
      this.rest(order, market);
    } else if (end === 'self_trade') {
      this.finish(order, 'cancelled', 'self_trade');
    } else {
      // A limit leftover expires by its time in force; a market order by what stopped it.
      const reason: CloseReason =
        order.type === 'limit'
          ? 'time_in_force'
          : end === 'no_liquidity'
            ? 'no_liquidity'
            : 'insufficient_funds';
      this.finish(order, 'expired', reason);
    }
    this.settleTaker(order, payAsset);
    return { kind: 'order', order: this.viewOf(order), fills, replayed: false };
  }

  /**
   * Applies the taker's own side to its balances in one step. The order locked `L` on arrival,
   * paid what it traded, and gave back (by trim or release) what it no longer holds, keeping
   * `order.locked`; so available goes down by what it paid plus what it still holds and locked
   * up by what it still holds. The same balances, exactly, as locking `L` first and moving each
   * payment and release through them, with two to five fewer bigint operations for an order
   * that trades. Nothing reads these balances in between: the taker never trades with its own
   * user's orders, and a maker of the same user cancelled by self-trade prevention releases the
   * other asset.
   */
  private settleTaker(order: Order, payAsset: Asset): void {
    this.taker = null;
    const paid = order.side === 'buy' ? order.filledQuote : order.market.baseAmount(order.filled);
    this.sheet.holdAndSpend(order.account, payAsset, order.locked, paid);
  }

  /**
   * Trades `taker` against the opposite side while prices cross. Limit buys can always pay at
   * their limit (they locked that); market orders are held to what they locked.
   */
  private match(taker: Order, market: Market, fills: FillView[]): MatchEnd {
    const opposite = market.book.oppositeOf(taker.side);
    const isBuy = taker.side === 'buy';
    const isMarket = taker.type === 'market';
    for (;;) {
      const level = opposite.best;
      if (level === undefined) return 'no_liquidity';
      if (!isMarket && (isBuy ? level.price > taker.price : level.price < taker.price)) {
        return 'no_cross';
      }
      const maker = level.head as Order;
      if (maker.account === taker.account) {
        const mode = taker.selfTradePrevention;
        if (mode !== 'cancel_taker') this.closeResting(maker, 'cancelled', 'self_trade');
        if (mode !== 'cancel_maker') return 'self_trade';
        continue;
      }
      let lots = Math.min(taker.remaining, maker.remaining);
      if (isMarket) {
        if (isBuy) {
          const affordable = market.lotsWithin(taker.locked, level.price);
          if (affordable < lots) {
            lots = affordable;
            if (lots === 0) return taker.quoteAmount > 0n ? 'done' : 'insufficient_funds';
          }
        } else {
          const held = market.lotsIn(taker.locked);
          if (held < lots) {
            lots = held;
            if (lots === 0) return 'insufficient_funds';
          }
          if (taker.quoteAmount > 0n) {
            const wanted = market.lotsWithin(taker.quoteAmount - taker.filledQuote, level.price);
            if (wanted < lots) {
              lots = wanted;
              if (lots === 0) return 'done';
            }
          }
        }
      }
      this.trade(market, level, taker, maker, lots, fills);
      if (taker.remaining === 0) return 'done';
      // An order sized by quote amount is done once the amount is used up, book or no book.
      if (
        taker.quoteAmount > 0n &&
        (isBuy ? taker.locked === 0n : taker.filledQuote >= taker.quoteAmount)
      ) {
        return 'done';
      }
    }
  }

  private trade(
    market: Market,
    level: PriceLevel,
    taker: Order,
    maker: Order,
    lots: number,
    fills: FillView[],
  ): void {
    if (this.watcher !== null) this.watcher.beforeChange(maker);
    const price = level.price;
    const takerBuys = taker.side === 'buy';
    const buyer = takerBuys ? taker : maker;
    const seller = takerBuys ? maker : taker;
    // Amounts and fees in exact integer JS numbers while they are safe integers, else bigint.
    const quoteN = market.notionalN(price, lots);
    const baseN = market.baseAmountN(lots);
    const quote = quoteN >= 0 ? toBigInt(quoteN) : market.notional(price, lots);
    const base = baseN >= 0 ? toBigInt(baseN) : market.baseAmount(lots);
    const buyerFeeN =
      baseN >= 0 ? market.feeN(baseN, takerBuys ? market.takerFeePpmN : market.makerFeePpmN) : -1;
    const sellerFeeN =
      quoteN >= 0 ? market.feeN(quoteN, takerBuys ? market.makerFeePpmN : market.takerFeePpmN) : -1;
    const buyerFee =
      buyerFeeN >= 0
        ? toBigInt(buyerFeeN)
        : Market.fee(base, takerBuys ? market.takerFeePpm : market.makerFeePpm);
    const sellerFee =
      sellerFeeN >= 0
        ? toBigInt(sellerFeeN)
        : Market.fee(quote, takerBuys ? market.makerFeePpm : market.takerFeePpm);
    // The taker pays out of its lock in settleTaker; here it only receives.
    const sheet = this.sheet;
    if (takerBuys) {
      sheet.receive(buyer.account, market.base, base, buyerFee, buyerFeeN);
      sheet.settle(seller.account, market.base, base, market.quote, quote, sellerFee, sellerFeeN);
    } else {
      sheet.settle(buyer.account, market.quote, quote, market.base, base, buyerFee, buyerFeeN);
      sheet.receive(seller.account, market.quote, quote, sellerFee, sellerFeeN);
    }
    buyer.locked -= quote;
    seller.locked -= base;
    this.touchBalance(buyer.account, market.quote);
    this.touchBalance(buyer.account, market.base);
    this.touchBalance(seller.account, market.base);
    this.touchBalance(seller.account, market.quote);

    const ts = this.ts;
    taker.filled += lots;
    taker.filledQuote += quote;
    taker.updatedAt = ts;
    maker.filled += lots;
    maker.filledQuote += quote;
    maker.updatedAt = ts;
    level.total -= lots;
    this.touchLevel(market, level);

    const tradeId = ++market.tradeSeq;
    const takerFee = takerBuys ? buyerFee : sellerFee;
    const makerFee = takerBuys ? sellerFee : buyerFee;
    const takerFeeAsset = takerBuys ? market.base.symbol : market.quote.symbol;
    const makerFeeAsset = takerBuys ? market.quote.symbol : market.base.symbol;
    this.emit({
      type: 'trade',
      seq: ++this.counters.event,
      ts: this.ts,
      market: market.symbol,
      tradeId,
      price,
      quantity: lots,
      quoteAmount: quote,
      takerSide: taker.side,
      maker: {
        orderId: maker.id,
        userId: maker.account.userId,
        fee: makerFee,
        feeAsset: makerFeeAsset,
      },
      taker: {
        orderId: taker.id,
        userId: taker.account.userId,
        fee: takerFee,
        feeAsset: takerFeeAsset,
      },
    });
    fills.push({
      tradeId,
      price,
      quantity: lots,
      quoteAmount: quote,
      fee: takerFee,
      feeAsset: takerFeeAsset,
      liquidity: 'taker',
    });

    if (maker.remaining === 0) {
      this.closeResting(maker, 'filled', null);
    } else {
      maker.status = 'partially_filled';
      if (maker.side === 'buy') this.trimBuyLock(maker);
      this.emitOrder('partially_filled', maker, null);
    }
  }

  /** A resting buy keeps locked exactly the notional of its remaining lots at its limit price. */
  private trimBuyLock(order: Order): void {
    // Usually nothing to trim: check that first in exact integer numbers (comparing a bigint
    // with a number compares their values, no conversion) before any bigint arithmetic.
    const keep = order.market.notionalN(order.price, order.remaining);
    if (keep >= 0 && order.locked <= keep) return;
    const excess = order.locked - order.market.notional(order.price, order.remaining);
    if (excess > 0n) {
      if (order !== this.taker) this.sheet.unlock(order.account, order.market.quote, excess);
      order.locked -= excess;
      this.touchBalance(order.account, order.market.quote);
    }
  }

  /** Puts what is left of a limit GTC taker on the book. */
  private rest(order: Order, market: Market): void {
    const level = market.book.add(order);
    this.touchLevel(market, level);
    this.orders.set(order.id, order);
    order.account.addOpen(order);
    // An unfilled buy locked exactly the notional of its quantity: nothing to trim.
    if (order.side === 'buy' && order.filled > 0) this.trimBuyLock(order);
    if (order.filled > 0) {
      order.status = 'partially_filled';
      this.emitOrder('partially_filled', order, null);
    }
  }

  /** Ends an order that never rested: releases what it still holds and reports its end. */
  private finish(order: Order, status: OrderStatus, reason: CloseReason | null): void {
    this.release(order);
    order.status = status;
    order.updatedAt = this.ts;
    this.emitOrder(status as OrderEventKind, order, reason);
  }

  /** Takes a resting order off the book for good (filled, cancelled). */
  private closeResting(order: Order, status: OrderStatus, reason: CloseReason | null): void {
    if (this.watcher !== null) this.watcher.beforeChange(order);
    const level = order.market.book.remove(order);
    this.touchLevel(order.market, level);
    this.orders.delete(order.id);
    order.account.removeOpen(order);
    this.finish(order, status, reason);
  }

  private release(order: Order): void {
    if (order.locked === 0n) return;
    const asset = order.side === 'buy' ? order.market.quote : order.market.base;
    if (order !== this.taker) this.sheet.unlock(order.account, asset, order.locked);
    order.locked = 0n;
    this.touchBalance(order.account, asset);
  }

  /** Would a FOK limit order fill completely right now (honouring its self-trade mode)? */
  private fillable(
    account: Account,
    market: Market,
    side: Side,
    price: number,
    quantity: number,
    stp: SelfTradePrevention,
  ): boolean {
    let need = quantity;
    for (const level of market.book.oppositeOf(side).fromBest()) {
      if (!crosses(side, price, level.price)) return false;
      for (let o = level.head; o !== null; o = o.next) {
        if (o.account === account) {
          if (stp === 'cancel_maker') continue;
          return false;
        }
        need -= o.remaining;
        if (need <= 0) return true;
      }
    }
    return false;
  }

  private ownedOrder(
    account: Account,
    orderId: number | undefined,
    clientOrderId: string | undefined,
  ): Order {
    let order: Order | undefined;
    if (orderId !== undefined) {
      if (!Number.isSafeInteger(orderId))
        throw new DomainError('ORDER_NOT_FOUND', 'order not found');
      order = this.orders.get(orderId);
      if (order !== undefined && order.account !== account) order = undefined;
      if (
        order !== undefined &&
        clientOrderId !== undefined &&
        order.clientOrderId !== clientOrderId
      )
        order = undefined;
    } else if (clientOrderId !== undefined) {
      order = account.byClientId.get(clientOrderId);
    } else {
      throw new DomainError('INVALID_ORDER', 'give an orderId or a clientOrderId');
    }
    if (order === undefined) throw new DomainError('ORDER_NOT_FOUND', 'order not found');
    return order;
  }

  private cancelOrder(cmd: CancelOrderCommand): Reply {
    const account = this.sheet.account(cmd.userId);
    const order = this.ownedOrder(account, cmd.orderId, cmd.clientOrderId);
    this.closeResting(order, 'cancelled', 'user');
    return { kind: 'order', order: this.viewOf(order), fills: [], replayed: false };
  }

  private cancelAll(cmd: CancelAllCommand): Reply {
    const account = this.sheet.account(cmd.userId);
    const market = cmd.market === undefined ? undefined : this.market(cmd.market);
    const victims: Order[] = [];
    for (const order of account.openOrders()) {
      if (market === undefined || order.market === market) victims.push(order);
    }
    const orders: OrderView[] = [];
    for (const order of victims) {
      this.closeResting(order, 'cancelled', 'user');
      orders.push(this.viewOf(order));
    }
    return { kind: 'orders', orders };
  }

  private amendOrder(cmd: AmendOrderCommand): Reply {
    const account = this.sheet.account(cmd.userId);
    const order = this.ownedOrder(account, cmd.orderId, cmd.clientOrderId);
    const quantity = checkSteps(cmd.quantity, MAX_QUANTITY_LOTS, 'INVALID_QUANTITY', 'quantity');
    if (quantity >= order.quantity) {
      throw new DomainError('INVALID_QUANTITY', 'an amend can only reduce the quantity');
    }
    if (quantity <= order.filled) {
      throw new DomainError(
        'INVALID_QUANTITY',
        'the new quantity must be more than what is already filled',
      );
    }
    if (this.watcher !== null) this.watcher.beforeChange(order);
    const level = order.level as PriceLevel;
    const cut = order.quantity - quantity;
    order.quantity = quantity;
    order.updatedAt = this.ts;
    level.total -= cut;
    this.touchLevel(order.market, level);
    if (order.side === 'buy') {
      this.trimBuyLock(order);
    } else {
      const freed = order.market.baseAmount(cut);
      this.sheet.unlock(account, order.market.base, freed);
      order.locked -= freed;
      this.touchBalance(account, order.market.base);
    }
    this.emitOrder('amended', order, null);
    return { kind: 'order', order: this.viewOf(order), fills: [], replayed: false };
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /** Records an event; its `seq` (++counters.event) and `ts` are set where it is built, in order. */
  private emit(event: ExchangeEvent): void {
    this.events.push(event);
  }

  private emitOrder(kind: OrderEventKind, order: Order, reason: CloseReason | null): void {
    const view = orderView(order);
    this.lastView = view;
    this.emit({
      type: 'order',
      seq: ++this.counters.event,
      ts: this.ts,
      kind,
      order: view,
      reason,
    });
  }

  /**
   * A view of `order` for a reply: the one its last order event carries when nothing about the
   * order changed since (views are read-only, so sharing one is not observable), else a copy.
   */
  private viewOf(order: Order): OrderView {
    const v = this.lastView;
    if (
      v !== null &&
      v.orderId === order.id &&
      v.status === order.status &&
      v.locked === order.locked &&
      v.filledQuantity === order.filled &&
      v.filledQuoteAmount === order.filledQuote &&
      v.quantity === order.quantity &&
      v.updatedAt === order.updatedAt
    ) {
      return v;
    }
    return orderView(order);
  }

  private touchBalance(account: Account, asset: Asset): void {
    if (account.stamps[asset.index] === this.stamp) return;
    account.stamps[asset.index] = this.stamp;
    const n = this.touchedBalanceCount++;
    this.touchedBalances[n] = account;
    this.touchedAssets[n] = asset;
  }

  private touchLevel(market: Market, level: PriceLevel): void {
    if (level.touched === this.stamp) return;
    level.touched = this.stamp;
    if (market.touchStamp !== this.stamp) {
      market.touchStamp = this.stamp;
      market.touchedCount = 0;
      this.touchedMarkets[this.touchedMarketCount++] = market;
    }
    market.touchedLevels[market.touchedCount++] = level;
  }

  private flushBalances(): void {
    const accounts = this.touchedBalances;
    const assets = this.touchedAssets;
    const n = this.touchedBalanceCount;
    for (let i = 0; i < n; i++) {
      const account = accounts[i];
      const asset = assets[i];
      this.emit({
        type: 'balance',
        seq: ++this.counters.event,
        ts: this.ts,
        userId: account.userId,
        asset: asset.symbol,
        available: account.available[asset.index],
        locked: account.locked[asset.index],
      });
    }
    this.touchedBalanceCount = 0;
  }

  private flushDepth(): void {
    const markets = this.touchedMarkets;
    const m = this.touchedMarketCount;
    for (let k = 0; k < m; k++) {
      const market = markets[k];
      const levels = market.touchedLevels;
      const n = market.touchedCount;
      // Each side's array made at its final length: growing one by push allocates room for 17.
      let bidCount = 0;
      for (let i = 0; i < n; i++) if (levels[i].side === 'buy') bidCount++;
      const bids = new Array<[number, number]>(bidCount);
      const asks = new Array<[number, number]>(n - bidCount);
      for (let i = 0, b = 0, a = 0; i < n; i++) {
        const level = levels[i];
        if (level.side === 'buy') bids[b++] = [level.price, level.total];
        else asks[a++] = [level.price, level.total];
      }
      market.touchedCount = 0;
      this.emit({
        type: 'depth',
        seq: ++this.counters.event,
        ts: this.ts,
        market: market.symbol,
        updateId: ++market.updateId,
        bids,
        asks,
      });
    }
    this.touchedMarketCount = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Queries (read-only; views are copies)

  market(symbol: string): Market {
    // Most commands name the market of the one before; markets are never removed.
    const last = this.lastMarket;
    if (last !== null && last.symbol === symbol) return last;
    const market = this.markets.get(symbol);
    if (market === undefined)
      throw new DomainError('UNKNOWN_MARKET', `unknown market ${String(symbol)}`);
    this.lastMarket = market;
    return market;
  }

  marketViews(): MarketView[] {
    return [...this.markets.values()].map((m) => m.spec);
  }

  /** An asset by symbol (UNKNOWN_ASSET if none). */
  asset(symbol: string): Asset {
    return this.sheet.asset(symbol);
  }

  assetViews(): AssetView[] {
    return this.sheet.assets.map((a) => ({ symbol: a.symbol, decimals: a.decimals }));
  }

  userIdForKeyHash(apiKeyHash: string): string | undefined {
    return this.sheet.accountByKeyHash(apiKeyHash)?.userId;
  }

  /** An open order of this user, or undefined (orders of other users are never visible). */
  order(userId: string, orderId: number): OrderView | undefined {
    const order = this.orders.get(orderId);
    return order === undefined || order.account.userId !== userId ? undefined : orderView(order);
  }

  orderByClientId(userId: string, clientOrderId: string): OrderView | undefined {
    const order = this.sheet.accounts.get(userId)?.byClientId.get(clientOrderId);
    return order === undefined ? undefined : orderView(order);
  }

  /** The user's open orders, oldest first, optionally in one market. */
  openOrders(userId: string, market?: string): OrderView[] {
    const account = this.sheet.account(userId);
    const views: OrderView[] = [];
    for (const order of account.openOrders()) {
      if (market === undefined || order.market.symbol === market) views.push(orderView(order));
    }
    return views;
  }

  depth(symbol: string, limit = 100): DepthView {
    const market = this.market(symbol);
    const side = (levels: Iterable<PriceLevel>): [number, number][] =>
      [...levels].map((l) => [l.price, l.total]);
    return {
      market: symbol,
      lastUpdateId: market.updateId,
      bids: side(market.book.bids.fromBest(limit)),
      asks: side(market.book.asks.fromBest(limit)),
    };
  }

  balances(userId: string): BalanceView[] {
    const account = this.sheet.account(userId);
    return this.sheet.assets.map((asset) => this.balanceView(account, asset));
  }

  balance(userId: string, asset: string): BalanceView {
    return this.balanceView(this.sheet.account(userId), this.sheet.asset(asset));
  }

  /** Fees collected, per asset symbol. */
  fees(): Map<string, bigint> {
    return new Map(this.sheet.assets.map((a) => [a.symbol, this.sheet.fees[a.index]]));
  }

  /** Sequence of the last command applied (0 before the first). */
  get lastCommandSeq(): number {
    return this.counters.command;
  }

  private balanceView(account: Account, asset: Asset): BalanceView {
    return {
      asset: asset.symbol,
      available: account.available[asset.index],
      locked: account.locked[asset.index],
    };
  }
}

/** Does an order at `price` on `side` trade with a resting order at `restingPrice`? */
function crosses(side: Side, price: number, restingPrice: number): boolean {
  return side === 'buy' ? restingPrice <= price : restingPrice >= price;
}

function checkSteps(
  value: unknown,
  max: number,
  code: 'INVALID_PRICE' | 'INVALID_QUANTITY',
  what: string,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new DomainError(
      code,
      `${what} must be a positive whole number of ${code === 'INVALID_PRICE' ? 'ticks' : 'lots'}`,
    );
  }
  if (value > max) throw new DomainError(code, `${what} is too large`);
  return value;
}

function sameRequest(
  o: Order,
  market: Market,
  side: Side,
  type: string,
  price: number,
  quantity: number,
  quoteAmount: bigint,
  tif: TimeInForce,
  postOnly: boolean,
  stp: SelfTradePrevention,
): boolean {
  return (
    o.market === market &&
    o.side === side &&
    o.type === type &&
    o.price === price &&
    o.quantity === quantity &&
    o.quoteAmount === quoteAmount &&
    o.timeInForce === tif &&
    o.postOnly === postOnly &&
    o.selfTradePrevention === stp
  );
}
