/**
 * Every EngineService RPC through a real gRPC client, against an engine on real Redis and
 * Postgres (own key prefix and schema), including the rejections and their status codes.
 */
import { type ClientDuplexStream, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OrderStatus, OrderType, Side, TimeInForce } from '../../gen/exchange/v1/common';
import { MarketDataChannel, type StreamMarketDataResponse } from '../../gen/exchange/v1/engine';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { createLogger } from '../../services/lib/logger';
import { OrderStream } from '../../gateway/order-stream';
import { engineClient, type EngineApi } from '../support/engine-client';
import { failure, funded as fundedUser, limitOrder } from '../support/fixtures';
import { engineConfig, isolate, type Isolation } from '../support/stack';

let iso: Isolation;
let engine: EngineHandle;
let api: EngineApi;

// A fresh engine (own Redis prefix and Postgres schema) for every test.
beforeEach(async () => {
  iso = isolate('engine');
  engine = await startEngine(engineConfig(iso), createLogger('engine-test', 'silent'));
  api = engineClient(`127.0.0.1:${engine.port}`);
});

afterEach(async () => {
  api.close();
  try {
    await engine.stop();
  } finally {
    await iso.cleanup();
  }
});

const funded = (funds: Record<string, string>) => fundedUser(api, funds);
const limit = limitOrder;

describe('CreateUser and Authenticate', () => {
  it('creates a user whose key authenticates, and refuses an unknown key', async () => {
    const { userId, apiKey } = await api.createUser({});
    expect(apiKey).toMatch(/^ek_[A-Za-z0-9_-]{32}$/);
    expect(await api.authenticate({ apiKey })).toEqual({ userId });
    expect(await failure(api.authenticate({ apiKey: 'ek_nope' }))).toEqual({
      status: status.UNAUTHENTICATED,
      code: 'UNAUTHENTICATED',
    });
    expect(await failure(api.authenticate({ apiKey: '' }))).toEqual({
      status: status.UNAUTHENTICATED,
      code: 'UNAUTHENTICATED',
    });
  });
});

describe('Deposit and Withdraw', () => {
  it('moves money and returns the new balance', async () => {
    const userId = await funded({});
    expect(
      await api.deposit({ userId, asset: 'USDC', amount: '100.25', idempotencyKey: '' }),
    ).toEqual({
      balance: { asset: 'USDC', available: '100.25', locked: '0' },
    });
    expect(
      await api.withdraw({ userId, asset: 'USDC', amount: '0.25', idempotencyKey: '' }),
    ).toEqual({
      balance: { asset: 'USDC', available: '100', locked: '0' },
    });
  });

  it('moves money once for a repeated idempotency key', async () => {
    const userId = await funded({});
    const req = { userId, asset: 'SOL', amount: '3', idempotencyKey: 'dep-42' };
    await api.deposit(req);
    const again = await api.deposit(req);
    expect(again.balance?.available).toBe('3');
    expect(await failure(api.deposit({ ...req, amount: '4' }))).toEqual({
      status: status.ALREADY_EXISTS,
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it.each([
    ['a zero amount', { amount: '0' }, status.INVALID_ARGUMENT, 'INVALID_AMOUNT'],
    ['a negative amount', { amount: '-1' }, status.INVALID_ARGUMENT, 'INVALID_AMOUNT'],
    ['an exponent', { amount: '1e3' }, status.INVALID_ARGUMENT, 'INVALID_AMOUNT'],
    ['NaN', { amount: 'NaN' }, status.INVALID_ARGUMENT, 'INVALID_AMOUNT'],
    ['too many decimals', { amount: '1.0000001' }, status.INVALID_ARGUMENT, 'INVALID_AMOUNT'],
    ['an unknown asset', { asset: 'DOGE' }, status.NOT_FOUND, 'UNKNOWN_ASSET'],
    ['an unknown user', { userId: '99999' }, status.NOT_FOUND, 'UNKNOWN_USER'],
  ])('refuses a deposit with %s', async (_name, change, code, errorCode) => {
    const userId = await funded({ USDC: '10' });
    expect(
      await failure(
        api.deposit({ userId, asset: 'USDC', amount: '1', idempotencyKey: '', ...change }),
      ),
    ).toEqual({ status: code, code: errorCode });
    expect((await api.getBalances({ userId })).balances.find((b) => b.asset === 'USDC')).toEqual({
      asset: 'USDC',
      available: '10',
      locked: '0',
    });
  });

  it('refuses to withdraw more than available and changes nothing', async () => {
    const userId = await funded({ USDC: '10' });
    await api.placeOrder(limit(userId, Side.SIDE_BUY, '5', '1'));
    expect(
      await failure(
        api.withdraw({ userId, asset: 'USDC', amount: '5.000001', idempotencyKey: '' }),
      ),
    ).toEqual({
      status: status.FAILED_PRECONDITION,
      code: 'INSUFFICIENT_BALANCE',
    });
    expect((await api.getBalances({ userId })).balances.find((b) => b.asset === 'USDC')).toEqual({
      asset: 'USDC',
      available: '5',
      locked: '5',
    });
  });
});

describe('PlaceOrder', () => {
  it('rests, fills at the maker price, reports fills and unlocks the difference below the limit', async () => {
    const seller = await funded({ SOL: '10' });
    const buyer = await funded({ USDC: '1000' });
    await api.placeOrder(limit(seller, Side.SIDE_SELL, '100', '1'));
    const r = await api.placeOrder(
      limit(buyer, Side.SIDE_BUY, '101', '2', { clientOrderId: 'b-1' }),
    );
    expect(r.order).toMatchObject({
      status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
      filledQuantity: '1',
      filledQuoteQuantity: '100',
      clientOrderId: 'b-1',
    });
    expect(r.fills).toEqual([
      expect.objectContaining({
        price: '100',
        quantity: '1',
        quoteQuantity: '100',
        fee: '0.002',
        feeAsset: 'SOL',
      }),
    ]);
    expect(
      (await api.getBalances({ userId: buyer })).balances.filter(
        (b) => b.available !== '0' || b.locked !== '0',
      ),
    ).toEqual([
      { asset: 'USDC', available: '799', locked: '101' },
      { asset: 'SOL', available: '0.998', locked: '0' },
    ]);
  });

  it('places a market order by quote amount', async () => {
    const seller = await funded({ SOL: '10' });
    const buyer = await funded({ USDC: '1000' });
    await api.placeOrder(limit(seller, Side.SIDE_SELL, '50', '10'));
    const r = await api.placeOrder({
      ...limit(buyer, Side.SIDE_BUY, '0', '0'),
      type: OrderType.ORDER_TYPE_MARKET,
      price: undefined,
      quantity: undefined,
      quoteQuantity: '75.5',
    });
    expect(r.order).toMatchObject({
      status: OrderStatus.ORDER_STATUS_FILLED,
      filledQuantity: '1.51',
      filledQuoteQuantity: '75.5',
      quoteQuantity: '75.5',
    });
  });

  it.each([
    ['a price off the tick', { price: '100.001' }, status.INVALID_ARGUMENT, 'INVALID_PRICE'],
    ['a negative price', { price: '-100' }, status.INVALID_ARGUMENT, 'INVALID_PRICE'],
    ['a quantity off the lot', { quantity: '0.001' }, status.INVALID_ARGUMENT, 'INVALID_QUANTITY'],
    ['a zero quantity', { quantity: '0' }, status.INVALID_ARGUMENT, 'INVALID_QUANTITY'],
    ['an exponent quantity', { quantity: '1e2' }, status.INVALID_ARGUMENT, 'INVALID_QUANTITY'],
    [
      'a notional under 1 USDC',
      { price: '0.5', quantity: '1' },
      status.INVALID_ARGUMENT,
      'MIN_NOTIONAL',
    ],
    ['an unknown market', { market: 'DOGE_USDC' }, status.NOT_FOUND, 'UNKNOWN_MARKET'],
    ['no side', { side: Side.SIDE_UNSPECIFIED }, status.INVALID_ARGUMENT, 'INVALID_ORDER'],
    [
      'no type',
      { type: OrderType.ORDER_TYPE_UNSPECIFIED },
      status.INVALID_ARGUMENT,
      'INVALID_ORDER',
    ],
    [
      'post-only IOC',
      { postOnly: true, timeInForce: TimeInForce.TIME_IN_FORCE_IOC },
      status.INVALID_ARGUMENT,
      'INVALID_TIME_IN_FORCE',
    ],
    [
      'more than the balance',
      { quantity: '1000' },
      status.FAILED_PRECONDITION,
      'INSUFFICIENT_BALANCE',
    ],
    ['an unknown user', { userId: '99999' }, status.NOT_FOUND, 'UNKNOWN_USER'],
  ])('refuses %s and changes nothing', async (_name, change, code, errorCode) => {
    const userId = await funded({ USDC: '100' });
    expect(
      await failure(api.placeOrder({ ...limit(userId, Side.SIDE_BUY, '10', '1'), ...change })),
    ).toEqual({ status: code, code: errorCode });
    expect(await api.getOpenOrders({ userId })).toEqual({ orders: [] });
    expect((await api.getBalances({ userId })).balances.find((b) => b.asset === 'USDC')).toEqual({
      asset: 'USDC',
      available: '100',
      locked: '0',
    });
  });

  it('refuses a post-only order that would take, and a FOK that cannot fill', async () => {
    const seller = await funded({ SOL: '1' });
    const buyer = await funded({ USDC: '1000' });
    await api.placeOrder(limit(seller, Side.SIDE_SELL, '100', '1'));
    expect(
      await failure(api.placeOrder(limit(buyer, Side.SIDE_BUY, '100', '1', { postOnly: true }))),
    ).toEqual({ status: status.FAILED_PRECONDITION, code: 'WOULD_TAKE' });
    expect(
      await failure(
        api.placeOrder(
          limit(buyer, Side.SIDE_BUY, '100', '2', { timeInForce: TimeInForce.TIME_IN_FORCE_FOK }),
        ),
      ),
    ).toEqual({
      status: status.FAILED_PRECONDITION,
      code: 'FOK_NOT_FILLABLE',
    });
  });

  it('returns the original order for a repeated client order id, and refuses a different one', async () => {
    const userId = await funded({ USDC: '100' });
    const first = await api.placeOrder(
      limit(userId, Side.SIDE_BUY, '10', '1', { clientOrderId: 'same' }),
    );
    const again = await api.placeOrder(
      limit(userId, Side.SIDE_BUY, '10', '1', { clientOrderId: 'same' }),
    );
    expect(again.order?.orderId).toBe(first.order?.orderId);
    expect((await api.getOpenOrders({ userId })).orders).toHaveLength(1);
    expect(
      await failure(
        api.placeOrder(limit(userId, Side.SIDE_BUY, '11', '1', { clientOrderId: 'same' })),
      ),
    ).toEqual({
      status: status.ALREADY_EXISTS,
      code: 'DUPLICATE_CLIENT_ORDER_ID',
    });
  });

  it('finds a closed order by its client order id, the newest one with it', async () => {
    const userId = await funded({ USDC: '100' });
    const byCid = async () =>
      (await api.getOrder({ userId, orderRef: { $case: 'clientOrderId', value: 'gone-1' } })).order;
    const ioc = { clientOrderId: 'gone-1', timeInForce: TimeInForce.TIME_IN_FORCE_IOC };
    // Nothing to trade with: each expires at once, and the id is free again.
    const first = await api.placeOrder(limit(userId, Side.SIDE_BUY, '10', '1', ioc));
    expect(await byCid()).toMatchObject({
      orderId: first.order?.orderId,
      status: OrderStatus.ORDER_STATUS_EXPIRED,
    });
    const second = await api.placeOrder(limit(userId, Side.SIDE_BUY, '10', '1', ioc));
    expect((await byCid())?.orderId).toBe(second.order?.orderId);
    const open = await api.placeOrder(
      limit(userId, Side.SIDE_BUY, '10', '1', { clientOrderId: 'gone-1' }),
    );
    expect((await byCid())?.orderId).toBe(open.order?.orderId);
    // Another user's client order ids are not looked at.
    const other = await funded({ USDC: '1' });
    expect(
      await failure(
        api.getOrder({ userId: other, orderRef: { $case: 'clientOrderId', value: 'gone-1' } }),
      ),
    ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
  });

  it('fails fast with DEADLINE_EXCEEDED once the deadline has passed', async () => {
    const userId = await funded({ USDC: '100' });
    const err = await failure(
      api.placeOrder(limit(userId, Side.SIDE_BUY, '10', '1'), { deadline: Date.now() - 1 }),
    );
    expect(err.status).toBe(status.DEADLINE_EXCEEDED);
  });
});

describe('PlaceOrders', () => {
  it('places a batch in order, one result per order, a rejection not stopping the rest', async () => {
    const seller = await funded({ SOL: '10' });
    const buyer = await funded({ USDC: '1000' });
    const { results } = await api.placeOrders({
      orders: [
        limit(seller, Side.SIDE_SELL, '100', '1'),
        limit(buyer, Side.SIDE_BUY, '100', '0.5'),
        limit(buyer, Side.SIDE_BUY, '100.001', '1'),
        limit(buyer, Side.SIDE_BUY, '99', '1'),
      ],
    });
    expect(results.map((r) => r.result?.$case)).toEqual(['placed', 'placed', 'error', 'placed']);
    const second = results[1].result;
    expect(second?.$case === 'placed' && second.value.order?.status).toBe(
      OrderStatus.ORDER_STATUS_FILLED,
    );
    const third = results[2].result;
    expect(third?.$case === 'error' && third.value).toEqual({
      code: 'INVALID_PRICE',
      message: expect.any(String),
      grpcCode: status.INVALID_ARGUMENT,
    });
  });
});

describe('PlaceOrderBatches', () => {
  it('answers each batch on the stream in order, echoing its id, one result per order', async () => {
    const seller = await funded({ SOL: '10' });
    const buyer = await funded({ USDC: '1000' });
    const { call, answers, done } = answered(api.raw.placeOrderBatches());
    call.write({
      deadline: '0',
      batchId: 'first',
      orders: [
        limit(seller, Side.SIDE_SELL, '100', '1'),
        limit(buyer, Side.SIDE_BUY, '100', '0.5'),
      ],
    });
    call.write({
      deadline: '0',
      batchId: 'too-large',
      orders: Array.from({ length: 5001 }, () => limit(buyer, Side.SIDE_BUY, '99', '0.01')),
    });
    call.write({
      deadline: String(Date.now() - 1),
      batchId: 'late',
      orders: [limit(buyer, Side.SIDE_BUY, '98', '1')],
    });
    call.write({
      deadline: String(Date.now() + 60_000),
      batchId: 'third',
      orders: [limit(buyer, Side.SIDE_BUY, '100.001', '1'), limit(buyer, Side.SIDE_BUY, '99', '1')],
    });
    call.end();
    await done;
    expect(answers.map((a) => [a.batchId, a.results.map((r) => r.result?.$case)])).toEqual([
      ['first', ['placed', 'placed']],
      ['too-large', []],
      ['late', []],
      ['third', ['error', 'placed']],
    ]);
    const taken = answers[0].results[1].result;
    expect(taken?.$case === 'placed' && taken.value.order?.status).toBe(
      OrderStatus.ORDER_STATUS_FILLED,
    );
    expect(answers[0].error).toBeUndefined();
    expect(answers[1].error).toMatchObject({
      code: 'BATCH_TOO_LARGE',
      grpcCode: status.INVALID_ARGUMENT,
    });
    expect(answers[2].error).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      grpcCode: status.DEADLINE_EXCEEDED,
    });
    const refused = answers[3].results[0].result;
    expect(refused?.$case === 'error' && refused.value.code).toBe('INVALID_PRICE');
    // The batches refused whole placed nothing: the buyer rests only the last batch's order.
    const { orders } = await api.getOpenOrders({ userId: buyer, market: '' });
    expect(orders.map((o) => [o.price, o.quantity])).toEqual([['99', '1']]);
  });

  it('lets the engine stop at once with a gateway stream open: it answers, then ends the stream', async () => {
    const buyer = await funded({ USDC: '1000' });
    const orders = new OrderStream(api.raw, 5000);
    const first = await orders.placeOrders({ orders: [limit(buyer, Side.SIDE_BUY, '99', '1')] });
    expect(first.results.map((r) => r.result?.$case)).toEqual(['placed']);
    const started = Date.now();
    await engine.stop();
    // The server's grace for open calls is 10 s: the stream did not hold it up.
    expect(Date.now() - started).toBeLessThan(5000);
    // The gateway side saw the end: the next batch opens a new stream, to no engine.
    await expect(
      orders.placeOrders({ orders: [limit(buyer, Side.SIDE_BUY, '98', '1')] }),
    ).rejects.toMatchObject({ code: status.UNAVAILABLE });
    orders.close();
  });
});

/** A stream, the answers it gets, and a promise of its end. */
function answered<Request, Answer>(call: ClientDuplexStream<Request, Answer>) {
  const answers: Answer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (r: Answer) => answers.push(r));
    call.on('end', resolve);
    call.on('error', reject);
  });
  return { call, answers, done };
}

/** An OrderEntry stream, the answers it gets, and a promise of its end. */
const entryStream = () => answered(api.raw.orderEntry());

describe('OrderEntry', () => {
  it('answers each request on the stream in request order, echoing its id', async () => {
    const userId = await funded({ USDC: '1000' });
    const { call, answers, done } = entryStream();
    call.write({
      requestId: 'a',
      action: {
        $case: 'place',
        value: limit(userId, Side.SIDE_BUY, '10', '1', { clientOrderId: 'oe-1' }),
      },
    });
    call.write({
      requestId: 'b',
      action: { $case: 'place', value: limit(userId, Side.SIDE_BUY, '10.001', '1') },
    });
    call.write({
      requestId: 'c',
      action: {
        $case: 'cancel',
        value: { userId, orderRef: { $case: 'clientOrderId', value: 'oe-1' } },
      },
    });
    call.write({
      requestId: 'd',
      action: {
        $case: 'cancel',
        value: { userId, orderRef: { $case: 'orderId', value: '987654' } },
      },
    });
    call.end();
    await done;
    expect(answers.map((a) => [a.requestId, a.result?.$case])).toEqual([
      ['a', 'placed'],
      ['b', 'error'],
      ['c', 'cancelled'],
      ['d', 'error'],
    ]);
    const last = answers[3].result;
    expect(last?.$case === 'error' && last.value.code).toBe('ORDER_NOT_FOUND');
  });
});

describe('OrderEntry, many requests at once', () => {
  it('journals a burst as batches and still answers every request, in order, with its own result', async () => {
    const userId = await funded({ USDC: '100000' });
    const { call, answers, done } = entryStream();
    const expected: [string, string][] = [];
    for (let i = 0; i < 600; i++) {
      const requestId = `r${i}`;
      if (i % 10 === 3) {
        call.write({
          requestId,
          action: { $case: 'place', value: limit(userId, Side.SIDE_BUY, '1.001', '1') },
        });
        expected.push([requestId, 'error']); // INVALID_PRICE, refused before the journal
      } else if (i % 10 === 7) {
        call.write({
          requestId,
          action: {
            $case: 'cancel',
            value: { userId, orderRef: { $case: 'clientOrderId', value: `burst-${i - 1}` } },
          },
        });
        expected.push([requestId, 'cancelled']); // the order placed just before
      } else if (i === 599) {
        call.write({ requestId });
        expected.push([requestId, 'error']); // neither place nor cancel
      } else {
        call.write({
          requestId,
          action: {
            $case: 'place',
            value: limit(userId, Side.SIDE_BUY, '1', '1', { clientOrderId: `burst-${i}` }),
          },
        });
        expected.push([requestId, 'placed']);
      }
    }
    call.end();
    await done;
    expect(answers.map((a) => [a.requestId, a.result?.$case])).toEqual(expected);
    const placedIds = answers.flatMap((a) =>
      a.result?.$case === 'placed' ? [Number(a.result.value.order?.orderId)] : [],
    );
    // Placed in request order, each answer its own order.
    expect(placedIds).toEqual([...placedIds].sort((x, y) => x - y));
    expect(new Set(placedIds).size).toBe(placedIds.length);
    const cancelled = answers.flatMap((a) =>
      a.result?.$case === 'cancelled' ? [a.result.value.order?.clientOrderId] : [],
    );
    expect(cancelled).toEqual(
      expected.flatMap(([, kind], i) => (kind === 'cancelled' ? [`burst-${i - 1}`] : [])),
    );
    const open = await api.getOpenOrders({ userId, market: '' });
    expect(open.orders).toHaveLength(placedIds.length - cancelled.length);
  });
});

describe('CancelOrder, CancelAllOrders, AmendOrder, GetOrder, GetOpenOrders', () => {
  it('cancels by id and client id; another user gets NOT_FOUND and the order stays', async () => {
    const userId = await funded({ USDC: '1000' });
    const other = await funded({});
    const a = await api.placeOrder(limit(userId, Side.SIDE_BUY, '10', '1'));
    await api.placeOrder(limit(userId, Side.SIDE_BUY, '11', '1', { clientOrderId: 'x1' }));
    const orderId = a.order?.orderId as string;
    expect(
      await failure(
        api.cancelOrder({ userId: other, orderRef: { $case: 'orderId', value: orderId } }),
      ),
    ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
    expect(
      await failure(
        api.getOrder({ userId: other, orderRef: { $case: 'orderId', value: orderId } }),
      ),
    ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
    expect(
      (await api.cancelOrder({ userId, orderRef: { $case: 'orderId', value: orderId } })).order
        ?.status,
    ).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    expect(
      (await api.cancelOrder({ userId, orderRef: { $case: 'clientOrderId', value: 'x1' } })).order
        ?.status,
    ).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    // A closed order stays visible to its owner for a while.
    expect(
      (await api.getOrder({ userId, orderRef: { $case: 'orderId', value: orderId } })).order
        ?.status,
    ).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    expect(await failure(api.cancelOrder({ userId, orderRef: undefined }))).toEqual({
      status: status.INVALID_ARGUMENT,
      code: 'INVALID_ORDER',
    });
  });

  it('cancels all in one market or everywhere', async () => {
    const userId = await funded({ USDC: '100000' });
    await api.placeOrder(limit(userId, Side.SIDE_BUY, '10', '1'));
    await api.placeOrder({ ...limit(userId, Side.SIDE_BUY, '10000', '0.001'), market: 'BTC_USDC' });
    expect(
      (await api.cancelAllOrders({ userId, market: 'SOL_USDC' })).orders.map((o) => o.market),
    ).toEqual(['SOL_USDC']);
    expect((await api.getOpenOrders({ userId })).orders.map((o) => o.market)).toEqual(['BTC_USDC']);
    expect((await api.cancelAllOrders({ userId })).orders).toHaveLength(1);
    expect(await failure(api.cancelAllOrders({ userId, market: 'NOPE' }))).toEqual({
      status: status.NOT_FOUND,
      code: 'UNKNOWN_MARKET',
    });
  });

  it('amends down and refuses an amend up', async () => {
    const userId = await funded({ SOL: '10' });
    const { order } = await api.placeOrder(limit(userId, Side.SIDE_SELL, '100', '3'));
    const orderId = order?.orderId as string;
    expect((await api.amendOrder({ userId, orderId, newQuantity: '1.5' })).order?.quantity).toBe(
      '1.5',
    );
    expect(await failure(api.amendOrder({ userId, orderId, newQuantity: '2' }))).toEqual({
      status: status.INVALID_ARGUMENT,
      code: 'INVALID_QUANTITY',
    });
    expect(await failure(api.amendOrder({ userId, orderId: '424242', newQuantity: '1' }))).toEqual({
      status: status.NOT_FOUND,
      code: 'ORDER_NOT_FOUND',
    });
    expect((await api.getOpenOrders({ userId, market: 'SOL_USDC' })).orders[0]).toMatchObject({
      orderId,
      quantity: '1.5',
    });
  });
});

/** A market to add at run time: `base` with the quote asset, the rest fixed. */
const marketSpec = (
  symbol: string,
  baseAsset: { symbol: string; decimals: number },
  quote: string,
  quoteDecimals: number,
) => ({
  symbol,
  baseAsset,
  quoteAsset: { symbol: quote, decimals: quoteDecimals },
  tickSize: '0.00001',
  lotSize: '1',
  minQuantity: '1',
  minNotional: '1',
  makerFee: '0.001',
  takerFee: '0.002',
});

describe('AddMarket, GetMarkets, GetDepth', () => {
  it('adds a market with a new asset, lists it, and refuses it twice', async () => {
    const market = marketSpec('DOGE_USDC', { symbol: 'DOGE', decimals: 8 }, 'USDC', 6);
    expect((await api.addMarket({ market })).market).toEqual(market);
    expect((await api.getMarkets({})).markets.map((m) => m.symbol)).toEqual([
      'BTC_USDC',
      'DOGE_USDC',
      'ETH_USDC',
      'SOL_USDC',
    ]);
    expect(await failure(api.addMarket({ market }))).toEqual({
      status: status.ALREADY_EXISTS,
      code: 'MARKET_EXISTS',
    });
    expect(
      await failure(
        api.addMarket({
          market: { ...market, symbol: 'DOGE_BTC', quoteAsset: { symbol: 'BTC', decimals: 2 } },
        }),
      ),
    ).toEqual({
      status: status.INVALID_ARGUMENT,
      code: 'INVALID_ASSET',
    });
  });

  it('adds markets that share a new asset when asked at the same time', async () => {
    const market = (symbol: string, quote: string, quoteDecimals: number, decimals = 9) =>
      marketSpec(symbol, { symbol: 'PEPE', decimals }, quote, quoteDecimals);
    // All three read the assets before any is applied unless they run one after another.
    const [usdc, btc, other] = await Promise.allSettled([
      api.addMarket({ market: market('PEPE_USDC', 'USDC', 6) }),
      api.addMarket({ market: market('PEPE_BTC', 'BTC', 8) }),
      api.addMarket({ market: market('PEPE_ETH', 'ETH', 18, 4) }),
    ]);
    expect(usdc.status === 'fulfilled' && usdc.value.market?.symbol).toBe('PEPE_USDC');
    expect(btc.status === 'fulfilled' && btc.value.market?.symbol).toBe('PEPE_BTC');
    // PEPE has 9 decimals by then: a market that says 4 is refused, and not added.
    expect(other.status).toBe('rejected');
    expect(await failure(Promise.reject((other as PromiseRejectedResult).reason))).toEqual({
      status: status.INVALID_ARGUMENT,
      code: 'INVALID_ASSET',
    });
    const symbols = (await api.getMarkets({})).markets.map((m) => m.symbol);
    expect(symbols).toEqual(expect.arrayContaining(['PEPE_USDC', 'PEPE_BTC']));
    expect(symbols).not.toContain('PEPE_ETH');
  });

  it('returns depth with its last update id, best first', async () => {
    const userId = await funded({ USDC: '10000', ETH: '10' });
    await api.placeOrder({ ...limit(userId, Side.SIDE_BUY, '2000', '1'), market: 'ETH_USDC' });
    await api.placeOrder({ ...limit(userId, Side.SIDE_BUY, '2001', '0.5'), market: 'ETH_USDC' });
    await api.placeOrder({ ...limit(userId, Side.SIDE_SELL, '2100', '2'), market: 'ETH_USDC' });
    const depth = await api.getDepth({ market: 'ETH_USDC', limit: 10 });
    expect(depth).toEqual({
      market: 'ETH_USDC',
      lastUpdateId: '3',
      bids: [
        { price: '2001', quantity: '0.5' },
        { price: '2000', quantity: '1' },
      ],
      asks: [{ price: '2100', quantity: '2' }],
    });
    expect(await failure(api.getDepth({ market: 'ETH_USDC', limit: 100_000 }))).toEqual({
      status: status.INVALID_ARGUMENT,
      code: 'INVALID_LIMIT',
    });
    expect(await failure(api.getDepth({ market: 'NOPE', limit: 1 }))).toEqual({
      status: status.NOT_FOUND,
      code: 'UNKNOWN_MARKET',
    });
  });

  it('carries the error code in metadata too', async () => {
    const err = await api.getDepth({ market: 'NOPE', limit: 1 }).catch((e: ServiceError) => e);
    expect((err as ServiceError).metadata).toBeInstanceOf(Metadata);
    expect((err as ServiceError).metadata.get('x-error-code')).toEqual(['UNKNOWN_MARKET']);
  });
});

describe('StreamMarketData', () => {
  it('streams the depth update and the trade of an order, with update ids', async () => {
    const seller = await funded({ ETH: '10' });
    const buyer = await funded({ USDC: '100000' });
    const call = api.raw.streamMarketData({
      markets: ['ETH_USDC'],
      channels: [
        MarketDataChannel.MARKET_DATA_CHANNEL_DEPTH,
        MarketDataChannel.MARKET_DATA_CHANNEL_TRADE,
      ],
    });
    const seen: StreamMarketDataResponse[] = [];
    const gotTrade = new Promise<void>((resolve) =>
      call.on('data', (m: StreamMarketDataResponse) => {
        seen.push(m);
        if (m.event?.$case === 'trade') resolve();
      }),
    );
    call.on('error', () => undefined);
    // The subscription is live once the server has subscribed; wait for it through a depth update.
    const before = Number((await api.getDepth({ market: 'ETH_USDC', limit: 1 })).lastUpdateId);
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      await api.placeOrder({
        ...limit(seller, Side.SIDE_SELL, String(3000 + i), '0.1'),
        market: 'ETH_USDC',
      });
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.placeOrder({ ...limit(buyer, Side.SIDE_BUY, '4000', '0.1'), market: 'ETH_USDC' });
    await gotTrade;
    call.cancel();
    const trade = seen.find((m) => m.event?.$case === 'trade')?.event;
    expect(trade?.$case === 'trade' && trade.value).toMatchObject({
      market: 'ETH_USDC',
      price: '3000',
      quantity: '0.1',
      takerSide: Side.SIDE_BUY,
    });
    const depth = seen
      .filter((m) => m.event?.$case === 'depth')
      .map((m) => (m.event?.$case === 'depth' ? m.event.value : undefined));
    expect(Number(depth[0]?.firstUpdateId)).toBeGreaterThan(before);
    for (let i = 1; i < depth.length; i++)
      expect(Number(depth[i]?.firstUpdateId)).toBe(Number(depth[i - 1]?.lastUpdateId) + 1);
  });

  it('refuses an unknown market', async () => {
    const call = api.raw.streamMarketData({ markets: ['NOPE'], channels: [] });
    const err = await new Promise<ServiceError>((resolve) => {
      call.on('error', resolve);
      call.on('data', () => undefined);
    });
    expect(err.code).toBe(status.NOT_FOUND);
  });
});
