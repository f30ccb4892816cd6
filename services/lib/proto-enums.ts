/**
 * The one table from the core's enum words ('buy', 'GTC', 'partially_filled', ...) to the
 * generated gRPC enums, for every service that writes an order or a trade into a message.
 */
import {
  OrderStatus,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from '../../gen/exchange/v1/common';
import type {
  OrderStatus as CoreStatus,
  OrderType as CoreType,
  SelfTradePrevention as CoreStp,
  Side as CoreSide,
  TimeInForce as CoreTif,
} from '../engine/core/types';

export const SIDE_TO_PROTO: Record<CoreSide, Side> = { buy: Side.SIDE_BUY, sell: Side.SIDE_SELL };

export const TYPE_TO_PROTO: Record<CoreType, OrderType> = {
  limit: OrderType.ORDER_TYPE_LIMIT,
  market: OrderType.ORDER_TYPE_MARKET,
};

export const TIF_TO_PROTO: Record<CoreTif, TimeInForce> = {
  GTC: TimeInForce.TIME_IN_FORCE_GTC,
  IOC: TimeInForce.TIME_IN_FORCE_IOC,
  FOK: TimeInForce.TIME_IN_FORCE_FOK,
};

export const STP_TO_PROTO: Record<CoreStp, SelfTradePrevention> = {
  cancel_taker: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_TAKER,
  cancel_maker: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_MAKER,
  cancel_both: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_BOTH,
};

export const STATUS_TO_PROTO: Record<CoreStatus, OrderStatus> = {
  new: OrderStatus.ORDER_STATUS_NEW,
  partially_filled: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
  filled: OrderStatus.ORDER_STATUS_FILLED,
  cancelled: OrderStatus.ORDER_STATUS_CANCELLED,
  expired: OrderStatus.ORDER_STATUS_EXPIRED,
  rejected: OrderStatus.ORDER_STATUS_REJECTED,
};
