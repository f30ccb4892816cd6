/**
 * The `HistoryService` handlers: validation of the request (with stable error codes), one query,
 * and the mapping of rows to messages. Every handler goes through `unary`, so a failure is
 * always a status.
 */
import { status } from '@grpc/grpc-js';
import { Liquidity, type Fill, type Order } from '../../gen/exchange/v1/common';
import type { HistoryServiceServer } from '../../gen/exchange/v1/history';
import type {
  OrderStatus as OrderStatusWord,
  OrderType as OrderTypeWord,
  SelfTradePrevention as StpWord,
  Side as CoreSide,
  TimeInForce as TimeInForceWord,
} from '../engine/core/types';
import { ServiceFailure, invalidArgument, unary } from '../lib/grpc/status';
import {
  SIDE_TO_PROTO,
  STATUS_TO_PROTO,
  STP_TO_PROTO,
  TIF_TO_PROTO,
  TYPE_TO_PROTO,
} from '../lib/proto-enums';
import type { Logger } from '../lib/logger';
import type { FillRow, HistoryQueries, OrderRow } from './history-queries';
import { INTERVALS, isInterval } from './intervals';

export const KLINES_DEFAULT_LIMIT = 500;
export const PAGE_DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const DAY_MS = 86_400_000;

export interface HistoryServiceDeps {
  readonly queries: HistoryQueries;
  readonly log: Logger;
  /** The time tickers are computed at (tests pin it). */
  readonly now?: () => number;
}

export function createHistoryService(deps: HistoryServiceDeps): HistoryServiceServer {
  const { queries, log } = deps;
  const now = deps.now ?? Date.now;
  let markets = new Set<string>();

  /** Markets are few and only ever added: refresh the cache on a miss. */
  async function requireMarket(symbol: string): Promise<string> {
    if (!markets.has(symbol)) markets = new Set(await queries.marketSymbols());
    if (!markets.has(symbol)) {
      throw new ServiceFailure(
        status.NOT_FOUND,
        'UNKNOWN_MARKET',
        `unknown market ${symbol || '""'}`,
      );
    }
    return symbol;
  }

  return {
    getKlines: unary(log, 'GetKlines', async (req) => {
      if (!isInterval(req.interval)) {
        throw invalidArgument(
          'INVALID_INTERVAL',
          `interval must be one of ${INTERVALS.join(' ')}, got ${JSON.stringify(req.interval)}`,
        );
      }
      const start = time(req.startTime, 'start_time');
      const end = time(req.endTime, 'end_time');
      if (start !== null && end !== null && start > end) {
        throw invalidArgument('INVALID_TIME_RANGE', `start_time ${start} is after end_time ${end}`);
      }
      const limit = pageLimit(req.limit, KLINES_DEFAULT_LIMIT);
      const market = await requireMarket(req.market);
      const rows = await queries.klines(market, req.interval, start, end, limit);
      return {
        klines: rows.map((k) => ({
          openTime: k.open_time,
          closeTime: k.close_time,
          open: k.open,
          high: k.high,
          low: k.low,
          close: k.close,
          volume: k.volume,
          quoteVolume: k.quote_volume,
          trades: k.trades,
        })),
      };
    }),

    getOrderHistory: unary(log, 'GetOrderHistory', async (req) => {
      const userId = id(req.userId, 'user_id', 'INVALID_USER_ID');
      const limit = pageLimit(req.limit, PAGE_DEFAULT_LIMIT);
      const market = req.market === undefined ? null : await requireMarket(req.market);
      const after = req.cursor === undefined ? null : decodeCursor(req.cursor, 2);
      const rows = await queries.orderHistory(
        userId,
        market,
        after === null ? null : [Number(after[0]), after[1]],
        limit + 1,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        orders: page.map(orderOf),
        nextCursor:
          rows.length > limit ? encodeCursor([last.created_at, last.order_id]) : undefined,
      };
    }),

    getUserTrades: unary(log, 'GetUserTrades', async (req) => {
      const userId = id(req.userId, 'user_id', 'INVALID_USER_ID');
      const limit = pageLimit(req.limit, PAGE_DEFAULT_LIMIT);
      const market = req.market === undefined ? null : await requireMarket(req.market);
      const after = req.cursor === undefined ? null : decodeCursor(req.cursor, 3);
      const rows = await queries.userFills(
        userId,
        market,
        after === null ? null : [Number(after[0]), after[1], after[2]],
        limit + 1,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        fills: page.map(fillOf),
        nextCursor:
          rows.length > limit ? encodeCursor([last.ts, last.market, last.trade_id]) : undefined,
      };
    }),

    getMarketTrades: unary(log, 'GetMarketTrades', async (req) => {
      const limit = pageLimit(req.limit, PAGE_DEFAULT_LIMIT);
      const market = await requireMarket(req.market);
      const rows = await queries.marketTrades(market, limit);
      return {
        trades: rows.map((t) => ({
          tradeId: t.trade_id,
          market: t.market,
          price: t.price,
          quantity: t.quantity,
          quoteQuantity: t.quote_quantity,
          takerSide: SIDE_TO_PROTO[t.taker_side as CoreSide],
          timestamp: t.ts,
        })),
      };
    }),

    getOrder: unary(log, 'GetOrder', async (req) => {
      const userId = id(req.userId, 'user_id', 'INVALID_USER_ID');
      if ((req.orderId === '') === (req.clientOrderId === '')) {
        throw invalidArgument('INVALID_ORDER', 'give an order_id or a client_order_id');
      }
      const row =
        req.clientOrderId !== ''
          ? await queries.orderByClientId(userId, req.clientOrderId)
          : await queries.order(userId, id(req.orderId, 'order_id', 'INVALID_ORDER_ID'));
      if (row === undefined)
        throw new ServiceFailure(status.NOT_FOUND, 'ORDER_NOT_FOUND', 'order not found');
      return { order: orderOf(row), fills: (await queries.orderFills(row.order_id)).map(fillOf) };
    }),

    getTickers: unary(log, 'GetTickers', async (req) => {
      const market = req.market === undefined ? null : await requireMarket(req.market);
      const at = now();
      const rows = await queries.tickers(market, at);
      return {
        tickers: rows.map((t) => ({
          market: t.market,
          last: t.last ?? '',
          open: t.open ?? '',
          high: t.high ?? '',
          low: t.low ?? '',
          change: t.change ?? '0',
          changePercent: t.change_percent ?? '0',
          volume: t.volume,
          quoteVolume: t.quote_volume,
          trades: t.trades,
          openTime: String(at - DAY_MS),
          closeTime: String(at),
        })),
      };
    }),
  };
}

function orderOf(r: OrderRow): Order {
  return {
    orderId: r.order_id,
    clientOrderId: r.client_order_id ?? undefined,
    userId: r.user_id,
    market: r.market,
    side: SIDE_TO_PROTO[r.side as CoreSide],
    type: TYPE_TO_PROTO[r.type as OrderTypeWord],
    timeInForce: TIF_TO_PROTO[r.time_in_force as TimeInForceWord],
    price: r.price ?? undefined,
    quantity: r.quantity ?? undefined,
    quoteQuantity: r.quote_quantity ?? undefined,
    filledQuantity: r.filled_quantity,
    filledQuoteQuantity: r.filled_quote_quantity,
    status: STATUS_TO_PROTO[r.status as OrderStatusWord],
    postOnly: r.post_only,
    selfTradePrevention: STP_TO_PROTO[r.self_trade_prevention as StpWord],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function fillOf(r: FillRow): Fill {
  return {
    tradeId: r.trade_id,
    orderId: r.order_id,
    market: r.market,
    side: SIDE_TO_PROTO[r.side as CoreSide],
    price: r.price,
    quantity: r.quantity,
    quoteQuantity: r.quote_quantity,
    fee: r.fee,
    feeAsset: r.fee_asset,
    liquidity: r.liquidity === 'maker' ? Liquidity.LIQUIDITY_MAKER : Liquidity.LIQUIDITY_TAKER,
    timestamp: r.ts,
  };
}

function pageLimit(limit: number, fallback: number): number {
  if (limit === 0) return fallback;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw invalidArgument(
      'INVALID_LIMIT',
      `limit must be 1..${MAX_LIMIT} (0: default), got ${limit}`,
    );
  }
  return limit;
}

function time(value: string | undefined, what: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || !Number.isSafeInteger(n)) {
    throw invalidArgument('INVALID_TIME_RANGE', `${what} must be Unix ms >= 0, got ${value}`);
  }
  return n;
}

function id(value: string, what: string, code: string): string {
  if (!/^[1-9]\d{0,17}$/.test(value)) {
    throw invalidArgument(
      code,
      `${what} must be a positive integer id, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function encodeCursor(parts: string[]): string {
  return Buffer.from(parts.join(':')).toString('base64url');
}

function decodeCursor(cursor: string, width: number): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const ok =
    parts.length === width &&
    /^\d{1,15}$/.test(parts[0]) &&
    /^\d{1,18}$/.test(parts[width - 1]) &&
    parts.every((p) => p.length > 0 && p.length <= 64);
  if (!ok) throw invalidArgument('INVALID_CURSOR', 'cursor is not one this service returned');
  return parts;
}
