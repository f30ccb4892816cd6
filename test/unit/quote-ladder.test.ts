/** The market maker's quoting arithmetic: ladders on the market's grid, and a bounded walk. */
import Decimal from 'decimal.js';
import { Side } from '../../gen/exchange/v1/common';
import { marketRules, minLotsAt, notionalOf } from '../../services/bots/market-rules';
import { driftTicks, quoteLadder } from '../../services/bots/quote-ladder';
import { seededRandom } from '../../services/bots/seeded-random';

const market = (symbol: string, tickSize: string, lotSize: string, minQuantity: string) => {
  const [base = '', quote = ''] = symbol.split('_');
  return marketRules({
    symbol,
    baseAsset: { symbol: base, decimals: 8 },
    quoteAsset: { symbol: quote, decimals: 6 },
    tickSize,
    lotSize,
    minQuantity,
    minNotional: '1',
    makerFee: '0.001',
    takerFee: '0.002',
  });
};

const SOL = market('SOL_USDC', '0.01', '0.01', '0.01');
const BTC = market('BTC_USDC', '0.01', '0.00001', '0.00001');
/** A coarse market where the minimum notional, not the minimum quantity, sets the smallest order. */
const COARSE = market('ABC_USDC', '0.5', '1', '1');

describe('quoteLadder', () => {
  it.each([
    ['SOL', SOL, 15_000],
    ['BTC', BTC, 6_000_000],
    ['COARSE', COARSE, 3],
  ])('puts %s bids below and asks above the reference, each big enough', (_, rules, ref) => {
    const quotes = quoteLadder(rules, ref, 5, seededRandom(7));
    const bids = quotes.filter((q) => q.side === Side.SIDE_BUY);
    const asks = quotes.filter((q) => q.side === Side.SIDE_SELL);
    expect(asks).toHaveLength(5);
    expect(bids.length).toBeGreaterThan(0);
    for (const [i, q] of bids.entries()) {
      expect(q.ticks).toBeLessThan(ref);
      expect(q.ticks).toBeGreaterThanOrEqual(1);
      if (i > 0) expect(q.ticks).toBeLessThan(bids[i - 1]?.ticks ?? 0);
    }
    for (const [i, q] of asks.entries()) {
      expect(q.ticks).toBeGreaterThan(ref);
      if (i > 0) expect(q.ticks).toBeGreaterThan(asks[i - 1]?.ticks ?? 0);
    }
    for (const q of quotes) {
      expect(Number.isSafeInteger(q.ticks) && Number.isSafeInteger(q.lots)).toBe(true);
      expect(q.lots).toBeGreaterThanOrEqual(minLotsAt(rules, q.ticks));
      expect(notionalOf(rules, q.ticks, q.lots).gte(rules.minNotional)).toBe(true);
    }
  });

  it('leaves out bids that would reach zero', () => {
    const quotes = quoteLadder(COARSE, 3, 5, seededRandom(1));
    expect(quotes.filter((q) => q.side === Side.SIDE_BUY).map((q) => q.ticks)).toEqual([1]);
  });

  it('needs more lots for the minimum notional at a lower price', () => {
    expect(minLotsAt(COARSE, 1)).toBe(2); // 0.5 × 2 = 1
    expect(minLotsAt(COARSE, 4)).toBe(1);
    expect(minLotsAt(SOL, 15_000)).toBe(1); // 150 × 0.01 = 1.5
    expect(minLotsAt(SOL, 5_000)).toBe(2); // 50 × 0.01 = 0.5
    expect(new Decimal(SOL.minNotional).toFixed()).toBe('1');
  });
});

describe('driftTicks', () => {
  it('moves by small steps and stays within 20% of the anchor', () => {
    const random = seededRandom(3);
    const anchor = 15_000;
    let ticks = anchor;
    let low = anchor;
    let high = anchor;
    let biggestStep = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const next = driftTicks(ticks, anchor, random);
      if (!Number.isSafeInteger(next)) throw new Error(`not a whole number of ticks: ${next}`);
      biggestStep = Math.max(biggestStep, Math.abs(next - ticks));
      low = Math.min(low, next);
      high = Math.max(high, next);
      seen.add(next);
      ticks = next;
    }
    // 8 bps of at most 18,000 ticks of noise, plus a pull of at most 3,000 / 50.
    expect(biggestStep).toBeLessThanOrEqual(15 + 60);
    expect(low).toBeGreaterThanOrEqual(12_000);
    expect(high).toBeLessThanOrEqual(18_000);
    expect(seen.size).toBeGreaterThan(100);
  });

  it('is reproducible from the seed', () => {
    const walk = (seed: number) => {
      const random = seededRandom(seed);
      let t = 6_000_000;
      return Array.from({ length: 50 }, () => (t = driftTicks(t, 6_000_000, random)));
    };
    expect(walk(9)).toEqual(walk(9));
    expect(walk(9)).not.toEqual(walk(10));
  });
});
