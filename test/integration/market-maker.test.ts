/**
 * The market maker against a real in-process engine (own Redis prefix and Postgres schema): it
 * quotes both sides of every market, its taker account trades, money is conserved between its
 * two accounts and the fees, stop() takes its quotes off the book, and it resumes after an engine
 * restart. Every wait polls the engine (or the bot) until a condition holds.
 */
import Decimal from 'decimal.js';
import { type Fill, Side } from '../../gen/exchange/v1/common';
import { type MarketRules } from '../../services/bots/market-rules';
import { MarketMaker } from '../../services/bots/market-maker';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { createLogger } from '../../services/lib/logger';
import { engineClient, type EngineApi } from '../support/engine-client';
import { engineConfig, isolate, type Isolation } from '../support/stack';

const LEVELS = 3;
const REFRESH_MS = 50;
const silent = createLogger('market-maker-test', 'silent');

/** Polls `check` until it returns a value other than undefined, or fails with `what`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function isMultiple(value: string, step: string): boolean {
  return new Decimal(value).mod(step).isZero();
}

/** Fees the taker's fills cost both sides, per asset: the taker's as reported, the maker's as
 * the engine charges them (its rate on what it received, rounded up to the asset's minor unit). */
function feesOf(rules: MarketRules, fills: readonly Fill[], into: Map<string, Decimal>): void {
  const add = (asset: string, fee: Decimal) =>
    into.set(asset, (into.get(asset) ?? new Decimal(0)).plus(fee));
  for (const fill of fills) {
    add(fill.feeAsset, new Decimal(fill.fee));
    if (fill.side === Side.SIDE_BUY) {
      const received = new Decimal(fill.quoteQuantity);
      add(
        rules.quote,
        received.mul(rules.makerFee).toDecimalPlaces(rules.quoteDecimals, Decimal.ROUND_UP),
      );
    } else {
      const received = new Decimal(fill.quantity);
      add(
        rules.base,
        received.mul(rules.makerFee).toDecimalPlaces(rules.baseDecimals, Decimal.ROUND_UP),
      );
    }
  }
}

describe('MarketMaker', () => {
  let iso: Isolation;
  let engine: EngineHandle;
  let api: EngineApi;
  let bot: MarketMaker;
  const fees = new Map<string, Decimal>();
  const fillsPerMarket = new Map<string, number>();

  beforeAll(async () => {
    iso = isolate('market_maker');
    engine = await startEngine(engineConfig(iso), createLogger('engine-test', 'silent'));
    api = engineClient(`127.0.0.1:${engine.port}`);
    bot = new MarketMaker({
      engine: api,
      log: silent,
      refreshMs: REFRESH_MS,
      levels: LEVELS,
      seed: 42,
      onTakerFills: (rules, fills) => {
        feesOf(rules, fills, fees);
        fillsPerMarket.set(rules.symbol, (fillsPerMarket.get(rules.symbol) ?? 0) + fills.length);
      },
    });
    bot.start();
  });

  afterAll(async () => {
    try {
      await bot.stop();
      api.close();
      await engine.stop();
    } finally {
      await iso.cleanup();
    }
  });

  it('quotes layered bids and asks in every market, on the tick and lot grid', async () => {
    const { markets } = await api.getMarkets({});
    expect(markets.map((m) => m.symbol)).toEqual(['BTC_USDC', 'ETH_USDC', 'SOL_USDC']);
    for (const market of markets) {
      const depth = await until(`${LEVELS} levels a side in ${market.symbol}`, async () => {
        const d = await api.getDepth({ market: market.symbol, limit: 50 });
        return d.bids.length >= LEVELS && d.asks.length >= LEVELS ? d : undefined;
      });
      const bids = depth.bids.map((l) => new Decimal(l.price));
      const asks = depth.asks.map((l) => new Decimal(l.price));
      expect(bids[0]?.lt(asks[0] ?? 0)).toBe(true);
      for (const level of [...depth.bids, ...depth.asks]) {
        expect(isMultiple(level.price, market.tickSize)).toBe(true);
        expect(isMultiple(level.quantity, market.lotSize)).toBe(true);
        const value = new Decimal(level.price).mul(level.quantity);
        expect(value.gte(market.minNotional)).toBe(true);
      }
      // Near the well-known reference (the walk is bounded to ±20% of it).
      const reference = { BTC_USDC: 60000, ETH_USDC: 3000, SOL_USDC: 150 }[market.symbol] ?? 0;
      expect(bids[0]?.gt(reference * 0.8)).toBe(true);
      expect(asks[0]?.lt(reference * 1.2)).toBe(true);
    }
  });

  it('trades against its own quotes from the taker account in every market', async () => {
    await until('taker fills in every market', async () =>
      fillsPerMarket.size === 3 ? true : undefined,
    );
    const stats = bot.stats();
    expect(stats.takerFills).toBeGreaterThanOrEqual(3);
    expect(stats.takerOrders).toBeGreaterThanOrEqual(stats.takerFills > 0 ? 1 : 0);
    // Both sides paid fees in the quote asset or the base: trades really moved money.
    expect(fees.get('USDC')?.gt(0)).toBe(true);
    expect(['BTC', 'ETH', 'SOL'].some((asset) => fees.get(asset)?.gt(0))).toBe(true);
  });

  it('never leaves a side of the book empty while it refreshes its quotes', async () => {
    // The new ladder is placed before the old one is cancelled: every read of the book, taken
    // at any moment between refreshes or within one, shows both sides.
    const start = bot.stats().refreshes;
    let reads = 0;
    while (bot.stats().refreshes < start + 10) {
      const d = await api.getDepth({ market: 'SOL_USDC', limit: 1 });
      expect({ read: reads, bids: d.bids.length > 0, asks: d.asks.length > 0 }).toEqual({
        read: reads,
        bids: true,
        asks: true,
      });
      reads++;
    }
    expect(reads).toBeGreaterThan(20);
  });

  it('stops with no quotes left and no refresh pending', async () => {
    await bot.stop();
    expect(bot.busy).toBe(false);
    const { makerUserId, takerUserId } = bot.stats();
    for (const userId of [makerUserId, takerUserId]) {
      expect((await api.getOpenOrders({ userId: userId ?? '' })).orders).toEqual([]);
    }
    for (const market of ['BTC_USDC', 'ETH_USDC', 'SOL_USDC']) {
      const depth = await api.getDepth({ market, limit: 10 });
      expect(depth.bids).toEqual([]);
      expect(depth.asks).toEqual([]);
    }
  });

  it('conserves money: its accounts plus the fees they paid hold exactly what it deposited', async () => {
    const { makerUserId, takerUserId, deposited } = bot.stats();
    const held = new Map<string, Decimal>();
    for (const userId of [makerUserId, takerUserId]) {
      const { balances } = await api.getBalances({ userId: userId ?? '' });
      for (const b of balances) {
        expect(new Decimal(b.available).gte(0)).toBe(true);
        expect(b.locked).toBe('0');
        held.set(b.asset, (held.get(b.asset) ?? new Decimal(0)).plus(b.available));
      }
    }
    expect(Object.keys(deposited).sort()).toEqual(['BTC', 'ETH', 'SOL', 'USDC']);
    for (const [asset, amount] of Object.entries(deposited)) {
      const accounted = (held.get(asset) ?? new Decimal(0)).plus(fees.get(asset) ?? 0);
      expect({ asset, total: accounted.toFixed() }).toEqual({ asset, total: amount });
    }
  });
});

describe('MarketMaker when the engine restarts', () => {
  it('keeps quoting with the same accounts once the engine is back', async () => {
    const iso = isolate('market_maker_restart');
    let engine = await startEngine(engineConfig(iso), createLogger('engine-test', 'silent'));
    const port = engine.port;
    const api = engineClient(`127.0.0.1:${port}`);
    const bot = new MarketMaker({ engine: api, log: silent, refreshMs: REFRESH_MS, levels: 2 });
    try {
      bot.start();
      const before = await until('quotes before the restart', async () => {
        const maker = bot.stats().makerUserId;
        if (maker === undefined) return undefined;
        const { orders } = await api.getOpenOrders({ userId: maker });
        return orders.length > 0 ? new Set(orders.map((o) => o.orderId)) : undefined;
      });
      await engine.stop();
      engine = await startEngine(
        engineConfig(iso, { ENGINE_PORT: String(port) }),
        createLogger('engine-test', 'silent'),
      );
      const maker = bot.stats().makerUserId ?? '';
      await until(
        'fresh quotes after the restart',
        async () => {
          const { orders } = await api.getOpenOrders({ userId: maker }).catch(() => ({
            orders: [],
          }));
          return orders.some((o) => !before.has(o.orderId)) ? true : undefined;
        },
        30_000,
      );
      expect(bot.stats().makerUserId).toBe(maker);
    } finally {
      await bot.stop();
      api.close();
      try {
        await engine.stop();
      } finally {
        await iso.cleanup();
      }
    }
  });
});
