/**
 * The demo market maker: an internal bot that is a plain gRPC client of the Engine service. It
 * keeps a ladder of bids and asks around a drifting reference price in every market, and a second
 * account of its own takes small amounts from that ladder now and then, so the book has depth,
 * trades print and candles form within seconds of start.
 *
 * It owns two users it creates on start: the maker (resting quotes) and the taker (IOC and market
 * orders). They are different users, so their trades are ordinary trades; each order still carries
 * an explicit self-trade prevention mode, so the bot never trades with itself within one account.
 *
 * It must outlive the engine's restarts: a failed call is logged (once per kind of failure) and the
 * work is tried again on the next refresh. An engine that lost the bot's users (a fresh journal)
 * makes it start over with new accounts.
 */
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import Decimal from 'decimal.js';
import {
  type Fill,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from '../../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import { cancelOrders, type EngineApi } from '../lib/grpc/clients';
import { errorCodeOf } from '../lib/grpc/status';
import type { Logger } from '../lib/logger';
import {
  type MarketRules,
  marketRules,
  minLotsAt,
  notionalOf,
  priceText,
  quantityText,
  ticksNear,
} from './market-rules';
import { driftTicks, ladderShape, type Quote, quoteLadder } from './quote-ladder';
import { type Random, seededRandom } from './seeded-random';

/** The calls the market maker makes (a narrower type than the whole client, for fakes). */
export type MarketMakerEngine = Pick<
  EngineApi,
  | 'createUser'
  | 'deposit'
  | 'getMarkets'
  | 'getDepth'
  | 'getBalances'
  | 'placeOrders'
  | 'placeOrder'
  | 'cancelAllOrders'
  | 'getOpenOrders'
  | 'raw'
>;

export interface MarketMakerOptions {
  readonly engine: MarketMakerEngine;
  readonly log: Logger;
  /** Time between the starts of two refreshes, in milliseconds. */
  readonly refreshMs: number;
  /** Price levels quoted on each side of each market. */
  readonly levels: number;
  /** Seed of the random walk and sizes; a run is reproducible from it (default: from the clock). */
  readonly seed?: number;
  /** Told the fills of every taker order, e.g. to account for the fees they paid. */
  readonly onTakerFills?: (rules: MarketRules, fills: readonly Fill[]) => void;
}

/** What the bot has done so far, for logs and tests. */
export interface MarketMakerStats {
  readonly makerUserId: string | undefined;
  readonly takerUserId: string | undefined;
  readonly refreshes: number;
  readonly quotesPlaced: number;
  readonly takerOrders: number;
  readonly takerFills: number;
  /** Total deposited into the bot's current accounts, per asset, decimal strings. */
  readonly deposited: Readonly<Record<string, string>>;
}

/** Reference prices, in quote units, of well-known bases quoted in a US dollar stablecoin. */
const USD_REFERENCE: Readonly<Record<string, string>> = { BTC: '60000', ETH: '3000', SOL: '150' };
const USD_QUOTES = new Set(['USDC', 'USDT', 'USD']);
/** Reference of any other market with an empty book, in quote units. */
const FALLBACK_REFERENCE = '100';
/** A book's mid is taken as the reference only if its spread is at most this fraction of it. */
const MAX_MID_SPREAD = new Decimal('0.05');
/** Chance per refresh and market that the taker account trades. */
const TAKER_PROBABILITY = 0.7;
/** Each account is funded with this many times what a full ladder at the anchor's top can lock. */
const FUNDING_MULTIPLE = 20;
/** Balances are checked (and topped up below half the target) every this many refreshes. */
const FUNDING_CHECK_EVERY = 30;
/** The market list is read again every this many refreshes, to quote markets added at run time. */
const MARKETS_CHECK_EVERY = 60;

interface MarketState {
  readonly rules: MarketRules;
  /** Where the reference started; the walk is pulled back towards it and bounded around it. */
  readonly anchorTicks: number;
  refTicks: number;
  /** Lots of the maker's best bid and best ask placed by the last refresh (0: none). */
  bestBidLots: number;
  bestAskLots: number;
  /** Ids of the maker's quotes from earlier refreshes that may still rest on the book. */
  resting: string[];
  /** `resting` may be incomplete (a call failed midway): ask the engine before the next refresh. */
  reconcile: boolean;
}

interface Accounts {
  maker?: string;
  taker?: string;
}

export class MarketMaker {
  private readonly engine: MarketMakerEngine;
  private readonly log: Logger;
  private readonly random: Random;
  private readonly seed: number;
  private readonly markets = new Map<string, MarketState>();
  private accounts: Accounts = {};
  /** Balance each account is kept near, per asset, in whole units. */
  private fundingTarget = new Map<string, Decimal>();
  private deposited = new Map<string, Decimal>();
  private fundingDue = true;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Last failure logged per activity, so a down engine gives one warning, not one per tick. */
  private readonly failing = new Map<string, string>();
  private refreshes = 0;
  private quotesPlaced = 0;
  private takerOrders = 0;
  private takerFills = 0;

  constructor(private readonly options: MarketMakerOptions) {
    this.engine = options.engine;
    this.log = options.log;
    this.seed = (options.seed ?? Date.now()) >>> 0;
    this.random = seededRandom(this.seed);
  }

  /** Starts refreshing at once; failures are retried, so this never waits for the engine. */
  start(): void {
    if (this.running || this.stopping !== undefined) return;
    this.running = true;
    this.log.info(
      { seed: this.seed, refreshMs: this.options.refreshMs, levels: this.options.levels },
      'market maker starting',
    );
    this.timer = setTimeout(this.loop, 0);
  }

  /**
   * Stops refreshing, lets a refresh in flight finish, then cancels the maker's quotes. Resolves
   * with no timer pending. A failed cancel is logged, not thrown: shutdown must not hang on an
   * engine that is down (its quotes then stay on the book).
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.inFlight;
      const maker = this.accounts.maker;
      if (maker === undefined) return;
      try {
        const { orders } = await this.engine.cancelAllOrders({ userId: maker });
        this.log.info({ cancelled: orders.length }, 'market maker stopped, quotes cancelled');
      } catch (err) {
        this.log.warn({ failure: describe(err) }, 'market maker stopped, quotes not cancelled');
      }
    })();
    return this.stopping;
  }

  /** Whether a refresh is scheduled or running (never, once `stop` has resolved). */
  get busy(): boolean {
    return this.timer !== undefined || this.inFlight !== undefined;
  }

  stats(): MarketMakerStats {
    return {
      makerUserId: this.accounts.maker,
      takerUserId: this.accounts.taker,
      refreshes: this.refreshes,
      quotesPlaced: this.quotesPlaced,
      takerOrders: this.takerOrders,
      takerFills: this.takerFills,
      deposited: Object.fromEntries([...this.deposited].map(([a, d]) => [a, d.toFixed()])),
    };
  }

  private readonly loop = (): void => {
    this.timer = undefined;
    const started = Date.now();
    this.inFlight = this.refresh().finally(() => {
      this.inFlight = undefined;
      if (!this.running) return;
      const wait = Math.max(0, this.options.refreshMs - (Date.now() - started));
      this.timer = setTimeout(this.loop, wait);
    });
  };

  /** One refresh; never rejects (every failure is logged and retried next time). */
  private async refresh(): Promise<void> {
    const n = this.refreshes++;
    const ready = await this.attempt('setup', async () => {
      if (this.markets.size === 0 || n % MARKETS_CHECK_EVERY === 0) await this.loadMarkets();
      await this.ensureAccounts();
      if (this.fundingDue || n % FUNDING_CHECK_EVERY === 0) await this.fund();
    });
    if (!ready) return;
    await Promise.all([...this.markets.values()].map((m) => this.refreshMarket(m)));
  }

  private async loadMarkets(): Promise<void> {
    const { markets } = await this.engine.getMarkets({});
    let added = false;
    for (const market of markets) {
      if (this.markets.has(market.symbol)) continue;
      const rules = marketRules(market);
      const refTicks = await this.initialReference(rules);
      this.markets.set(market.symbol, {
        rules,
        anchorTicks: refTicks,
        refTicks,
        bestBidLots: 0,
        bestAskLots: 0,
        resting: [],
        reconcile: false,
      });
      added = true;
      this.log.info(
        { market: rules.symbol, reference: priceText(rules, refTicks) },
        'quoting market',
      );
    }
    if (added) {
      this.fundingTarget = this.fundingTargets();
      this.fundingDue = true;
    }
  }

  /**
   * The book's mid if it has a tight two-sided market (a restarted bot, or real users, already
   * set a price), else a well-known price for the base, else a fallback.
   */
  private async initialReference(rules: MarketRules): Promise<number> {
    const { bids, asks } = await this.engine.getDepth({ market: rules.symbol, limit: 1 });
    const bid = bids[0]?.price;
    const ask = asks[0]?.price;
    if (bid !== undefined && ask !== undefined) {
      const mid = new Decimal(bid).plus(ask).div(2);
      if (mid.gt(0) && new Decimal(ask).minus(bid).div(mid).lte(MAX_MID_SPREAD)) {
        return ticksNear(rules, mid);
      }
    }
    const known = USD_QUOTES.has(rules.quote) ? USD_REFERENCE[rules.base] : undefined;
    return ticksNear(rules, known ?? FALLBACK_REFERENCE);
  }

  /**
   * Per asset, what each account should hold: enough for many full ladders at the highest price
   * the walk may reach, so inventory swings between the two accounts never starve either.
   */
  private fundingTargets(): Map<string, Decimal> {
    const levels = this.options.levels;
    const targets = new Map<string, Decimal>();
    const add = (asset: string, amount: Decimal) =>
      targets.set(asset, (targets.get(asset) ?? new Decimal(0)).plus(amount));
    for (const { rules, anchorTicks } of this.markets.values()) {
      const topTicks = Math.ceil(anchorTicks * 1.2);
      const { unitLots } = ladderShape(rules, topTicks);
      const sideLots =
        Math.ceil((unitLots * levels * (levels + 1) * 3) / 4) + levels * rules.minLots;
      add(rules.quote, notionalOf(rules, topTicks, sideLots).mul(FUNDING_MULTIPLE));
      add(rules.base, rules.lotSize.mul(sideLots).mul(FUNDING_MULTIPLE));
    }
    for (const [asset, amount] of targets) targets.set(asset, amount.ceil());
    return targets;
  }

  private async ensureAccounts(): Promise<void> {
    if (this.accounts.maker === undefined) {
      this.accounts.maker = (await this.engine.createUser({})).userId;
      this.fundingDue = true;
      this.log.info({ userId: this.accounts.maker }, 'maker account created');
    }
    if (this.accounts.taker === undefined) {
      this.accounts.taker = (await this.engine.createUser({})).userId;
      this.fundingDue = true;
      this.log.info({ userId: this.accounts.taker }, 'taker account created');
    }
  }

  /** Tops each account up to its target in every asset that fell below half of it. */
  private async fund(): Promise<void> {
    for (const userId of [this.accounts.maker, this.accounts.taker]) {
      if (userId === undefined) continue;
      const { balances } = await this.engine.getBalances({ userId });
      const held = new Map(
        balances.map((b) => [b.asset, new Decimal(b.available).plus(b.locked)] as const),
      );
      for (const [asset, target] of this.fundingTarget) {
        const have = held.get(asset) ?? new Decimal(0);
        if (have.gte(target.div(2))) continue;
        const amount = target.minus(have);
        await this.engine.deposit({ userId, asset, amount: amount.toFixed(), idempotencyKey: '' });
        this.deposited.set(asset, (this.deposited.get(asset) ?? new Decimal(0)).plus(amount));
        this.log.debug({ userId, asset, amount: amount.toFixed() }, 'account funded');
      }
    }
    this.fundingDue = false;
  }

  private async refreshMarket(market: MarketState): Promise<void> {
    const { maker, taker } = this.accounts;
    if (maker === undefined || taker === undefined) return;
    const symbol = market.rules.symbol;
    market.refTicks = driftTicks(market.refTicks, market.anchorTicks, this.random);
    const quotes = quoteLadder(market.rules, market.refTicks, this.options.levels, this.random);
    // The new ladder goes in first and the previous one is cancelled after it, so the book is
    // never empty between the two (a fresh quote crossing a stale one of the maker's own
    // cancels it: CANCEL_MAKER). Each step is one round trip.
    const quoted = await this.attempt(`${symbol} quotes`, async () => {
      if (market.reconcile) {
        // A call failed as a whole earlier: quotes may rest that we hold no id of.
        const { orders } = await this.engine.getOpenOrders({ userId: maker, market: symbol });
        market.resting = orders.map((o) => o.orderId);
        market.reconcile = false;
      }
      const previous = market.resting;
      market.reconcile = true; // until this refresh has accounted for every quote
      const { results } = await this.engine.placeOrders({
        orders: quotes.map((q) => this.quoteRequest(maker, market.rules, q)),
      });
      market.bestBidLots = 0;
      market.bestAskLots = 0;
      const placed: string[] = [];
      const rejected = new Set<string>();
      results.forEach((result, i) => {
        const quote = quotes[i];
        if (result.result?.$case !== 'placed' || quote === undefined) {
          if (result.result?.$case === 'error') rejected.add(result.result.value.code);
          return;
        }
        const orderId = result.result.value.order?.orderId;
        if (orderId !== undefined) placed.push(orderId);
        this.quotesPlaced++;
        if (quote.side === Side.SIDE_BUY && market.bestBidLots === 0)
          market.bestBidLots = quote.lots;
        if (quote.side === Side.SIDE_SELL && market.bestAskLots === 0)
          market.bestAskLots = quote.lots;
      });
      market.resting = [...placed, ...previous];
      // Already gone (filled, or cancelled by a fresh quote) answers ORDER_NOT_FOUND: done too.
      // Any other answer leaves the order to be cancelled again next time.
      const answers = await cancelOrders(this.engine, maker, previous);
      const stillThere = previous.filter((_, i) => {
        const result = answers[i]?.result;
        return !(
          result?.$case === 'cancelled' ||
          (result?.$case === 'error' && result.value.code === 'ORDER_NOT_FOUND')
        );
      });
      market.resting = [...placed, ...stillThere];
      market.reconcile = false;
      if (rejected.has('INSUFFICIENT_BALANCE')) this.fundingDue = true;
      if (rejected.size > 0) {
        throw new QuotesRejected([...rejected].sort().join(','));
      }
    });
    // Without fresh quotes the taker still may trade: its orders are small and price-bounded.
    if (this.random() < TAKER_PROBABILITY) {
      await this.attempt(`${symbol} taker`, () => this.take(taker, market, quoted));
    }
  }

  /**
   * A fresh quote cancels a stale quote of the maker's own that it would cross (CANCEL_MAKER):
   * the newest view of the price wins, and the maker never trades with itself. Not post-only: a
   * quote that crosses another user's order trades with it, so the book never stays crossed.
   */
  private quoteRequest(userId: string, rules: MarketRules, quote: Quote): PlaceOrderRequest {
    return {
      userId,
      market: rules.symbol,
      side: quote.side,
      type: OrderType.ORDER_TYPE_LIMIT,
      price: priceText(rules, quote.ticks),
      quantity: quantityText(rules, quote.lots),
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      postOnly: false,
      selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_MAKER,
    };
  }

  /**
   * A small order of the taker account against the book: a market order when it fits in the
   * maker's best level (so it cannot sweep far into a book others may have thinned), else an IOC
   * limit one level deep, which bounds its price.
   */
  private async take(userId: string, market: MarketState, quoted: boolean): Promise<void> {
    const { rules, refTicks } = market;
    const shape = ladderShape(rules, refTicks);
    const buy = this.random() < 0.5;
    const reach = shape.halfSpreadTicks + shape.stepTicks;
    const limitTicks = buy ? refTicks + reach : Math.max(1, refTicks - reach);
    const lots = Math.max(
      minLotsAt(rules, Math.min(limitTicks, refTicks)),
      Math.round(shape.unitLots * (0.2 + 0.6 * this.random())),
    );
    const bestLots = !quoted ? 0 : buy ? market.bestAskLots : market.bestBidLots;
    const asMarket = this.random() < 0.5 && lots <= bestLots;
    const { fills } = await this.engine.placeOrder({
      userId,
      market: rules.symbol,
      side: buy ? Side.SIDE_BUY : Side.SIDE_SELL,
      type: asMarket ? OrderType.ORDER_TYPE_MARKET : OrderType.ORDER_TYPE_LIMIT,
      price: asMarket ? undefined : priceText(rules, limitTicks),
      quantity: quantityText(rules, lots),
      timeInForce: asMarket ? TimeInForce.TIME_IN_FORCE_UNSPECIFIED : TimeInForce.TIME_IN_FORCE_IOC,
      postOnly: false,
      selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_TAKER,
    });
    this.takerOrders++;
    this.takerFills += fills.length;
    if (fills.length > 0) this.options.onTakerFills?.(rules, fills);
  }

  /**
   * Runs `work`, reporting whether it succeeded. A failure is logged as a warning when it is new
   * for this activity (then at debug level), and a recovery once; an engine that no longer knows
   * the bot's users makes the next refresh create and fund new ones.
   */
  private async attempt(activity: string, work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      if (this.failing.delete(activity)) this.log.info({ activity }, 'market maker recovered');
      return true;
    } catch (err) {
      const failure = describe(err);
      if (failure.code === 'UNKNOWN_USER') this.forgetAccounts();
      if (failure.code === 'INSUFFICIENT_BALANCE') this.fundingDue = true;
      const key = `${failure.status}:${failure.code}`;
      if (this.failing.get(activity) !== key) {
        this.failing.set(activity, key);
        this.log.warn({ activity, failure }, 'market maker call failed; retrying');
      } else {
        this.log.debug({ activity, failure }, 'market maker call failed again');
      }
      return false;
    }
  }

  private forgetAccounts(): void {
    if (this.accounts.maker === undefined && this.accounts.taker === undefined) return;
    this.log.warn(this.accounts, 'the engine does not know the bot accounts; starting over');
    this.accounts = {};
    this.deposited = new Map();
    for (const market of this.markets.values()) {
      market.resting = [];
      market.reconcile = false;
    }
    this.fundingDue = true;
  }
}

/** Some quotes of a refresh were refused (their codes, comma-separated). */
class QuotesRejected extends Error {
  override readonly name = 'QuotesRejected';
  constructor(readonly codes: string) {
    super(`quotes rejected: ${codes}`);
  }
}

/** A failure as loggable, comparable fields: the gRPC status name and the stable error code. */
function describe(err: unknown): { status: string; code: string; message: string } {
  if (err instanceof QuotesRejected) {
    return { status: 'PARTIAL', code: err.codes, message: err.message };
  }
  const e = err as Partial<ServiceError>;
  if (typeof e.code === 'number') {
    return {
      status: grpcStatus[e.code] ?? String(e.code),
      code: errorCodeOf(e as ServiceError),
      message: e.details ?? '',
    };
  }
  return { status: 'UNKNOWN', code: 'UNKNOWN', message: String(err) };
}
