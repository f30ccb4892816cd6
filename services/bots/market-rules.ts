/**
 * A market's rules as the bots use them: prices as whole ticks and quantities as whole lots, so
 * every price a bot sends is an exact multiple of the tick size and every quantity of the lot
 * size, and the engine never rejects a bot's order for its shape. Decimal strings from the Engine
 * service are parsed once here with decimal.js; no float ever holds a price or an amount.
 */
import Decimal from 'decimal.js';
import type { Market } from '../../gen/exchange/v1/common';

export interface MarketRules {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  /** Quote units per tick. */
  readonly tickSize: Decimal;
  /** Base units per lot. */
  readonly lotSize: Decimal;
  /** The smallest order quantity in lots (the minimum quantity rounded up to a lot, at least 1). */
  readonly minLots: number;
  /** Smallest order value, in quote units. */
  readonly minNotional: Decimal;
  /** Fee rates as fractions. */
  readonly makerFee: Decimal;
  readonly takerFee: Decimal;
}

export function marketRules(market: Market): MarketRules {
  const lotSize = new Decimal(market.lotSize);
  return {
    symbol: market.symbol,
    base: market.baseAsset?.symbol ?? market.symbol.split('_')[0] ?? '',
    quote: market.quoteAsset?.symbol ?? market.symbol.split('_')[1] ?? '',
    baseDecimals: market.baseAsset?.decimals ?? 0,
    quoteDecimals: market.quoteAsset?.decimals ?? 0,
    tickSize: new Decimal(market.tickSize),
    lotSize,
    minLots: Math.max(1, new Decimal(market.minQuantity).div(lotSize).ceil().toNumber()),
    minNotional: new Decimal(market.minNotional || '0'),
    makerFee: new Decimal(market.makerFee || '0'),
    takerFee: new Decimal(market.takerFee || '0'),
  };
}

/** The price of `ticks` ticks, as the API's decimal string. */
export function priceText(rules: MarketRules, ticks: number): string {
  return new Decimal(ticks).mul(rules.tickSize).toFixed();
}

/** The quantity of `lots` lots, as the API's decimal string. */
export function quantityText(rules: MarketRules, lots: number): string {
  return new Decimal(lots).mul(rules.lotSize).toFixed();
}

/** The nearest whole number of ticks to a price (at least one tick). */
export function ticksNear(rules: MarketRules, price: Decimal.Value): number {
  const ticks = new Decimal(price).div(rules.tickSize).toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  return Math.max(1, ticks.toNumber());
}

/** Value of `lots` lots at `ticks` ticks, in quote units (before the engine's rounding down). */
export function notionalOf(rules: MarketRules, ticks: number, lots: number): Decimal {
  return rules.tickSize.mul(ticks).mul(rules.lotSize).mul(lots);
}

/**
 * The fewest lots an order at `ticks` may have: the minimum quantity, and enough for the minimum
 * notional. The engine rounds a notional down to the quote's minor unit, and the minimum notional
 * is itself a whole number of minor units, so meeting it before the rounding meets it after.
 */
export function minLotsAt(rules: MarketRules, ticks: number): number {
  if (rules.minNotional.lte(0)) return rules.minLots;
  const byNotional = rules.minNotional
    .div(notionalOf(rules, ticks, 1))
    .ceil()
    .toNumber();
  return Math.max(rules.minLots, byNotional);
}
