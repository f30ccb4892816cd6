/**
 * The History service against a real engine, Redis and Postgres (own key prefix and schema):
 * every HistoryService RPC after a burst of trading (and its refusals), exactly-once persistence
 * under redelivery, rollback and restart, candles that equal a rebuild from the trades, and
 * live candles on the kline channels.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { status, type ServiceError } from '@grpc/grpc-js';
import Decimal from 'decimal.js';
import { Redis } from 'ioredis';
import { Liquidity, OrderStatus, OrderType, Side, TimeInForce } from '../../gen/exchange/v1/common';
import { HistoryServiceClient } from '../../gen/exchange/v1/history';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { candleDifferences } from '../../services/history/candles';
import { startHistory, type HistoryHandle } from '../../services/history/history-server';
import { bucketEnd, bucketStart, INTERVALS, type Interval } from '../../services/history/intervals';
import type { KlineUpdate } from '../../services/history/kline-publisher';
import type { PersisterOptions } from '../../services/history/persister';
import { historyConfigSchema } from '../../services/lib/config';
import pino from 'pino';
import { createLogger } from '../../services/lib/logger';
import { redisKeys } from '../../services/lib/redis-keys';
import { engineClient, type EngineApi } from '../support/engine-client';
import { engineConfig, isolate, TEST_REDIS_URL, type Isolation } from '../support/stack';
import { failure, funded, limitOrder } from '../support/fixtures';
import { prng } from '../support/prng';

const log = createLogger('history-test', 'silent');

interface Stack {
  iso: Isolation;
  engine: EngineHandle;
  history: HistoryHandle;
  api: EngineApi;
  client: HistoryServiceClient;
}

function historyConfig(iso: Isolation) {
  return historyConfigSchema.parse({ ...iso.env, HISTORY_HOST: '127.0.0.1', HISTORY_PORT: '0' });
}

async function startStack(name: string, options: PersisterOptions = {}): Promise<Stack> {
  const iso = isolate(name);
  const engine = await startEngine(engineConfig(iso), log);
  const history = await startHistory(historyConfig(iso), log, options);
  const api = engineClient(`127.0.0.1:${engine.port}`);
  const client = new HistoryServiceClient(
    `127.0.0.1:${history.port}`,
    grpc.credentials.createInsecure(),
  );
  return { iso, engine, history, api, client };
}

async function stopStack(s: Stack): Promise<void> {
  s.client.close();
  s.api.close();
  await s.history.stop();
  await s.engine.stop();
  await s.iso.cleanup();
}

/** Calls a HistoryService method as a promise. */
function rpc<Req, Res>(
  client: HistoryServiceClient,
  method: (
    req: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => grpc.ClientUnaryCall,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/**
 * Waits until the persister has written everything the engine has acknowledged so far: a final
 * command makes sure every earlier batch's events are queued to the stream, then the lag is
 * polled (event loop turns, not sleeps, decide; the deadline only bounds a failure).
 */
async function caughtUp(s: Stack): Promise<void> {
  await s.api.createUser({});
  const target = s.engine.loop.position.eventSeq;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lag = await s.history.persister.lag();
    if (lag.caughtUp && lag.persistedSeq >= target) return;
    if (Date.now() > deadline)
      throw new Error(`persister did not catch up: ${JSON.stringify(lag)}`);
    await new Promise((r) => setImmediate(r));
  }
}

const order = limitOrder;

function idOf(res: { order?: { orderId: string } }): string {
  if (res.order === undefined) throw new Error('no order in the response');
  return res.order.orderId;
}

/**
 * Per user and asset, the ledger's rows other than lock and unlock must sum to the engine's
 * available + locked, and its lock and unlock rows to the engine's locked.
 */
async function expectLedgerMatchesEngine(s: Stack, users: readonly string[]): Promise<void> {
  const sums = await s.history.db.query<{
    user_id: string;
    asset: string;
    total: string;
    locked: string;
  }>(
    `SELECT user_id::text, asset,
            trim_scale(coalesce(sum(amount) FILTER (WHERE kind NOT IN ('lock', 'unlock')), 0))::text
              AS total,
            trim_scale(coalesce(sum(amount) FILTER (WHERE kind IN ('lock', 'unlock')), 0))::text
              AS locked
     FROM ledger GROUP BY user_id, asset`,
  );
  const ledger = new Map(sums.rows.map((r) => [`${r.user_id}/${r.asset}`, r]));
  let checked = 0;
  for (const userId of users) {
    const { balances } = await s.api.getBalances({ userId });
    for (const b of balances) {
      const total = (Number(b.available) + Number(b.locked)).toFixed(9).replace(/\.?0+$/, '');
      const row = ledger.get(`${userId}/${b.asset}`);
      expect([userId, b.asset, row?.total ?? '0', row?.locked ?? '0']).toEqual([
        userId,
        b.asset,
        total,
        b.locked,
      ]);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
}

/**
 * Every lock and unlock row names its order, and per order they net to what the engine says the
 * order still holds: nothing for a closed order, the rest for an open one.
 */
async function expectLocksPerOrder(s: Stack, users: readonly string[]): Promise<void> {
  const rows = await s.history.db.query<{ order_id: string | null; net: string }>(
    `SELECT order_id::text, trim_scale(sum(amount))::text AS net
     FROM ledger WHERE kind IN ('lock', 'unlock') GROUP BY order_id`,
  );
  const net = new Map(rows.rows.map((r) => [r.order_id, r.net]));
  expect(net.has(null)).toBe(false);
  // What an open SOL_USDC order holds: a buy notional(limit, remaining) in USDC (6 decimals,
  // rounded down), a sell its remaining SOL.
  const open = new Map<string, string>();
  for (const userId of users) {
    for (const o of (await s.api.getOpenOrders({ userId })).orders) {
      const remaining = new Decimal(o.quantity ?? '0').minus(o.filledQuantity);
      const held =
        o.side === Side.SIDE_BUY
          ? remaining.times(o.price ?? '0').toDecimalPlaces(6, Decimal.ROUND_DOWN)
          : remaining;
      open.set(o.orderId, held.toString());
    }
  }
  for (const [orderId, amount] of net) {
    expect([orderId, amount]).toEqual([orderId, open.get(orderId as string) ?? '0']);
  }
  for (const [orderId, locked] of open) {
    expect([orderId, net.get(orderId) ?? '0']).toEqual([orderId, locked]);
  }
}

async function expectOneRowEach(s: Stack): Promise<void> {
  const db = s.history.db;
  const dupTrades = await db.query(
    'SELECT market, trade_id FROM trades GROUP BY 1, 2 HAVING count(*) > 1',
  );
  expect(dupTrades.rows).toEqual([]);
  expect(await candleDifferences(db.pool)).toEqual([]);
}

describe('HistoryService after a burst of trading', () => {
  let s: Stack;
  let maker: string;
  let taker: string;
  let sellIds: string[];
  let cancelledId: string;

  beforeAll(async () => {
    s = await startStack('history');
    maker = await funded(s.api, { USDC: '10000', SOL: '100' });
    taker = await funded(s.api, { USDC: '10000', SOL: '100' });
    const a = await s.api.placeOrder(order(maker, Side.SIDE_SELL, '100', '1'));
    const b = await s.api.placeOrder(order(maker, Side.SIDE_SELL, '101', '2'));
    sellIds = [idOf(a), idOf(b)];
    await s.api.placeOrder(order(taker, Side.SIDE_BUY, '101', '2'));
    const c = await s.api.placeOrder(order(maker, Side.SIDE_BUY, '90', '1'));
    cancelledId = idOf(c);
    await s.api.cancelOrder({
      userId: maker,
      orderRef: { $case: 'orderId', value: cancelledId },
    });
    await s.api.placeOrder(
      order(taker, Side.SIDE_SELL, '95', '1', {
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
        clientOrderId: 'ioc_1.a:b-c',
      }),
    );
    await caughtUp(s);
  });

  afterAll(async () => {
    await stopStack(s);
  });

  describe('GetMarketTrades', () => {
    it('returns the trades newest first', async () => {
      const { trades } = await rpc(s.client, s.client.getMarketTrades, {
        market: 'SOL_USDC',
        limit: 0,
      });
      expect(trades.map((t) => [t.tradeId, t.price, t.quantity, t.quoteQuantity])).toEqual([
        ['2', '101', '1', '101'],
        ['1', '100', '1', '100'],
      ]);
      expect(trades.every((t) => t.takerSide === Side.SIDE_BUY)).toBe(true);
    });

    it('rejects an unknown market and a limit out of range', async () => {
      expect(
        await failure(rpc(s.client, s.client.getMarketTrades, { market: 'NOPE_USDC', limit: 0 })),
      ).toEqual({ status: status.NOT_FOUND, code: 'UNKNOWN_MARKET' });
      expect(
        await failure(rpc(s.client, s.client.getMarketTrades, { market: 'SOL_USDC', limit: 1001 })),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_LIMIT' });
    });
  });

  describe('GetOrder', () => {
    it('returns an order in its latest state with its fills', async () => {
      const res = await rpc(s.client, s.client.getOrder, {
        userId: maker,
        orderId: sellIds[1],
        clientOrderId: '',
      });
      expect(res.order).toMatchObject({
        orderId: sellIds[1],
        userId: maker,
        side: Side.SIDE_SELL,
        type: OrderType.ORDER_TYPE_LIMIT,
        timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
        price: '101',
        quantity: '2',
        filledQuantity: '1',
        filledQuoteQuantity: '101',
        status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
      });
      expect(res.fills).toEqual([
        expect.objectContaining({
          tradeId: '2',
          price: '101',
          quantity: '1',
          fee: '0.101',
          feeAsset: 'USDC',
          liquidity: Liquidity.LIQUIDITY_MAKER,
          side: Side.SIDE_SELL,
        }),
      ]);
      const cancelled = await rpc(s.client, s.client.getOrder, {
        userId: maker,
        orderId: cancelledId,
        clientOrderId: '',
      });
      expect(cancelled.order?.status).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    });

    it("answers NOT_FOUND for a missing order and for another user's order", async () => {
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, { userId: maker, orderId: '99999', clientOrderId: '' }),
        ),
      ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, {
            userId: taker,
            orderId: sellIds[0],
            clientOrderId: '',
          }),
        ),
      ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, { userId: maker, orderId: 'x', clientOrderId: '' }),
        ),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_ORDER_ID' });
    });

    it('finds the newest order placed with a client order id, and refuses both ids at once', async () => {
      const res = await rpc(s.client, s.client.getOrder, {
        userId: taker,
        orderId: '',
        clientOrderId: 'ioc_1.a:b-c',
      });
      expect(res.order).toMatchObject({
        clientOrderId: 'ioc_1.a:b-c',
        userId: taker,
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
        status: OrderStatus.ORDER_STATUS_EXPIRED, // nothing to sell into
      });
      expect(res.fills).toEqual([]);
      // Another user's client order id is theirs alone.
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, {
            userId: maker,
            orderId: '',
            clientOrderId: 'ioc_1.a:b-c',
          }),
        ),
      ).toEqual({ status: status.NOT_FOUND, code: 'ORDER_NOT_FOUND' });
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, {
            userId: taker,
            orderId: res.order?.orderId ?? '',
            clientOrderId: 'ioc_1.a:b-c',
          }),
        ),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_ORDER' });
      expect(
        await failure(
          rpc(s.client, s.client.getOrder, { userId: taker, orderId: '', clientOrderId: '' }),
        ),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_ORDER' });
    });

    it('agrees with the engine on every order', async () => {
      const { orders } = await rpc(s.client, s.client.getOrderHistory, {
        userId: taker,
        limit: 0,
      });
      for (const o of orders) {
        const live = await s.api.getOrder({
          userId: taker,
          orderRef: { $case: 'orderId', value: o.orderId },
        });
        expect([
          o.status,
          o.filledQuantity,
          o.filledQuoteQuantity,
          o.createdAt,
          o.updatedAt,
          o.clientOrderId,
        ]).toEqual([
          live.order?.status,
          live.order?.filledQuantity,
          live.order?.filledQuoteQuantity,
          live.order?.createdAt,
          live.order?.updatedAt,
          live.order?.clientOrderId,
        ]);
      }
    });
  });

  describe('GetOrderHistory', () => {
    it('pages newest first with a cursor and filters by market', async () => {
      const all = await rpc(s.client, s.client.getOrderHistory, { userId: maker, limit: 0 });
      expect(all.orders.map((o) => o.orderId)).toEqual([cancelledId, sellIds[1], sellIds[0]]);
      expect(all.nextCursor).toBeUndefined();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await rpc(s.client, s.client.getOrderHistory, {
          userId: maker,
          limit: 1,
          cursor,
        });
        expect(page.orders.length).toBe(1);
        seen.push(page.orders[0].orderId);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(seen).toEqual(all.orders.map((o) => o.orderId));
      const btc = await rpc(s.client, s.client.getOrderHistory, {
        userId: maker,
        market: 'BTC_USDC',
        limit: 0,
      });
      expect(btc.orders).toEqual([]);
    });

    it('rejects a bad cursor, a bad limit and an unknown market', async () => {
      expect(
        await failure(
          rpc(s.client, s.client.getOrderHistory, { userId: maker, limit: 0, cursor: 'zz' }),
        ),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_CURSOR' });
      expect(
        await failure(rpc(s.client, s.client.getOrderHistory, { userId: maker, limit: 5000 })),
      ).toEqual({ status: status.INVALID_ARGUMENT, code: 'INVALID_LIMIT' });
      expect(
        await failure(
          rpc(s.client, s.client.getOrderHistory, { userId: maker, limit: 0, market: 'X_Y' }),
        ),
      ).toEqual({ status: status.NOT_FOUND, code: 'UNKNOWN_MARKET' });
    });
  });

  describe('GetUserTrades', () => {
    it("lists the user's fills newest first, paged", async () => {
      const { fills, nextCursor } = await rpc(s.client, s.client.getUserTrades, {
        userId: taker,
        limit: 1,
      });
      expect(fills).toEqual([
        expect.objectContaining({
          tradeId: '2',
          side: Side.SIDE_BUY,
          price: '101',
          quantity: '1',
          fee: '0.002',
          feeAsset: 'SOL',
          liquidity: Liquidity.LIQUIDITY_TAKER,
        }),
      ]);
      const next = await rpc(s.client, s.client.getUserTrades, {
        userId: taker,
        limit: 1,
        cursor: nextCursor,
      });
      expect(next.fills.map((f) => f.tradeId)).toEqual(['1']);
      expect(next.nextCursor).toBeUndefined();
    });
  });

  describe('GetKlines', () => {
    it('has the trades in every interval', async () => {
      for (const interval of INTERVALS) {
        const { klines } = await rpc(s.client, s.client.getKlines, {
          market: 'SOL_USDC',
          interval,
          limit: 0,
        });
        const trades = klines.reduce((n, k) => n + Number(k.trades), 0);
        const volume = klines.reduce((n, k) => n + Number(k.volume), 0);
        expect([interval, trades, volume]).toEqual([interval, 2, 2]);
        for (const k of klines) {
          expect(Number(k.closeTime)).toBe(bucketEnd(interval, Number(k.openTime)));
        }
      }
      const { klines } = await rpc(s.client, s.client.getKlines, {
        market: 'SOL_USDC',
        interval: '1d',
        limit: 0,
      });
      expect(klines).toEqual([
        expect.objectContaining({
          open: '100',
          high: '101',
          low: '100',
          close: '101',
          volume: '2',
          quoteVolume: '201',
          trades: '2',
        }),
      ]);
    });

    it('rejects bad input with stable codes', async () => {
      const base = { market: 'SOL_USDC', interval: '1m', limit: 0 };
      const call = (req: Partial<typeof base> & { startTime?: string; endTime?: string }) =>
        failure(rpc(s.client, s.client.getKlines, { ...base, ...req }));
      expect(await call({ market: 'DOGE_USDC' })).toEqual({
        status: status.NOT_FOUND,
        code: 'UNKNOWN_MARKET',
      });
      expect(await call({ interval: '2m' })).toEqual({
        status: status.INVALID_ARGUMENT,
        code: 'INVALID_INTERVAL',
      });
      expect(await call({ startTime: '2000', endTime: '1000' })).toEqual({
        status: status.INVALID_ARGUMENT,
        code: 'INVALID_TIME_RANGE',
      });
      expect(await call({ limit: 1001 })).toEqual({
        status: status.INVALID_ARGUMENT,
        code: 'INVALID_LIMIT',
      });
    });
  });

  describe('GetTickers', () => {
    it('returns 24h tickers of every market, sorted', async () => {
      const { tickers } = await rpc(s.client, s.client.getTickers, {});
      expect(tickers.map((t) => t.market)).toEqual(['BTC_USDC', 'ETH_USDC', 'SOL_USDC']);
      expect(tickers[2]).toMatchObject({
        last: '101',
        open: '100',
        high: '101',
        low: '100',
        change: '1',
        changePercent: '1',
        volume: '2',
        quoteVolume: '201',
        trades: '2',
      });
      expect(tickers[0]).toMatchObject({ last: '', volume: '0', trades: '0' });
      const one = await rpc(s.client, s.client.getTickers, { market: 'SOL_USDC' });
      expect(one.tickers.map((t) => t.market)).toEqual(['SOL_USDC']);
      expect(await failure(rpc(s.client, s.client.getTickers, { market: 'NOPE' }))).toEqual({
        status: status.NOT_FOUND,
        code: 'UNKNOWN_MARKET',
      });
    });
  });

  describe('reflection and health', () => {
    /** buf curl from an empty directory: it knows the schema only through reflection. */
    const curl = (args: string[]) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'history-reflection-'));
      const buf = path.resolve(__dirname, '../../node_modules/.bin/buf');
      return new Promise<string>((resolve, reject) =>
        execFile(
          buf,
          ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
          { cwd: dir },
          (err, stdout, stderr) => {
            fs.rmSync(dir, { recursive: true, force: true });
            if (err) reject(new Error(`${err.message}: ${stderr}`));
            else resolve(stdout);
          },
        ),
      );
    };

    it('lists the HistoryService methods and answers calls and health checks', async () => {
      const base = `http://127.0.0.1:${s.history.port}`;
      const methods = await curl(['--list-methods', base]);
      expect(methods).toContain('exchange.v1.HistoryService/GetKlines');
      expect(methods).toContain('exchange.v1.HistoryService/GetTickers');
      const tickers = JSON.parse(
        await curl([
          '-d',
          '{"market":"SOL_USDC"}',
          `${base}/exchange.v1.HistoryService/GetTickers`,
        ]),
      ) as { tickers: { last: string }[] };
      expect(tickers.tickers[0].last).toBe('101');
      const health = JSON.parse(
        await curl([
          '-d',
          '{"service":"exchange.v1.HistoryService"}',
          `${base}/grpc.health.v1.Health/Check`,
        ]),
      ) as { status: string };
      expect(health.status).toBe('SERVING');
    });
  });

  it('keeps a ledger whose per-user sums equal the engine balances', async () => {
    await expectLedgerMatchesEngine(s, [maker, taker]);
    await expectOneRowEach(s);
  });
});

/**
 * Many small trades between two users, each its own command; the engine's count of trades.
 * Every way a lock changes happens: places, fills at and below a buy's limit (the excess goes
 * back), amends of both sides, IOC leftovers that expire, market orders, cancels; some orders
 * stay open at the end.
 */
async function trade(s: Stack, rounds: number): Promise<{ users: string[]; trades: number }> {
  const a = await funded(s.api, { USDC: '100000', SOL: '1000' });
  const b = await funded(s.api, { USDC: '100000', SOL: '1000' });
  let trades = 0;
  for (let i = 0; i < rounds; i++) {
    const price = String(100 + (i % 7));
    const ask = await s.api.placeOrder(order(a, Side.SIDE_SELL, price, '0.5'));
    trades += ask.fills.length;
    // A buy above the ask: fills at the ask, and the difference is unlocked.
    trades += (await s.api.placeOrder(order(b, Side.SIDE_BUY, `${price}.37`, '0.3'))).fills.length;
    if (i % 4 === 1) {
      await s.api.amendOrder({ userId: a, orderId: idOf(ask), newQuantity: '0.4' });
      const bid = await s.api.placeOrder(order(b, Side.SIDE_BUY, '90.13', '0.7'));
      await s.api.amendOrder({ userId: b, orderId: idOf(bid), newQuantity: '0.2' });
    }
    if (i % 4 === 2) {
      // IOC for more than rests: fills what is there, the rest expires and is released.
      const ioc = order(b, Side.SIDE_BUY, `${price}.5`, '0.9', {
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
      });
      trades += (await s.api.placeOrder(ioc)).fills.length;
      const market = order(a, Side.SIDE_SELL, '0', '0.05', { type: OrderType.ORDER_TYPE_MARKET });
      delete market.price;
      trades += (await s.api.placeOrder(market)).fills.length;
    }
    if (i % 3 === 0) await s.api.cancelAllOrders({ userId: a, market: 'SOL_USDC' });
  }
  return { users: [a, b], trades };
}

async function expectRows(s: Stack, trades: number): Promise<void> {
  const db = s.history.db;
  const t = await db.query<{ n: string }>('SELECT count(*) AS n FROM trades');
  expect(Number(t.rows[0].n)).toBe(trades);
  // One row per order the engine accepted: as many rows as distinct order ids, and no gaps.
  const o = await db.query<{ n: string; max: string }>(
    'SELECT count(*) AS n, max(order_id) AS max FROM orders',
  );
  expect(o.rows[0].n).toBe(o.rows[0].max);
}

describe('events stream format', () => {
  it('refuses an entry in a format it does not know, loudly, and persists nothing past it', async () => {
    const lines: string[] = [];
    const loud = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const iso = isolate('history_fmt');
    const history = await startHistory(historyConfig(iso), loud);
    try {
      const redis = new Redis(TEST_REDIS_URL);
      try {
        await redis.xadd(
          redisKeys(iso.prefix).events,
          '*',
          'v',
          '9',
          'first',
          '1',
          'last',
          '1',
          'e',
          '[]',
        );
      } finally {
        redis.disconnect();
      }
      const deadline = Date.now() + 20_000;
      while (!lines.some((l) => l.includes('format 9'))) {
        if (Date.now() > deadline) throw new Error(`no error logged: ${lines.join('')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(lines.join('')).toMatch(/reads format 2: upgrade it/);
      expect((await history.persister.lag()).persistedSeq).toBe(0);
    } finally {
      await history.stop();
      await iso.cleanup();
    }
  });
});

describe('group commit', () => {
  it('writes entries that arrive while it lingers in the transaction of the first', async () => {
    const iso = isolate('history_linger');
    let commits = 0;
    const history = await startHistory(historyConfig(iso), log, {
      lingerMs: 1500,
      beforeCommit: () => void commits++,
    });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const key = redisKeys(iso.prefix).events;
      const entry = (seq: number) =>
        redis.xadd(key, '*', 'v', '2', 'first', String(seq), 'last', String(seq), 'e', '[]');
      await entry(1);
      // Well inside the linger of the read that took entry 1.
      await new Promise((r) => setTimeout(r, 100));
      await entry(2);
      await entry(3);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const lag = await history.persister.lag();
        if (lag.caughtUp && lag.persistedSeq === 3) break;
        if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(lag)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(commits).toBe(1);
    } finally {
      redis.disconnect();
      await history.stop();
      await iso.cleanup();
    }
  });
});

describe('exactly once', () => {
  it('writes nothing twice when the same events are delivered again', async () => {
    const s = await startStack('history_dup');
    try {
      const { users, trades } = await trade(s, 12);
      await caughtUp(s);
      const before = await s.history.persister.lag();
      // Feed every entry of the stream again, as a buggy or replaying producer would.
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const key = redisKeys(s.iso.prefix).events;
        for (const [, fields] of await redis.xrange(key, '-', '+'))
          await redis.xadd(key, '*', ...fields);
      } finally {
        redis.disconnect();
      }
      await caughtUp(s);
      expect((await s.history.persister.lag()).persistedSeq).toBeGreaterThanOrEqual(
        before.persistedSeq,
      );
      await expectRows(s, trades);
      await expectLedgerMatchesEngine(s, users);
      await expectLocksPerOrder(s, users);
      await expectOneRowEach(s);
      // Ids order as numbers, not as text (more than 10 of each here).
      const { trades: recent } = await rpc(s.client, s.client.getMarketTrades, {
        market: 'SOL_USDC',
        limit: 1000,
      });
      expect(recent.map((t) => Number(t.tradeId))).toEqual(
        Array.from({ length: trades }, (_, i) => trades - i),
      );
      const { orders } = await rpc(s.client, s.client.getOrderHistory, {
        userId: users[0],
        limit: 1000,
      });
      const ids = orders.map((o) => Number(o.orderId));
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      const { fills } = await rpc(s.client, s.client.getUserTrades, {
        userId: users[1],
        limit: 1000,
      });
      expect(fills.length).toBe(trades);
      const fillIds = fills.map((f) => Number(f.tradeId));
      expect(fillIds).toEqual([...fillIds].sort((a, b) => b - a));
    } finally {
      await stopStack(s);
    }
  });

  it('trims what it has persisted from the events stream, keeping the newest entry', async () => {
    const s = await startStack('history_trim', { trimEveryMs: 1 });
    try {
      const { users } = await trade(s, 12);
      await caughtUp(s);
      const key = redisKeys(s.iso.prefix).events;
      const redis = new Redis(TEST_REDIS_URL);
      try {
        // One more batch after the catch-up: the trim runs once that batch is acknowledged.
        await s.api.deposit({ userId: users[0], asset: 'USDC', amount: '1', idempotencyKey: '' });
        await caughtUp(s);
        let length = await redis.xlen(key);
        for (let i = 0; i < 200 && length > 2; i++) {
          await s.api.deposit({ userId: users[0], asset: 'USDC', amount: '1', idempotencyKey: '' });
          await caughtUp(s);
          length = await redis.xlen(key);
        }
        expect(length).toBeGreaterThanOrEqual(1);
        expect(length).toBeLessThanOrEqual(2);
        const [newest] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
        const fields = newest[1];
        expect(Number(fields[fields.indexOf('last') + 1])).toBe(s.engine.loop.position.eventSeq);
      } finally {
        redis.disconnect();
      }
      await expectLedgerMatchesEngine(s, users);
    } finally {
      await stopStack(s);
    }
  });

  it('survives a rollback, a crash before the ack, and a restart with pending entries', async () => {
    let commits = 0;
    let writes = 0;
    let crashes = 0;
    let killed: Promise<void> | null = null;
    const holder: { stack?: Stack } = {};
    const options: PersisterOptions = {
      count: 1,
      beforeCommit: () => {
        if (++writes === 5) throw new Error('injected: failure before commit');
      },
      afterCommit: () => {
        commits++;
        if (commits === 8) {
          crashes++;
          throw new Error('injected: crash between commit and ack');
        }
        if (commits === 20 && holder.stack !== undefined) {
          // Killed mid-stream: the entry just committed is never acknowledged.
          killed = holder.stack.history.persister.stop();
          throw new Error('injected: killed');
        }
      },
    };
    const s = await startStack('history_crash', options);
    holder.stack = s;
    try {
      const { users, trades } = await trade(s, 15);
      const deadline = Date.now() + 20_000;
      while (killed === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(killed).not.toBeNull();
      await killed;
      expect(crashes).toBe(1);
      expect(writes).toBeGreaterThan(5);
      const redis = new Redis(TEST_REDIS_URL);
      let pending: number;
      try {
        const info = (await redis.xpending(
          redisKeys(s.iso.prefix).events,
          redisKeys(s.iso.prefix).historyGroup,
        )) as [number, ...unknown[]];
        pending = info[0];
      } finally {
        redis.disconnect();
      }
      expect(pending).toBeGreaterThan(0);
      // Restart the History service on the same isolation: it reads its pending entries first.
      await s.history.stop();
      s.client.close();
      s.history = await startHistory(historyConfig(s.iso), log);
      s.client = new HistoryServiceClient(
        `127.0.0.1:${s.history.port}`,
        grpc.credentials.createInsecure(),
      );
      await caughtUp(s);
      await expectRows(s, trades);
      await expectLedgerMatchesEngine(s, users);
      await expectLocksPerOrder(s, users);
      await expectOneRowEach(s);
    } finally {
      await stopStack(s);
    }
  });
});

/** Messages of some pub/sub channels on a connection of their own, in order of arrival. */
interface Subscription {
  /** The oldest message not taken yet (parsed), waiting for one up to `timeoutMs`. */
  next(channel: string, timeoutMs?: number): Promise<KlineUpdate[]>;
  /** How many messages arrived and are not taken yet. */
  waiting(channel: string): number;
  close(): void;
}

async function subscribe(channels: readonly string[]): Promise<Subscription> {
  const redis = new Redis(TEST_REDIS_URL);
  const queues = new Map(channels.map((c) => [c, [] as KlineUpdate[][]]));
  const arrivals = new EventEmitter();
  redis.on('message', (channel: string, message: string) => {
    queues.get(channel)?.push(JSON.parse(message) as KlineUpdate[]);
    arrivals.emit(channel);
  });
  await redis.subscribe(...channels);
  const queue = (channel: string) => {
    const q = queues.get(channel);
    if (q === undefined) throw new Error(`not subscribed to ${channel}`);
    return q;
  };
  return {
    next(channel, timeoutMs = 10_000) {
      const q = queue(channel);
      const ready = q.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const arrived = () => {
          clearTimeout(timer);
          resolve(q.shift() ?? []);
        };
        const timer = setTimeout(() => {
          arrivals.off(channel, arrived);
          reject(new Error(`no message on ${channel} within ${timeoutMs} ms`));
        }, timeoutMs);
        arrivals.once(channel, arrived);
      });
    },
    waiting: (channel) => queue(channel).length,
    close: () => redis.disconnect(),
  };
}

describe('kline channels', () => {
  const intervals: Interval[] = ['1m', '1h'];
  let s: Stack;
  let sub: Subscription;
  let channels: Record<string, string>;
  let maker: string;
  let taker: string;
  /** Timestamps of the trades made so far. */
  const tradeTimes: number[] = [];

  beforeAll(async () => {
    s = await startStack('history_kline');
    const keys = redisKeys(s.iso.prefix);
    channels = Object.fromEntries(intervals.map((i) => [i, keys.kline(i, 'SOL_USDC')]));
    sub = await subscribe(Object.values(channels));
    maker = await funded(s.api, { USDC: '10000', SOL: '100' });
    taker = await funded(s.api, { USDC: '10000', SOL: '100' });
  });

  afterAll(async () => {
    sub.close();
    await stopStack(s);
  });

  /** One trade of `quantity` SOL at `price` between the two users; returns its timestamp. */
  async function tradeAt(price: string, quantity: string): Promise<number> {
    await s.api.placeOrder(order(maker, Side.SIDE_SELL, price, quantity));
    const { fills } = await s.api.placeOrder(order(taker, Side.SIDE_BUY, price, quantity));
    expect(fills.length).toBe(1);
    const ts = Number(fills[0].timestamp);
    tradeTimes.push(ts);
    return ts;
  }

  /** The one candle of the next message on the interval's channel, checked against GetKlines. */
  async function nextCandle(interval: Interval, ts: number): Promise<KlineUpdate> {
    const updates = await sub.next(channels[interval]);
    const open = bucketStart(interval, ts);
    expect(updates.map((u) => [u.e, u.market, u.interval, u.openTime, u.closeTime])).toEqual([
      ['kline', 'SOL_USDC', interval, open, bucketEnd(interval, open)],
    ]);
    const { klines } = await rpc(s.client, s.client.getKlines, {
      market: 'SOL_USDC',
      interval,
      startTime: String(open),
      endTime: String(open),
      limit: 0,
    });
    expect(klines.length).toBe(1);
    const k = klines[0];
    expect(updates[0]).toEqual({
      e: 'kline',
      market: 'SOL_USDC',
      interval,
      openTime: Number(k.openTime),
      closeTime: Number(k.closeTime),
      open: k.open,
      high: k.high,
      low: k.low,
      close: k.close,
      volume: k.volume,
      quoteVolume: k.quoteVolume,
      trades: Number(k.trades),
    });
    return updates[0];
  }

  /** Trades so far in the interval's bucket holding `ts` (two trades may straddle a boundary). */
  const tradesIn = (interval: Interval, ts: number) =>
    tradeTimes.filter((t) => bucketStart(interval, t) === bucketStart(interval, ts)).length;

  it('publishes the candle a trade touched once it is committed, as GetKlines returns it', async () => {
    const first = await tradeAt('150.25', '2');
    for (const interval of intervals) {
      expect(await nextCandle(interval, first)).toMatchObject({
        open: '150.25',
        high: '150.25',
        low: '150.25',
        close: '150.25',
        volume: '2',
        quoteVolume: '300.5',
        trades: 1,
      });
    }
    const second = await tradeAt('151', '0.5');
    for (const interval of intervals) {
      const candle = await nextCandle(interval, second);
      expect(candle).toMatchObject({
        close: '151',
        high: '151',
        trades: tradesIn(interval, second),
      });
      if (tradesIn(interval, second) === 2) {
        expect(candle).toMatchObject({
          open: '150.25',
          low: '150.25',
          volume: '2.5',
          quoteVolume: '376',
        });
      }
    }
  });

  it('publishes nothing for a redelivered batch', async () => {
    await caughtUp(s);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const key = redisKeys(s.iso.prefix).events;
      for (const [, fields] of await redis.xrange(key, '-', '+'))
        await redis.xadd(key, '*', ...fields);
    } finally {
      redis.disconnect();
    }
    await caughtUp(s);
    // Messages on a channel arrive in order: the next trade's is the only one since.
    const ts = await tradeAt('152', '1');
    for (const interval of intervals) {
      const candle = await nextCandle(interval, ts);
      expect(candle).toMatchObject({ close: '152', trades: tradesIn(interval, ts) });
      expect(sub.waiting(channels[interval])).toBe(0);
    }
  });
});

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */

describe('candles', () => {
  it('align 1w to Monday 00:00 UTC and 1M to the calendar month', () => {
    // 2024-01-03 is a Wednesday; 2024-01-01 a Monday.
    expect(bucketStart('1w', Date.UTC(2024, 0, 3, 15))).toBe(Date.UTC(2024, 0, 1));
    expect(bucketStart('1w', Date.UTC(2024, 0, 1) - 1)).toBe(Date.UTC(2023, 11, 25));
    expect(bucketStart('1M', Date.UTC(2024, 1, 29, 23, 59))).toBe(Date.UTC(2024, 1, 1));
    expect(bucketEnd('1M', Date.UTC(2024, 1, 1))).toBe(Date.UTC(2024, 2, 1) - 1);
    expect(bucketStart('3d', 3 * 86_400_000 + 5)).toBe(3 * 86_400_000);
  });

  it('maintained incrementally equal a rebuild from trades, for every interval', async () => {
    // A generated events stream (no engine): trades of two markets over ~100 days, many of
    // them right at bucket boundaries, in entries of random sizes.
    const iso = isolate('history_candles');
    const history = await startHistory(historyConfig(iso), log, { count: 7 });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const key = redisKeys(iso.prefix).events;
      const random = prng(42);
      let seq = 0;
      const t0 = Date.UTC(2024, 0, 28, 22, 0);
      const genesis = [
        { type: 'asset_added', asset: { symbol: 'USDC', decimals: 6 } },
        { type: 'asset_added', asset: { symbol: 'SOL', decimals: 9 } },
        { type: 'asset_added', asset: { symbol: 'BTC', decimals: 8 } },
        ...[
          ['SOL_USDC', 'SOL', '0.01', '0.01'],
          ['BTC_USDC', 'BTC', '0.01', '0.00001'],
        ].map(([symbol, base, tickSize, lotSize]) => ({
          type: 'market_added',
          market: {
            symbol,
            base,
            quote: 'USDC',
            tickSize,
            lotSize,
            minQuantity: lotSize,
            minNotional: '1',
            makerFee: '0.001',
            takerFee: '0.002',
          },
        })),
      ].map((e) => ({ ...e, seq: ++seq, ts: t0 }));
      const entries: Record<string, unknown>[][] = [genesis];
      const tradeIds: Record<string, number> = { SOL_USDC: 0, BTC_USDC: 0 };
      const boundaries = INTERVALS.flatMap((i) => {
        const b = bucketStart(i, t0 + 40 * 86_400_000);
        return [b, b - 1, bucketEnd(i, b), bucketEnd(i, b) + 1];
      });
      let ts = t0;
      let batch: Record<string, unknown>[] = [];
      const total = 2500;
      for (let n = 0; n < total; n++) {
        // Mostly forward in time; sometimes jump to a boundary (times never go back per market
        // in the engine, but candles must not care).
        ts =
          random() < 0.05
            ? boundaries[Math.floor(random() * boundaries.length)]
            : ts + Math.floor(random() * random() * 8 * 3_600_000);
        const market = random() < 0.5 ? 'SOL_USDC' : 'BTC_USDC';
        const price = 9000 + Math.floor(random() * 2000);
        const lots = 1 + Math.floor(random() * 500);
        const quote =
          market === 'SOL_USDC'
            ? BigInt(price) * BigInt(lots) * 100n
            : (BigInt(price) * BigInt(lots)) / 10n;
        batch.push({
          type: 'trade',
          seq: ++seq,
          ts,
          market,
          tradeId: ++tradeIds[market],
          price,
          quantity: lots,
          quoteAmount: String(quote),
          takerSide: random() < 0.5 ? 'buy' : 'sell',
          maker: { orderId: 2 * n + 1, userId: '1', fee: '0', feeAsset: 'USDC' },
          taker: { orderId: 2 * n + 2, userId: '2', fee: '0', feeAsset: 'USDC' },
        });
        if (random() < 0.15 || n === total - 1) {
          entries.push(batch);
          batch = [];
        }
      }
      for (const events of entries) {
        const first = events[0].seq as number;
        const last = events[events.length - 1].seq as number;
        await redis.xadd(
          key,
          '*',
          'first',
          String(first),
          'last',
          String(last),
          'e',
          JSON.stringify(events),
        );
      }
      const deadline = Date.now() + 30_000;
      for (;;) {
        const lag = await history.persister.lag();
        if (lag.caughtUp && lag.persistedSeq === seq) break;
        if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(lag)}`);
        await new Promise((r) => setImmediate(r));
      }
      expect(await candleDifferences(history.db.pool)).toEqual([]);
      const counts = await history.db.query<{ interval: string; trades: string; buckets: string }>(
        `SELECT interval, sum(trades)::text AS trades, count(*)::text AS buckets
         FROM candles GROUP BY interval`,
      );
      expect(counts.rows.length).toBe(INTERVALS.length);
      for (const r of counts.rows)
        expect([r.interval, r.trades]).toEqual([r.interval, String(total)]);
      const months = counts.rows.find((r) => r.interval === '1M');
      expect(Number(months?.buckets)).toBeGreaterThanOrEqual(4);
    } finally {
      redis.disconnect();
      await history.stop();
      await iso.cleanup();
    }
  });
});
