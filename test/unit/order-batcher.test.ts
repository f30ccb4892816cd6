import { status } from '@grpc/grpc-js';
import type { PlaceOrderRequest, PlaceOrdersRequest } from '../../gen/exchange/v1/engine';
import { ApiError } from '../../gateway/errors';
import { MAX_ORDERS_PER_CALL, OrderBatcher } from '../../gateway/order-batcher';

function order(n: number): PlaceOrderRequest {
  return { userId: String(n), market: 'SOL_USDC' } as PlaceOrderRequest;
}

/** A fake engine that records its calls and refuses the orders of user "13". */
function fakeEngine() {
  const calls: PlaceOrdersRequest[] = [];
  return {
    calls,
    placeOrders: (req: PlaceOrdersRequest) => {
      calls.push(req);
      return Promise.resolve({
        results: req.orders.map((o) =>
          o.userId === '13'
            ? {
                result: {
                  $case: 'error' as const,
                  value: {
                    code: 'INSUFFICIENT_BALANCE',
                    message: 'not enough',
                    grpcCode: status.FAILED_PRECONDITION,
                  },
                },
              }
            : {
                result: {
                  $case: 'placed' as const,
                  value: { order: undefined, fills: [{ orderId: o.userId } as never] },
                },
              },
        ),
      });
    },
  };
}

describe('OrderBatcher', () => {
  it('sends the orders of one tick as one call, in order, each answer to its caller', async () => {
    const engine = fakeEngine();
    const batcher = new OrderBatcher(engine);
    const answers = await Promise.allSettled([1, 2, 13, 4].map((n) => batcher.place(order(n))));
    expect(engine.calls.map((c) => c.orders.map((o) => o.userId))).toEqual([['1', '2', '13', '4']]);
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value.fills[0].orderId : 'x'))).toEqual(
      ['1', '2', 'x', '4'],
    );
    const refused = answers[2] as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ApiError);
    expect(refused.reason).toMatchObject({ status: 400, code: 'INSUFFICIENT_BALANCE' });
  });

  it('splits a large tick into calls the engine accepts, and later ticks into new calls', async () => {
    const engine = fakeEngine();
    const batcher = new OrderBatcher(engine);
    const n = MAX_ORDERS_PER_CALL * 2 + 1;
    await Promise.all(Array.from({ length: n }, (_, i) => batcher.place(order(i + 100))));
    await batcher.place(order(1));
    expect(engine.calls.map((c) => c.orders.length)).toEqual([
      MAX_ORDERS_PER_CALL,
      MAX_ORDERS_PER_CALL,
      1,
      1,
    ]);
  });

  it('fails every order of a call that fails as a whole', async () => {
    const down = Object.assign(new Error('14 UNAVAILABLE'), { code: status.UNAVAILABLE });
    const batcher = new OrderBatcher({ placeOrders: () => Promise.reject(down) });
    const answers = await Promise.allSettled([batcher.place(order(1)), batcher.place(order(2))]);
    expect(answers).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
  });
});
