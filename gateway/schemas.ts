/**
 * The zod schemas of the REST API: they validate every request at the edge and describe every
 * response, and openapi.json is generated from them, so the documentation cannot drift from what
 * the gateway accepts. Shape only: market rules (tick, lot, minimums, the asset's decimals) are
 * the engine's and come back as 400 with the engine's code.
 */
import { z } from 'zod';

/** A positive plain decimal: digits with an optional fraction; no sign, exponent, spaces or zero. */
export const positiveDecimal = z
  .string()
  .max(64)
  .regex(
    /^(?!0+(?:\.0+)?$)(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/,
    'must be a positive plain decimal string such as "1.5" (no sign, exponent or spaces)',
  );

/** Any decimal the API answers with (may be zero or, for a change, negative). */
export const decimalOut = z.string().meta({ description: 'decimal string', example: '101.25' });

/** Unix time in milliseconds. */
export const unixMs = z.number().int().meta({ description: 'Unix time in milliseconds' });

export const marketSymbol = z
  .string()
  .regex(/^[A-Z0-9]{1,16}_[A-Z0-9]{1,16}$/, 'must be a market symbol such as "SOL_USDC"')
  .meta({ example: 'SOL_USDC' });

export const assetSymbol = z
  .string()
  .regex(/^[A-Z0-9]{1,16}$/, 'must be an asset symbol such as "USDC"')
  .meta({ example: 'USDC' });

/** A decimal integer id (order ids, user ids). */
export const idString = z.string().regex(/^[0-9]{1,19}$/, 'must be a decimal id such as "42"');

export const clientOrderIdString = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, '1 to 64 letters, digits or _ . : -');

/** An integer query parameter (query strings are text: "10", never "1e1" or "10.0"). */
export function intParam(min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]{1,15}$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

export const limitParam = (max: number) => intParam(1, max).optional();

export const sideWord = z.enum(['buy', 'sell']);
export const typeWord = z.enum(['limit', 'market']);
export const tifWord = z.enum(['GTC', 'IOC', 'FOK']);
export const stpWord = z.enum(['cancel_taker', 'cancel_maker', 'cancel_both']);
export const statusWord = z.enum([
  'new',
  'partially_filled',
  'filled',
  'cancelled',
  'expired',
  'rejected',
]);

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error' });

export const MarketSchema = z
  .object({
    symbol: z.string(),
    baseAsset: z.string(),
    quoteAsset: z.string(),
    baseDecimals: z.number().int(),
    quoteDecimals: z.number().int(),
    tickSize: decimalOut,
    lotSize: decimalOut,
    minQuantity: decimalOut,
    minNotional: decimalOut,
    makerFee: decimalOut.meta({ description: 'fee rate as a fraction: "0.001" is 0.1%' }),
    takerFee: decimalOut.meta({ description: 'fee rate as a fraction: "0.002" is 0.2%' }),
  })
  .meta({ id: 'Market' });

export const OrderSchema = z
  .object({
    orderId: z.string(),
    clientOrderId: z.string().nullable(),
    market: z.string(),
    side: sideWord,
    type: typeWord,
    timeInForce: tifWord,
    price: decimalOut.nullable().meta({ description: 'limit price; null for a market order' }),
    quantity: decimalOut.nullable(),
    quoteQuantity: decimalOut.nullable().meta({ description: 'market buys by quote amount' }),
    filledQuantity: decimalOut,
    filledQuoteQuantity: decimalOut,
    status: statusWord,
    postOnly: z.boolean(),
    selfTradePrevention: stpWord,
    createdAt: unixMs,
    updatedAt: unixMs,
  })
  .meta({ id: 'Order' });

export const FillSchema = z
  .object({
    tradeId: z.string(),
    orderId: z.string(),
    market: z.string(),
    side: sideWord,
    price: decimalOut,
    quantity: decimalOut,
    quoteQuantity: decimalOut,
    fee: decimalOut,
    feeAsset: z.string(),
    liquidity: z.enum(['maker', 'taker']),
    timestamp: unixMs,
  })
  .meta({ id: 'Fill' });

export const BalanceSchema = z
  .object({ asset: z.string(), available: decimalOut, locked: decimalOut })
  .meta({ id: 'Balance' });

export const TradeSchema = z
  .object({
    id: z.string(),
    price: decimalOut,
    quantity: decimalOut,
    quoteQuantity: decimalOut,
    takerSide: sideWord,
    timestamp: unixMs,
  })
  .meta({ id: 'Trade' });

export const TickerSchema = z
  .object({
    market: z.string(),
    last: decimalOut.nullable(),
    open: decimalOut.nullable(),
    high: decimalOut.nullable(),
    low: decimalOut.nullable(),
    change: decimalOut,
    changePercent: decimalOut,
    volume: decimalOut,
    quoteVolume: decimalOut,
    trades: z.number().int(),
    openTime: unixMs,
    closeTime: unixMs,
  })
  .meta({ id: 'Ticker' });

export const KlineSchema = z
  .object({
    openTime: unixMs,
    closeTime: unixMs,
    open: decimalOut,
    high: decimalOut,
    low: decimalOut,
    close: decimalOut,
    volume: decimalOut,
    quoteVolume: decimalOut,
    trades: z.number().int(),
  })
  .meta({ id: 'Kline' });

export const DepthSchema = z
  .object({
    market: z.string(),
    lastUpdateId: z.number().int(),
    bids: z.array(z.tuple([decimalOut, decimalOut])),
    asks: z.array(z.tuple([decimalOut, decimalOut])),
  })
  .meta({ id: 'Depth' });
