/**
 * The REST API through the gateway against the real engine, history, Redis and Postgres (own
 * key prefix and schema): every route, its happy path and its refusals, and that a refusal
 * changes nothing.
 */
import { Redis } from 'ioredis';
import { ROUTES } from '../../gateway/routes';
import {
  BalanceSchema,
  DepthSchema,
  FillSchema,
  KlineSchema,
  MarketSchema,
  OrderSchema,
  TickerSchema,
  TradeSchema,
} from '../../gateway/schemas';
import { startGateway } from '../../gateway/server';
import { gatewayConfigSchema } from '../../services/lib/config';
import { createLogger } from '../../services/lib/logger';
import { redisKeys } from '../../services/lib/redis-keys';
import { startGatewayStack, type GatewayStack } from '../support/gateway-stack';
import { TEST_REDIS_URL } from '../support/stack';

let s: GatewayStack;

beforeAll(async () => {
  s = await startGatewayStack('gateway', { RATE_LIMIT_NEW_USER_PER_MIN: '100000' });
});

afterAll(async () => {
  await s?.stop();
});

/** Polls until `read` returns something `done` accepts (the history is written asynchronously). */
async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const until = Date.now() + 15_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`condition not met: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Balances = Record<string, { available: string; locked: string }>;

async function balances(key: string): Promise<Balances> {
  const res = await s.call('GET', '/api/v1/user', { key });
  expect(res.status).toBe(200);
  const out: Balances = {};
  for (const b of res.body.balances as { asset: string; available: string; locked: string }[]) {
    out[b.asset] = { available: b.available, locked: b.locked };
  }
  return out;
}

function limit(side: 'buy' | 'sell', price: string, quantity: string, extra = {}) {
  return { market: 'SOL_USDC', side, type: 'limit', price, quantity, ...extra };
}

function expectError(res: { status: number; body: unknown }, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: { error: { code, message: expect.any(String) } },
  });
}

describe('public routes', () => {
  it('reports health with every dependency', async () => {
    const res = await s.call('GET', '/api/v1/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      checks: { engine: 'ok', history: 'ok', redis: 'ok', postgres: 'ok' },
    });
  });

  it('lists the markets with their rules', async () => {
    const res = await s.call('GET', '/api/v1/markets');
    expect(res.status).toBe(200);
    const sol = res.body.find((m: { symbol: string }) => m.symbol === 'SOL_USDC');
    expect(MarketSchema.parse(sol)).toEqual({
      symbol: 'SOL_USDC',
      baseAsset: 'SOL',
      quoteAsset: 'USDC',
      baseDecimals: 9,
      quoteDecimals: 6,
      tickSize: '0.01',
      lotSize: '0.01',
      minQuantity: '0.01',
      minNotional: '1',
      makerFee: '0.001',
      takerFee: '0.002',
    });
    expect(res.body.map((m: { symbol: string }) => m.symbol).sort()).toEqual([
      'BTC_USDC',
      'ETH_USDC',
      'SOL_USDC',
    ]);
  });

  it('serves depth, and refuses an unknown market or a bad limit', async () => {
    const res = await s.call('GET', '/api/v1/depth?market=ETH_USDC&limit=5');
    expect(res.status).toBe(200);
    expect(DepthSchema.parse(res.body)).toMatchObject({ market: 'ETH_USDC', bids: [], asks: [] });
    expectError(await s.call('GET', '/api/v1/depth?market=DOGE_USDC'), 400, 'UNKNOWN_MARKET');
    expectError(await s.call('GET', '/api/v1/depth?market=sol'), 400, 'INVALID_MARKET');
    expectError(await s.call('GET', '/api/v1/depth'), 400, 'INVALID_MARKET');
    expectError(
      await s.call('GET', '/api/v1/depth?market=SOL_USDC&limit=0'),
      400,
      'INVALID_REQUEST',
    );
    expectError(
      await s.call('GET', '/api/v1/depth?market=SOL_USDC&limit=1e2'),
      400,
      'INVALID_REQUEST',
    );
    expectError(
      await s.call('GET', '/api/v1/depth?market=SOL_USDC&extra=1'),
      400,
      'INVALID_REQUEST',
    );
  });

  it('answers unknown routes, malformed JSON and oversized bodies in the error shape', async () => {
    expectError(await s.call('GET', '/api/v1/nope'), 404, 'NOT_FOUND');
    expectError(await s.call('PUT', '/api/v1/order'), 404, 'NOT_FOUND');
    const { key } = await s.user();
    expectError(
      await s.call('POST', '/api/v1/order', { key, raw: '{"market": "SOL_USDC",' }),
      400,
      'MALFORMED_JSON',
    );
    expectError(
      await s.call('POST', '/api/v1/order', {
        key,
        raw: JSON.stringify({ pad: 'x'.repeat(70_000) }),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('serves openapi.json describing every route, and a docs page', async () => {
    const res = await s.call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const r of ROUTES) {
      const op = res.body.paths[`/api/v1${r.path}`]?.[r.method];
      expect({ route: `${r.method} ${r.path}`, summary: op?.summary }).toEqual({
        route: `${r.method} ${r.path}`,
        summary: r.summary,
      });
      expect(op.responses[String(r.status ?? 200)]).toBeDefined();
      expect(op.security !== undefined).toBe(r.auth);
    }
    const create = res.body.paths['/api/v1/order'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['market', 'side', 'type']);
    expect(body.properties.price.pattern).toBeDefined();
    expect(res.body.components.schemas.Order.properties.status.enum).toContain('partially_filled');
    const docs = await s.call('GET', '/api/v1/docs');
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('/api/v1/order/open');
  });
});

describe('users and funds', () => {
  it('creates a user whose key is shown once and never stored in plain', async () => {
    const res = await s.call('POST', '/api/v1/user/new');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      userId: expect.stringMatching(/^\d+$/),
      apiKey: expect.any(String),
    });
    const me = await s.call('GET', '/api/v1/user', { key: res.body.apiKey });
    expect(me.body.userId).toBe(res.body.userId);
    // The command journal (what the engine keeps) holds the key's hash, not the key.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const entries = await redis.xrange(redisKeys(s.iso.prefix).commands, '-', '+');
      expect(JSON.stringify(entries)).not.toContain(res.body.apiKey);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses private routes without a key or with a wrong one', async () => {
    expectError(await s.call('GET', '/api/v1/user'), 401, 'UNAUTHENTICATED');
    expectError(await s.call('GET', '/api/v1/user', { key: 'ek_nope' }), 401, 'UNAUTHENTICATED');
    expectError(
      await s.call('GET', '/api/v1/user', { headers: { authorization: 'Basic abc' } }),
      401,
      'UNAUTHENTICATED',
    );
    expectError(
      await s.call('POST', '/api/v1/order', { body: limit('buy', '1', '1') }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('deposits and withdraws, once per idempotency key', async () => {
    const { key } = await s.user();
    const headers = { 'idempotency-key': 'dep-1' };
    const first = await s.call('POST', '/api/v1/user/deposit', {
      key,
      headers,
      body: { asset: 'USDC', amount: '100.5' },
    });
    expect(first.status).toBe(200);
    expect(BalanceSchema.parse(first.body)).toEqual({
      asset: 'USDC',
      available: '100.5',
      locked: '0',
    });
    const again = await s.call('POST', '/api/v1/user/deposit', {
      key,
      headers,
      body: { asset: 'USDC', amount: '100.5' },
    });
    expect(again.body).toEqual(first.body);
    const out = await s.call('POST', '/api/v1/user/withdraw', {
      key,
      body: { asset: 'USDC', amount: '0.5' },
    });
    expect(out.body).toEqual({ asset: 'USDC', available: '100', locked: '0' });
    expect((await balances(key)).USDC).toEqual({ available: '100', locked: '0' });
  });

  it('refuses to withdraw more than available and changes nothing', async () => {
    const { key } = await s.user({ USDC: '50' });
    await s.call('POST', '/api/v1/order', { key, body: limit('buy', '10', '2') });
    const before = await balances(key);
    expect(before.USDC).toEqual({ available: '30', locked: '20' });
    expectError(
      await s.call('POST', '/api/v1/user/withdraw', {
        key,
        body: { asset: 'USDC', amount: '30.000001' },
      }),
      400,
      'INSUFFICIENT_BALANCE',
    );
    expect(await balances(key)).toEqual(before);
  });

  it.each([
    ['negative', '-1', 'INVALID_AMOUNT'],
    ['zero', '0', 'INVALID_AMOUNT'],
    ['zero with decimals', '0.000', 'INVALID_AMOUNT'],
    ['exponent', '1e3', 'INVALID_AMOUNT'],
    ['NaN', 'NaN', 'INVALID_AMOUNT'],
    ['Infinity', 'Infinity', 'INVALID_AMOUNT'],
    ['a number, not a string', 5, 'INVALID_AMOUNT'],
    ['spaces', ' 1', 'INVALID_AMOUNT'],
    ['too many decimals for USDC', '1.0000001', 'INVALID_AMOUNT'],
  ])('refuses a %s amount and changes nothing', async (_what, amount, code) => {
    const { key } = await s.user({ USDC: '10' });
    const before = await balances(key);
    for (const path of ['/api/v1/user/deposit', '/api/v1/user/withdraw']) {
      expectError(await s.call('POST', path, { key, body: { asset: 'USDC', amount } }), 400, code);
    }
    expect(await balances(key)).toEqual(before);
  });

  it('refuses an unknown asset and unknown fields', async () => {
    const { key } = await s.user();
    expectError(
      await s.call('POST', '/api/v1/user/deposit', { key, body: { asset: 'DOGE', amount: '1' } }),
      400,
      'UNKNOWN_ASSET',
    );
    expectError(
      await s.call('POST', '/api/v1/user/deposit', {
        key,
        body: { asset: 'USDC', amount: '1', userId: '1' },
      }),
      400,
      'INVALID_REQUEST',
    );
    expect((await balances(key)).USDC).toEqual({ available: '0', locked: '0' });
  });
});

describe('orders', () => {
  it.each([
    ['negative price', { price: '-1' }, 'INVALID_PRICE'],
    ['zero price', { price: '0' }, 'INVALID_PRICE'],
    ['exponent price', { price: '1e3' }, 'INVALID_PRICE'],
    ['NaN price', { price: 'NaN' }, 'INVALID_PRICE'],
    ['price off the tick', { price: '10.001' }, 'INVALID_PRICE'],
    ['price with too many decimals', { price: '10.0000001' }, 'INVALID_PRICE'],
    ['zero quantity', { quantity: '0' }, 'INVALID_QUANTITY'],
    ['negative quantity', { quantity: '-2' }, 'INVALID_QUANTITY'],
    ['quantity off the lot', { quantity: '1.005' }, 'INVALID_QUANTITY'],
    ['exponent quantity', { quantity: '1E1' }, 'INVALID_QUANTITY'],
    ['notional under the minimum', { price: '0.5', quantity: '1' }, 'MIN_NOTIONAL'],
    ['bad side', { side: 'BUY' }, 'INVALID_REQUEST'],
    ['bad time in force', { timeInForce: 'GTD' }, 'INVALID_REQUEST'],
    ['unknown market', { market: 'DOGE_USDC' }, 'UNKNOWN_MARKET'],
    ['market order with a price', { type: 'market' }, 'INVALID_ORDER'],
    ['more than the balance', { quantity: '1000' }, 'INSUFFICIENT_BALANCE'],
  ])('refuses an order with %s and changes nothing', async (_what, change, code) => {
    const { key } = await s.user({ USDC: '1000' });
    const before = await balances(key);
    const res = await s.call('POST', '/api/v1/order', {
      key,
      body: { ...limit('buy', '10', '1'), ...change },
    });
    expectError(res, 400, code);
    expect(await balances(key)).toEqual(before);
    expect((await s.call('GET', '/api/v1/order/open', { key })).body).toEqual([]);
  });

  it('places, reads, lists, amends and cancels an order', async () => {
    const { key } = await s.user({ USDC: '1000' });
    const placed = await s.call('POST', '/api/v1/order', {
      key,
      body: limit('buy', '20', '5', { clientOrderId: 'my-1' }),
    });
    expect(placed.status).toBe(201);
    const order = OrderSchema.parse(placed.body.order);
    expect(order).toMatchObject({
      clientOrderId: 'my-1',
      side: 'buy',
      type: 'limit',
      timeInForce: 'GTC',
      price: '20',
      quantity: '5',
      filledQuantity: '0',
      status: 'new',
    });
    expect(placed.body.fills).toEqual([]);
    expect((await balances(key)).USDC).toEqual({ available: '900', locked: '100' });

    const byId = await s.call('GET', `/api/v1/order?orderId=${order.orderId}`, { key });
    expect(byId.body).toEqual(order);
    const byCid = await s.call('GET', '/api/v1/order?clientOrderId=my-1', { key });
    expect(byCid.body).toEqual(order);
    expectError(await s.call('GET', '/api/v1/order', { key }), 400, 'INVALID_REQUEST');

    // A repeat of an open order's clientOrderId answers that order.
    const repeat = await s.call('POST', '/api/v1/order', {
      key,
      body: limit('buy', '20', '5', { clientOrderId: 'my-1' }),
    });
    expect(repeat.body.order.orderId).toBe(order.orderId);

    const open = await s.call('GET', '/api/v1/order/open?market=SOL_USDC', { key });
    expect(open.body.map((o: { orderId: string }) => o.orderId)).toEqual([order.orderId]);
    expect((await s.call('GET', '/api/v1/order/open?market=BTC_USDC', { key })).body).toEqual([]);

    const amended = await s.call('PATCH', '/api/v1/order', {
      key,
      body: { orderId: order.orderId, quantity: '2' },
    });
    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({ orderId: order.orderId, quantity: '2' });
    expect((await balances(key)).USDC).toEqual({ available: '960', locked: '40' });
    expectError(
      await s.call('PATCH', '/api/v1/order', {
        key,
        body: { orderId: order.orderId, quantity: '3' },
      }),
      400,
      'INVALID_QUANTITY',
    );

    const cancelled = await s.call('DELETE', `/api/v1/order?orderId=${order.orderId}`, { key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ orderId: order.orderId, status: 'cancelled' });
    expect((await balances(key)).USDC).toEqual({ available: '1000', locked: '0' });
    expectError(
      await s.call('DELETE', `/api/v1/order?orderId=${order.orderId}`, { key }),
      404,
      'ORDER_NOT_FOUND',
    );
    // Closed, it is still readable.
    const closed = await s.call('GET', `/api/v1/order?orderId=${order.orderId}`, { key });
    expect(closed.body.status).toBe('cancelled');
    // By its clientOrderId too (what a client checks when a placement's outcome is unknown).
    const closedByCid = await s.call('GET', '/api/v1/order?clientOrderId=my-1', { key });
    expect(closedByCid.body).toMatchObject({ orderId: order.orderId, status: 'cancelled' });
  });

  it('cancels by JSON body and cancels all, per market or everywhere', async () => {
    const { key } = await s.user({ USDC: '10000' });
    const place = async (market: string, price: string) =>
      (
        await s.call('POST', '/api/v1/order', {
          key,
          body: { ...limit('buy', price, '1'), market },
        })
      ).body.order.orderId as string;
    const a = await place('SOL_USDC', '10');
    await place('SOL_USDC', '11');
    await place('BTC_USDC', '12');
    await place('ETH_USDC', '13');
    const one = await s.call('DELETE', '/api/v1/order', { key, body: { orderId: a } });
    expect(one.body).toMatchObject({ orderId: a, status: 'cancelled' });
    const sol = await s.call('DELETE', '/api/v1/orders?market=SOL_USDC', { key });
    expect(sol.body.map((o: { market: string }) => o.market)).toEqual(['SOL_USDC']);
    const rest = await s.call('DELETE', '/api/v1/orders', { key });
    expect(rest.body.map((o: { market: string }) => o.market).sort()).toEqual([
      'BTC_USDC',
      'ETH_USDC',
    ]);
    expect((await s.call('GET', '/api/v1/order/open', { key })).body).toEqual([]);
    expect((await balances(key)).USDC).toEqual({ available: '10000', locked: '0' });
    expectError(
      await s.call('DELETE', '/api/v1/order?orderId=1', { key, body: { orderId: '1' } }),
      400,
      'INVALID_REQUEST',
    );
  });

  it('unlocks the difference when a buy fills below its limit price', async () => {
    const seller = await s.user({ SOL: '10' });
    const buyer = await s.user({ USDC: '1000' });
    await s.call('POST', '/api/v1/order', { key: seller.key, body: limit('sell', '90', '2') });
    const res = await s.call('POST', '/api/v1/order', {
      key: buyer.key,
      body: limit('buy', '100', '2'),
    });
    expect(res.status).toBe(201);
    expect(res.body.order).toMatchObject({ status: 'filled', filledQuoteQuantity: '180' });
    expect(res.body.fills.map((f: unknown) => FillSchema.parse(f))).toEqual([
      expect.objectContaining({
        price: '90',
        quantity: '2',
        fee: '0.004',
        feeAsset: 'SOL',
        liquidity: 'taker',
      }),
    ]);
    // Locked 200 at the limit price; spent 180 at the maker's price; nothing stays locked.
    expect((await balances(buyer.key)).USDC).toEqual({ available: '820', locked: '0' });
    expect((await balances(buyer.key)).SOL).toEqual({ available: '1.996', locked: '0' });
    expect((await balances(seller.key)).USDC).toEqual({ available: '179.82', locked: '0' });
  });

  it("never shows or touches another user's order", async () => {
    const owner = await s.user({ USDC: '100' });
    const other = await s.user({ USDC: '100' });
    const placed = await s.call('POST', '/api/v1/order', {
      key: owner.key,
      body: limit('buy', '5', '1', { clientOrderId: 'mine' }),
    });
    const id = placed.body.order.orderId as string;
    expectError(
      await s.call('GET', `/api/v1/order?orderId=${id}`, { key: other.key }),
      404,
      'ORDER_NOT_FOUND',
    );
    expectError(
      await s.call('GET', '/api/v1/order?clientOrderId=mine', { key: other.key }),
      404,
      'ORDER_NOT_FOUND',
    );
    expectError(
      await s.call('DELETE', `/api/v1/order?orderId=${id}`, { key: other.key }),
      404,
      'ORDER_NOT_FOUND',
    );
    expectError(
      await s.call('PATCH', '/api/v1/order', {
        key: other.key,
        body: { orderId: id, quantity: '0.5' },
      }),
      404,
      'ORDER_NOT_FOUND',
    );
    expect((await s.call('DELETE', '/api/v1/orders', { key: other.key })).body).toEqual([]);
    expect((await s.call('GET', '/api/v1/order/open', { key: other.key })).body).toEqual([]);
    const mine = await s.call('GET', `/api/v1/order?orderId=${id}`, { key: owner.key });
    expect(mine.body).toMatchObject({ orderId: id, status: 'new', quantity: '1' });
    expect((await balances(owner.key)).USDC).toEqual({ available: '95', locked: '5' });
  });

  it('refuses post-only that would take and FOK that cannot fill, changing nothing', async () => {
    const maker = await s.user({ SOL: '5' });
    const taker = await s.user({ USDC: '1000' });
    await s.call('POST', '/api/v1/order', {
      key: maker.key,
      body: { ...limit('sell', '50', '1'), market: 'SOL_USDC' },
    });
    const before = await balances(taker.key);
    expectError(
      await s.call('POST', '/api/v1/order', {
        key: taker.key,
        body: limit('buy', '50', '1', { postOnly: true }),
      }),
      400,
      'WOULD_TAKE',
    );
    expectError(
      await s.call('POST', '/api/v1/order', {
        key: taker.key,
        body: limit('buy', '50', '2', { timeInForce: 'FOK' }),
      }),
      400,
      'FOK_NOT_FILLABLE',
    );
    expect(await balances(taker.key)).toEqual(before);
    // A market buy by quote amount spends at most that amount.
    const mkt = await s.call('POST', '/api/v1/order', {
      key: taker.key,
      body: { market: 'SOL_USDC', side: 'buy', type: 'market', quoteQuantity: '25' },
    });
    expect(mkt.status).toBe(201);
    expect(mkt.body.order).toMatchObject({
      type: 'market',
      filledQuantity: '0.5',
      filledQuoteQuantity: '25',
    });
    await s.call('DELETE', '/api/v1/orders', { key: maker.key });
  });

  it('serves order history, fills, trades, tickers and klines once persisted', async () => {
    const seller = await s.user({ BTC: '1' });
    const buyer = await s.user({ USDC: '100000' });
    await s.call('POST', '/api/v1/order', {
      key: seller.key,
      body: { market: 'BTC_USDC', side: 'sell', type: 'limit', price: '60000', quantity: '0.1' },
    });
    const taken = await s.call('POST', '/api/v1/order', {
      key: buyer.key,
      body: { market: 'BTC_USDC', side: 'buy', type: 'market', quantity: '0.1' },
    });
    expect(taken.body.order.status).toBe('filled');

    const history = await eventually(
      () => s.call('GET', '/api/v1/user/order?market=BTC_USDC&limit=10', { key: buyer.key }),
      (r) => r.body.orders?.length === 1,
    );
    expect(OrderSchema.parse(history.body.orders[0])).toMatchObject({
      orderId: taken.body.order.orderId,
      status: 'filled',
    });
    expect(history.body.nextCursor).toBeNull();
    const fills = await eventually(
      () => s.call('GET', '/api/v1/user/trades', { key: seller.key }),
      (r) => r.body.fills?.length === 1,
    );
    expect(FillSchema.parse(fills.body.fills[0])).toMatchObject({
      price: '60000',
      quantity: '0.1',
      liquidity: 'maker',
      fee: '6',
      feeAsset: 'USDC',
    });
    const trades = await s.call('GET', '/api/v1/trades?market=BTC_USDC&limit=5');
    expect(trades.body.map((t: unknown) => TradeSchema.parse(t))).toEqual([
      expect.objectContaining({ price: '60000', quantity: '0.1', takerSide: 'buy' }),
    ]);
    const ticker = await s.call('GET', '/api/v1/ticker?market=BTC_USDC');
    expect(TickerSchema.parse(ticker.body)).toMatchObject({ last: '60000', trades: 1 });
    const tickers = await s.call('GET', '/api/v1/tickers');
    expect(tickers.body.map((t: { market: string }) => t.market).sort()).toEqual([
      'BTC_USDC',
      'ETH_USDC',
      'SOL_USDC',
    ]);
    const now = Date.now();
    const klines = await s.call(
      'GET',
      `/api/v1/klines?market=BTC_USDC&interval=1m&startTime=${now - 3_600_000}&endTime=${now}`,
    );
    expect(klines.body.map((k: unknown) => KlineSchema.parse(k))).toEqual([
      expect.objectContaining({ open: '60000', close: '60000', volume: '0.1', trades: 1 }),
    ]);
    expectError(
      await s.call('GET', '/api/v1/klines?market=BTC_USDC&interval=7m'),
      400,
      'INVALID_REQUEST',
    );
    expectError(
      await s.call('GET', '/api/v1/klines?market=BTC_USDC&interval=1m&startTime=-5'),
      400,
      'INVALID_REQUEST',
    );
    // Another user's history is not visible.
    const stranger = await s.user();
    const none = await s.call('GET', '/api/v1/user/order', { key: stranger.key });
    expect(none.body).toEqual({ orders: [], nextCursor: null });
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-key and per-IP budgets', async () => {
    const tight = await startGatewayOnly({
      RATE_LIMIT_PER_SEC: '2',
      RATE_LIMIT_NEW_USER_PER_MIN: '3',
    });
    try {
      const statuses: number[] = [];
      let key = '';
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${tight.url}/api/v1/user/new`, { method: 'POST' });
        statuses.push(res.status);
        if (res.status === 201) key = ((await res.json()) as { apiKey: string }).apiKey;
        else {
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(await res.json()).toEqual({
            error: { code: 'RATE_LIMITED', message: expect.any(String) },
          });
        }
      }
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
      const keyed: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${tight.url}/api/v1/user`, {
          headers: { authorization: `Bearer ${key}` },
        });
        keyed.push(res.status);
      }
      expect(keyed.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(keyed).toContain(429);
    } finally {
      await tight.stop();
    }
  });
});

/** A second gateway on the same engine and history, with its own settings. */
async function startGatewayOnly(env: Record<string, string>) {
  const g = await startGateway(
    gatewayConfigSchema.parse({
      ...s.iso.env,
      REDIS_PREFIX: `${s.iso.prefix}tight:`,
      HOST: '127.0.0.1',
      PORT: '0',
      ENGINE_ADDR: `127.0.0.1:${s.engine.port}`,
      HISTORY_ADDR: `127.0.0.1:${s.history.port}`,
      ...env,
    }),
    createLogger('gateway-test', 'silent'),
  );
  return { url: `http://127.0.0.1:${g.port}`, stop: () => g.stop() };
}
