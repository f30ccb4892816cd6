/**
 * Order entry straight to the engine with batched PlaceOrders, as bench/grpc.bench.ts does it,
 * but with orders that always trade: two users alternate buy and sell at one price, so each
 * pair matches and the book does not grow. Also the steady order feed behind the market-data
 * fan-out measurement.
 */
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import type { EngineApi } from '../../test/support/engine-client';
import { sendInBatches } from '../support/batched-entry';
import { percentile } from '../support/latency';

/** Two funded users, created through gRPC. */
export async function grpcTraders(api: EngineApi): Promise<[string, string]> {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { userId } = await api.createUser({});
    await api.deposit({ userId, asset: 'USDC', amount: '1000000000', idempotencyKey: '' });
    await api.deposit({ userId, asset: 'SOL', amount: '10000000', idempotencyKey: '' });
    await api.deposit({ userId, asset: 'BTC', amount: '10000000', idempotencyKey: '' });
    ids.push(userId);
  }
  return [ids[0], ids[1]];
}

/**
 * `n` orders (n even) in matching pairs: A buys, B sells, B buys, A sells, ... at 100 USDC, 0.1
 * of the base asset each. Each second order takes the first, as long as the market's book holds
 * nothing else at that price (the REST phase leaves tens of thousands of orders on SOL_USDC).
 */
export function matchingOrders(
  users: readonly [string, string],
  n: number,
  market = 'SOL_USDC',
): PlaceOrderRequest[] {
  const orders: PlaceOrderRequest[] = [];
  for (let i = 0; i < n; i++) {
    const round = i % 4;
    orders.push({
      userId: users[round === 0 || round === 3 ? 0 : 1],
      market,
      side: round === 0 || round === 2 ? Side.SIDE_BUY : Side.SIDE_SELL,
      type: OrderType.ORDER_TYPE_LIMIT,
      price: '100',
      quantity: '0.1',
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      postOnly: false,
      selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_TAKER,
    });
  }
  return orders;
}

export interface GrpcRun {
  readonly ordersPerSec: number;
  /** Round trip of the PlaceOrders call that carried the order (all batches are the same size). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Orders the engine rejected (their results are errors). */
  readonly rejected: number;
}

/** `orders` in batches of `batch`, `inFlight` calls at a time. */
export async function batchedEntry(
  api: EngineApi,
  orders: readonly PlaceOrderRequest[],
  batch: number,
  inFlight: number,
): Promise<GrpcRun> {
  const { ms, calls } = await sendInBatches(api, orders, batch, inFlight);
  const latencies = calls.map((c) => c.ms);
  const rejected = calls.reduce((n, c) => n + c.rejected, 0);
  const seconds = ms / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ordersPerSec: Math.round(orders.length / seconds),
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p99Ms: +percentile(latencies, 99).toFixed(2),
    rejected,
  };
}

/**
 * Places `perSec` matching orders a second until stopped, in `ticksPerSec` PlaceOrders calls:
 * each tick sends what is due by the clock, so a late timer catches up instead of lowering the
 * rate. At most 4 calls are in flight: a slow engine slows the feed rather than queueing
 * without bound (the orders/s actually placed is what the caller reports).
 */
export function steadyFeed(
  api: EngineApi,
  users: readonly [string, string],
  perSec: number,
  ticksPerSec: number,
) {
  const most = matchingOrders(users, Math.max(4, Math.ceil((4 * perSec) / ticksPerSec)));
  const start = performance.now();
  let sent = 0;
  let inFlight = 0;
  let placed = 0;
  let failed = 0;
  const timer = setInterval(() => {
    if (inFlight >= 4) return;
    const due = Math.floor((((performance.now() - start) / 1000) * perSec) / 2) * 2;
    const batch = most.slice(0, Math.min(most.length, due - sent));
    if (batch.length === 0) return;
    sent += batch.length;
    inFlight++;
    api.placeOrders({ orders: batch }).then(
      () => {
        inFlight--;
        placed += batch.length;
      },
      () => {
        inFlight--;
        failed++;
      },
    );
  }, 1000 / ticksPerSec);
  return {
    get placed() {
      return placed;
    },
    get failedCalls() {
      return failed;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
