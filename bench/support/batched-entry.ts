/**
 * Batched order entry, as the benches drive it: `orders` in PlaceOrders calls of `batch`,
 * `inFlight` calls at a time, each call timed from send to answer.
 */
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import type { EngineApi } from '../../test/support/engine-client';

export interface BatchedCall {
  /** Round trip of the call. */
  readonly ms: number;
  readonly orders: number;
  /** Orders of the call the engine refused (their results are errors). */
  readonly rejected: number;
}

export async function sendInBatches(
  api: EngineApi,
  orders: readonly PlaceOrderRequest[],
  batch: number,
  inFlight: number,
): Promise<{ ms: number; calls: BatchedCall[] }> {
  const calls: BatchedCall[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < orders.length) {
        const slice = orders.slice(next, next + batch);
        next += batch;
        const t = performance.now();
        const res = await api.placeOrders({ orders: slice });
        const ms = performance.now() - t;
        let rejected = 0;
        for (const r of res.results) if (r.result?.$case !== 'placed') rejected++;
        calls.push({ ms, orders: slice.length, rejected });
      }
    }),
  );
  return { ms: performance.now() - start, calls };
}
