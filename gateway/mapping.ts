/**
 * gRPC messages to the REST API's JSON: enum words, nullables for absent optionals, Unix ms as
 * numbers. The enum tables are the shared ones (services/lib/proto-enums.ts) read backwards.
 */
import {
  Liquidity,
  type Balance,
  type Fill,
  type Market,
  type Order,
  type Ticker,
  type Trade,
} from '../gen/exchange/v1/common';
import type { Kline } from '../gen/exchange/v1/history';
import {
  SIDE_TO_PROTO,
  STATUS_TO_PROTO,
  STP_TO_PROTO,
  TIF_TO_PROTO,
  TYPE_TO_PROTO,
} from '../services/lib/proto-enums';
import type { z } from 'zod';
import type {
  BalanceSchema,
  FillSchema,
  KlineSchema,
  MarketSchema,
  OrderSchema,
  TickerSchema,
  TradeSchema,
} from './schemas';

function invert<K extends string, V extends number>(table: Record<K, V>): Map<V, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as V, k as K]));
}

const SIDE_WORD = invert(SIDE_TO_PROTO);
const TYPE_WORD = invert(TYPE_TO_PROTO);
const TIF_WORD = invert(TIF_TO_PROTO);
const STP_WORD = invert(STP_TO_PROTO);
const STATUS_WORD = invert(STATUS_TO_PROTO);

function word<V extends number, K>(table: Map<V, K>, value: V, fallback: K): K {
  return table.get(value) ?? fallback;
}

const ms = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));

export function marketJson(m: Market): z.infer<typeof MarketSchema> {
  return {
    symbol: m.symbol,
    baseAsset: m.baseAsset?.symbol ?? '',
    quoteAsset: m.quoteAsset?.symbol ?? '',
    baseDecimals: m.baseAsset?.decimals ?? 0,
    quoteDecimals: m.quoteAsset?.decimals ?? 0,
    tickSize: m.tickSize,
    lotSize: m.lotSize,
    minQuantity: m.minQuantity,
    minNotional: m.minNotional,
    makerFee: m.makerFee,
    takerFee: m.takerFee,
  };
}

export function orderJson(o: Order): z.infer<typeof OrderSchema> {
  return {
    orderId: o.orderId,
    clientOrderId: o.clientOrderId ?? null,
    market: o.market,
    side: word(SIDE_WORD, o.side, 'buy'),
    type: word(TYPE_WORD, o.type, 'limit'),
    timeInForce: word(TIF_WORD, o.timeInForce, 'GTC'),
    price: o.price ?? null,
    quantity: o.quantity ?? null,
    quoteQuantity: o.quoteQuantity ?? null,
    filledQuantity: o.filledQuantity,
    filledQuoteQuantity: o.filledQuoteQuantity,
    status: word(STATUS_WORD, o.status, 'new'),
    postOnly: o.postOnly,
    selfTradePrevention: word(STP_WORD, o.selfTradePrevention, 'cancel_taker'),
    createdAt: ms(o.createdAt),
    updatedAt: ms(o.updatedAt),
  };
}

export function fillJson(f: Fill): z.infer<typeof FillSchema> {
  return {
    tradeId: f.tradeId,
    orderId: f.orderId,
    market: f.market,
    side: word(SIDE_WORD, f.side, 'buy'),
    price: f.price,
    quantity: f.quantity,
    quoteQuantity: f.quoteQuantity,
    fee: f.fee,
    feeAsset: f.feeAsset,
    liquidity: f.liquidity === Liquidity.LIQUIDITY_MAKER ? 'maker' : 'taker',
    timestamp: ms(f.timestamp),
  };
}

export function balanceJson(b: Balance | undefined, asset = ''): z.infer<typeof BalanceSchema> {
  return { asset: b?.asset ?? asset, available: b?.available ?? '0', locked: b?.locked ?? '0' };
}

export function tradeJson(t: Trade): z.infer<typeof TradeSchema> {
  return {
    id: t.tradeId,
    price: t.price,
    quantity: t.quantity,
    quoteQuantity: t.quoteQuantity,
    takerSide: word(SIDE_WORD, t.takerSide, 'buy'),
    timestamp: ms(t.timestamp),
  };
}

export function tickerJson(t: Ticker): z.infer<typeof TickerSchema> {
  const orNull = (v: string) => (v === '' ? null : v);
  return {
    market: t.market,
    last: orNull(t.last),
    open: orNull(t.open),
    high: orNull(t.high),
    low: orNull(t.low),
    change: t.change,
    changePercent: t.changePercent,
    volume: t.volume,
    quoteVolume: t.quoteVolume,
    trades: Number(t.trades),
    openTime: ms(t.openTime),
    closeTime: ms(t.closeTime),
  };
}

export function klineJson(k: Kline): z.infer<typeof KlineSchema> {
  return {
    openTime: ms(k.openTime),
    closeTime: ms(k.closeTime),
    open: k.open,
    high: k.high,
    low: k.low,
    close: k.close,
    volume: k.volume,
    quoteVolume: k.quoteVolume,
    trades: Number(k.trades),
  };
}
