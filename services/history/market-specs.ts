/**
 * The unit conversions the History service needs, per market: events carry prices in ticks,
 * quantities in lots and amounts in minor units; Postgres stores asset units. Built from the
 * `asset_added` and `market_added` events (persisted in `assets` and `markets`) and converted
 * with the core's units module only.
 */
import { formatScaled, stepOf, stepsToDecimal, type Step } from '../engine/core';
import type pg from 'pg';

export interface MarketSpec {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tick: Step;
  readonly lot: Step;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  /** Base minor units in one lot. */
  readonly lotMinor: bigint;
}

export class MarketSpecs {
  private readonly assets = new Map<string, number>();
  private readonly markets = new Map<string, MarketSpec>();

  /** Loads what earlier batches persisted. */
  async load(db: Pick<pg.Pool, 'query'>): Promise<void> {
    const assets = await db.query<{ symbol: string; decimals: number }>(
      'SELECT symbol, decimals FROM assets',
    );
    for (const a of assets.rows) this.addAsset(a.symbol, a.decimals);
    const markets = await db.query<{
      symbol: string;
      base: string;
      quote: string;
      tick_size: string;
      lot_size: string;
    }>('SELECT symbol, base, quote, tick_size, lot_size FROM markets');
    for (const m of markets.rows)
      this.addMarket(m.symbol, m.base, m.quote, m.tick_size, m.lot_size);
  }

  addAsset(symbol: string, decimals: number): void {
    this.assets.set(symbol, decimals);
  }

  addMarket(symbol: string, base: string, quote: string, tickSize: string, lotSize: string): void {
    const baseDecimals = this.decimals(base);
    const quoteDecimals = this.decimals(quote);
    const tick = stepOf(tickSize);
    const lot = stepOf(lotSize);
    const lotMinor = lot.units * 10n ** BigInt(baseDecimals - lot.scale);
    this.markets.set(symbol, {
      symbol,
      base,
      quote,
      tick,
      lot,
      baseDecimals,
      quoteDecimals,
      lotMinor,
    });
  }

  decimals(asset: string): number {
    const d = this.assets.get(asset);
    if (d === undefined) throw new Error(`history: event for unknown asset ${asset}`);
    return d;
  }

  market(symbol: string): MarketSpec {
    const m = this.markets.get(symbol);
    if (m === undefined) throw new Error(`history: event for unknown market ${symbol}`);
    return m;
  }

  has(symbol: string): boolean {
    return this.markets.has(symbol);
  }

  symbols(): string[] {
    return [...this.markets.keys()].sort();
  }

  price(m: MarketSpec, ticks: number): string {
    return stepsToDecimal(ticks, m.tick);
  }

  quantity(m: MarketSpec, lots: number | bigint): string {
    return stepsToDecimal(lots, m.lot);
  }

  amount(asset: string, minor: bigint): string {
    return formatScaled(minor, this.decimals(asset));
  }
}
