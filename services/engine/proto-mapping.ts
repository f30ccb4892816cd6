/**
 * The Engine service's edge: gRPC messages (decimal strings, enums) to core commands (ticks,
 * lots, minor units) and core views back to messages. Conversion itself is the core's `units`
 * module; this file only knows which field is which.
 */
import {
  Side as PSide,
  OrderType as PType,
  TimeInForce as PTif,
  SelfTradePrevention as PStp,
  Liquidity as PLiquidity,
} from '../../gen/exchange/v1/common';
import type {
  Balance,
  Fill,
  Market as PMarket,
  Order as POrder,
  DepthLevel,
} from '../../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import {
  type BalanceView,
  type CommandBody,
  decimalToSteps,
  type ExchangeCore,
  type FillView,
  formatScaled,
  type Market,
  MAX_LOTS,
  MAX_TICKS,
  type OrderView,
  parseScaled,
  type SelfTradePrevention,
  type Side,
  stepsToDecimal,
  type TimeInForce,
} from './core';
import { invalidArgument } from '../lib/grpc/status';
import {
  SIDE_TO_PROTO,
  STATUS_TO_PROTO,
  STP_TO_PROTO,
  TIF_TO_PROTO,
  TYPE_TO_PROTO,
} from '../lib/proto-enums';

const SIDES: Partial<Record<PSide, Side>> = { [PSide.SIDE_BUY]: 'buy', [PSide.SIDE_SELL]: 'sell' };
const TIFS: Partial<Record<PTif, TimeInForce | undefined>> = {
  [PTif.TIME_IN_FORCE_UNSPECIFIED]: undefined,
  [PTif.TIME_IN_FORCE_GTC]: 'GTC',
  [PTif.TIME_IN_FORCE_IOC]: 'IOC',
  [PTif.TIME_IN_FORCE_FOK]: 'FOK',
};
const STPS: Partial<Record<PStp, SelfTradePrevention | undefined>> = {
  [PStp.SELF_TRADE_PREVENTION_UNSPECIFIED]: undefined,
  [PStp.SELF_TRADE_PREVENTION_CANCEL_TAKER]: 'cancel_taker',
  [PStp.SELF_TRADE_PREVENTION_CANCEL_MAKER]: 'cancel_maker',
  [PStp.SELF_TRADE_PREVENTION_CANCEL_BOTH]: 'cancel_both',
};

export const sideToProto = (side: Side): PSide => SIDE_TO_PROTO[side];

/** An order id as the API writes it (decimal string) to the core's number; undefined if not one. */
export function parseOrderId(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return -1; // never an order: answers ORDER_NOT_FOUND
  return Number(text);
}

/** A place-order request as a core command; shape errors are INVALID_ARGUMENT. */
export function toPlaceCommand(core: ExchangeCore, req: PlaceOrderRequest): CommandBody {
  const market = core.market(req.market);
  const side = SIDES[req.side];
  if (side === undefined)
    throw invalidArgument('INVALID_ORDER', 'side must be SIDE_BUY or SIDE_SELL');
  if (req.type !== PType.ORDER_TYPE_LIMIT && req.type !== PType.ORDER_TYPE_MARKET) {
    throw invalidArgument('INVALID_ORDER', 'type must be ORDER_TYPE_LIMIT or ORDER_TYPE_MARKET');
  }
  if (!(req.timeInForce in TIFS))
    throw invalidArgument('INVALID_TIME_IN_FORCE', 'unknown time in force');
  if (!(req.selfTradePrevention in STPS))
    throw invalidArgument('INVALID_ORDER', 'unknown self-trade prevention');
  return {
    type: 'place_order',
    userId: req.userId,
    market: market.symbol,
    side,
    orderType: req.type === PType.ORDER_TYPE_LIMIT ? 'limit' : 'market',
    price:
      req.price === undefined
        ? undefined
        : decimalToSteps(req.price, market.tick, MAX_TICKS, 'INVALID_PRICE', 'price'),
    quantity:
      req.quantity === undefined
        ? undefined
        : decimalToSteps(req.quantity, market.lot, MAX_LOTS, 'INVALID_QUANTITY', 'quantity'),
    quoteAmount:
      req.quoteQuantity === undefined
        ? undefined
        : parseScaled(
            req.quoteQuantity,
            market.quote.decimals,
            'INVALID_QUANTITY',
            'quote quantity',
          ),
    timeInForce: TIFS[req.timeInForce],
    postOnly: req.postOnly,
    selfTradePrevention: STPS[req.selfTradePrevention],
    clientOrderId:
      req.clientOrderId === undefined || req.clientOrderId === '' ? undefined : req.clientOrderId,
  };
}

export function orderToProto(core: ExchangeCore, o: OrderView): POrder {
  const m = core.market(o.market);
  return {
    orderId: String(o.orderId),
    clientOrderId: o.clientOrderId ?? undefined,
    userId: o.userId,
    market: o.market,
    side: sideToProto(o.side),
    type: TYPE_TO_PROTO[o.type],
    timeInForce: TIF_TO_PROTO[o.timeInForce],
    price: o.type === 'limit' ? stepsToDecimal(o.price, m.tick) : undefined,
    quantity: o.quantity > 0 ? stepsToDecimal(o.quantity, m.lot) : undefined,
    quoteQuantity: o.quoteAmount > 0n ? formatScaled(o.quoteAmount, m.quote.decimals) : undefined,
    filledQuantity: stepsToDecimal(o.filledQuantity, m.lot),
    filledQuoteQuantity: formatScaled(o.filledQuoteAmount, m.quote.decimals),
    status: STATUS_TO_PROTO[o.status],
    postOnly: o.postOnly,
    selfTradePrevention: STP_TO_PROTO[o.selfTradePrevention],
    createdAt: String(o.createdAt),
    updatedAt: String(o.updatedAt),
  };
}

export function fillToProto(
  core: ExchangeCore,
  order: OrderView,
  f: FillView,
  timestamp: number,
): Fill {
  const m = core.market(order.market);
  const feeDecimals = f.feeAsset === m.base.symbol ? m.base.decimals : m.quote.decimals;
  return {
    tradeId: String(f.tradeId),
    orderId: String(order.orderId),
    market: order.market,
    side: sideToProto(order.side),
    price: stepsToDecimal(f.price, m.tick),
    quantity: stepsToDecimal(f.quantity, m.lot),
    quoteQuantity: formatScaled(f.quoteAmount, m.quote.decimals),
    fee: formatScaled(f.fee, feeDecimals),
    feeAsset: f.feeAsset,
    liquidity: f.liquidity === 'maker' ? PLiquidity.LIQUIDITY_MAKER : PLiquidity.LIQUIDITY_TAKER,
    timestamp: String(timestamp),
  };
}

export function balanceToProto(core: ExchangeCore, b: BalanceView): Balance {
  const decimals = core.asset(b.asset).decimals;
  return {
    asset: b.asset,
    available: formatScaled(b.available, decimals),
    locked: formatScaled(b.locked, decimals),
  };
}

export function marketToProto(m: Market): PMarket {
  const s = m.spec;
  return {
    symbol: s.symbol,
    baseAsset: { symbol: m.base.symbol, decimals: m.base.decimals },
    quoteAsset: { symbol: m.quote.symbol, decimals: m.quote.decimals },
    tickSize: s.tickSize,
    lotSize: s.lotSize,
    minQuantity: s.minQuantity,
    minNotional: s.minNotional,
    makerFee: s.makerFee,
    takerFee: s.takerFee,
  };
}

export function levelsToProto(m: Market, levels: [number, number][]): DepthLevel[] {
  return levels.map(([price, qty]) => ({
    price: stepsToDecimal(price, m.tick),
    quantity: stepsToDecimal(qty, m.lot),
  }));
}
