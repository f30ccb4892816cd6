/** Small helpers shared by the integration tests that drive the Engine service over gRPC. */
import type { ServiceError, status } from '@grpc/grpc-js';
import {
  OrderType,
  SelfTradePrevention,
  type Side,
  TimeInForce,
} from '../../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import { errorCodeOf } from '../../services/lib/grpc/status';
import type { EngineApi } from './engine-client';

/** The failure of a call, as status and stable error code; throws if the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<{ status: status; code: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as ServiceError;
    return { status: e.code, code: errorCodeOf(e) };
  }
  throw new Error('expected the call to fail');
}

/** A new user with these deposits (asset -> decimal amount). */
export async function funded(api: EngineApi, funds: Record<string, string>): Promise<string> {
  const { userId } = await api.createUser({});
  for (const [asset, amount] of Object.entries(funds)) {
    await api.deposit({ userId, asset, amount, idempotencyKey: '' });
  }
  return userId;
}

/** A GTC limit order on SOL_USDC unless `extra` says otherwise. */
export function limitOrder(
  userId: string,
  side: Side,
  price: string,
  quantity: string,
  extra: Partial<PlaceOrderRequest> = {},
): PlaceOrderRequest {
  return {
    userId,
    market: 'SOL_USDC',
    side,
    type: OrderType.ORDER_TYPE_LIMIT,
    price,
    quantity,
    timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    postOnly: false,
    selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_UNSPECIFIED,
    ...extra,
  };
}
