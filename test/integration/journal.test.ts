/**
 * The journal never holds a command twice, even when Redis executes an XADD whose reply is lost:
 * a TCP proxy between the engine and Redis drops the reply to the XADD carrying an order and
 * closes the connection. The caller may hear UNAVAILABLE (outcome unknown); the order must be
 * applied exactly once.
 */
import net from 'node:net';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../../gen/exchange/v1/common';
import { decodeCommands } from '../../services/engine/codec';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { createLogger } from '../../services/lib/logger';
import { engineClient, type EngineApi } from '../support/engine-client';
import { engineConfig, isolate, TEST_REDIS_URL, type Isolation } from '../support/stack';

let iso: Isolation;
let proxy: net.Server;
let engine: EngineHandle;
let api: EngineApi;
let dropNextOrderReply = false;
const sockets = new Set<net.Socket>();

beforeEach(async () => {
  const target = new URL(TEST_REDIS_URL);
  proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    let dropping = false;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => {
      // An order is journaled as a positional array tagged "p" (services/engine/codec.ts).
      if (dropNextOrderReply && d.includes('["p",')) {
        dropNextOrderReply = false;
        dropping = true;
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!dropping) return void client.write(d);
      // Redis has executed the XADD: lose its reply and the connection.
      client.destroy();
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  iso = isolate('journal');
  const port = (proxy.address() as net.AddressInfo).port;
  engine = await startEngine(
    engineConfig(iso, { REDIS_URL: `redis://127.0.0.1:${port}` }),
    createLogger('journal-test', 'silent'),
  );
  api = engineClient(`127.0.0.1:${engine.port}`);
});

afterEach(async () => {
  api.close();
  try {
    await engine.stop();
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await iso.cleanup();
  }
});

it('applies a command whose XADD reply was lost exactly once', async () => {
  const { userId } = await api.createUser({});
  await api.deposit({ userId, asset: 'USDC', amount: '1000', idempotencyKey: '' });
  const order = {
    userId,
    market: 'SOL_USDC',
    side: Side.SIDE_BUY,
    type: OrderType.ORDER_TYPE_LIMIT,
    price: '10',
    quantity: '1',
    timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
    postOnly: false,
    selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_UNSPECIFIED,
  };
  dropNextOrderReply = true;
  const outcome = await api.placeOrder(order).then(
    () => 'acknowledged',
    (err: ServiceError) => (err.code === status.UNAVAILABLE ? 'unknown' : `failed: ${err.message}`),
  );
  expect(['acknowledged', 'unknown']).toContain(outcome);
  expect(dropNextOrderReply).toBe(false); // the reply really was dropped

  // A second order goes through once the journal's connection is back; anything re-sent by a
  // reconnect would be written before it.
  let marker: string | undefined;
  for (let i = 0; i < 100 && marker === undefined; i++) {
    marker = await api.placeOrder({ ...order, price: '11' }).then(
      (r) => r.order?.orderId,
      () => undefined,
    );
    if (marker === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  expect(marker).toBe('2');
  expect((await api.getOpenOrders({ userId })).orders.map((o) => o.price)).toEqual(['10', '11']);
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const entries = await redis.xrange(`${iso.prefix}engine:commands`, '-', '+');
    const placed = entries.filter(([, fields]) =>
      decodeCommands(fields[fields.indexOf('c') + 1]).some((c) => c.type === 'place_order'),
    );
    expect(placed).toHaveLength(2);
  } finally {
    redis.disconnect();
  }
  expect((await api.getBalances({ userId })).balances[0]).toEqual({
    asset: 'USDC',
    available: '979',
    locked: '21',
  });
});
