/**
 * The exchange's starting reference data: assets with their decimals and the default markets.
 * A new engine journals these as ordinary commands, so they are replayed and recorded like any
 * other (the seed's add_orderbook is `add_market`).
 */
import { ExchangeCore } from './exchange-core';
import type { AddAssetCommand, AddMarketCommand, Command } from './types';

type Spec<C> = Omit<C, 'seq' | 'ts' | 'type'>;

export const DEFAULT_ASSETS: readonly Spec<AddAssetCommand>[] = [
  { symbol: 'USDC', decimals: 6 },
  { symbol: 'SOL', decimals: 9 },
  { symbol: 'BTC', decimals: 8 },
  { symbol: 'ETH', decimals: 18 },
];

const FEES = { minNotional: '1', makerFee: '0.001', takerFee: '0.002' } as const;

export const DEFAULT_MARKETS: readonly Spec<AddMarketCommand>[] = [
  {
    symbol: 'SOL_USDC',
    base: 'SOL',
    quote: 'USDC',
    tickSize: '0.01',
    lotSize: '0.01',
    minQuantity: '0.01',
    ...FEES,
  },
  {
    symbol: 'BTC_USDC',
    base: 'BTC',
    quote: 'USDC',
    tickSize: '0.01',
    lotSize: '0.00001',
    minQuantity: '0.00001',
    ...FEES,
  },
  {
    symbol: 'ETH_USDC',
    base: 'ETH',
    quote: 'USDC',
    tickSize: '0.01',
    lotSize: '0.0001',
    minQuantity: '0.0001',
    ...FEES,
  },
];

/** The commands that set up the default assets and markets, numbered from `firstSeq`. */
export function genesisCommands(firstSeq = 1, ts = 0): Command[] {
  let seq = firstSeq;
  return [
    ...DEFAULT_ASSETS.map((a): Command => ({ type: 'add_asset', seq: seq++, ts, ...a })),
    ...DEFAULT_MARKETS.map((m): Command => ({ type: 'add_market', seq: seq++, ts, ...m })),
  ];
}

/** A core with the default assets and markets applied (commands 1..7). */
export function createDefaultCore(): ExchangeCore {
  const core = new ExchangeCore();
  for (const cmd of genesisCommands()) {
    const outcome = core.apply(cmd);
    if (outcome.error !== null) throw outcome.error;
  }
  return core;
}
