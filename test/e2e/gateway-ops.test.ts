/**
 * What operators see of the gateway: one log line per request with its request id and never a
 * secret (API key, idempotency key), Prometheus metrics by route and status, and slow WebSocket
 * clients cut off instead of buffered without bound.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { WebSocket } from 'ws';
import { startGateway, type GatewayHandle } from '../../gateway/server';
import { Side } from '../../gen/exchange/v1/common';
import { gatewayConfigSchema } from '../../services/lib/config';
import { engineClient } from '../../services/lib/grpc/clients';
import { limitOrder } from '../support/fixtures';
import { startGatewayStack, type GatewayStack } from '../support/gateway-stack';

let s: GatewayStack;
let g: GatewayHandle;
const lines: string[] = [];

beforeAll(async () => {
  s = await startGatewayStack('ops', { RATE_LIMIT_NEW_USER_PER_MIN: '100000' });
  // A second gateway on the same services, logging into memory, with a tiny WebSocket buffer.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  g = await startGateway(
    gatewayConfigSchema.parse({
      ...s.iso.env,
      HOST: '127.0.0.1',
      PORT: '0',
      ENGINE_ADDR: `127.0.0.1:${s.engine.port}`,
      HISTORY_ADDR: `127.0.0.1:${s.history.port}`,
      WS_MAX_BUFFERED_BYTES: '1',
    }),
    pino({ level: 'info' }, sink),
  );
});

afterAll(async () => {
  await g?.stop();
  await s?.stop();
});

const url = () => `http://127.0.0.1:${g.port}`;

it('logs every request with its id and never the API key or idempotency key', async () => {
  const { key } = await s.user();
  const res = await fetch(`${url()}/api/v1/user/deposit`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': 'secret-idem-key',
      'x-request-id': 'req-42',
    },
    body: JSON.stringify({ asset: 'USDC', amount: '5' }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('req-42');
  const bad = await fetch(`${url()}/api/v1/user`, { headers: { authorization: 'Bearer ek_nope' } });
  expect(bad.status).toBe(401);
  expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

  const logged = lines.map((l) => JSON.parse(l) as { req?: { id?: string; url?: string } });
  expect(logged.find((l) => l.req?.id === 'req-42')?.req?.url).toBe('/api/v1/user/deposit');
  const all = lines.join('\n');
  expect(all).not.toContain(key);
  expect(all).not.toContain('ek_nope');
  expect(all).not.toContain('secret-idem-key');
});

it('exports request counts and latency by route and status', async () => {
  await fetch(`${url()}/api/v1/markets`);
  await fetch(`${url()}/api/v1/depth?market=NOPE`);
  const text = await (await fetch(`${url()}/metrics`)).text();
  expect(text).toMatch(/http_requests_total\{method="GET",route="\/markets",status="200"\} [1-9]/);
  expect(text).toMatch(/http_requests_total\{method="GET",route="\/depth",status="400"\} [1-9]/);
  expect(text).toMatch(
    /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/markets"/,
  );
});

it('cuts off a WebSocket client that does not keep up', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${g.port}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['depth@SOL_USDC'], id: 1 }));
  // Stop reading: once the kernel's buffers are full (megabytes on loopback), bytes queue in
  // the gateway and, past 1 byte queued, it gives up on the client.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // Big depth updates without growing the book: 1,000 bid levels placed in one engine batch
  // (one PlaceOrders call), then cancelled in one, again and again.
  const { userId } = await s.user({ USDC: '100000000' });
  const api = engineClient(`127.0.0.1:${s.engine.port}`);
  const orders = Array.from({ length: 1000 }, (_, i) => {
    const cents = 10_000 + i;
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    return limitOrder(userId, Side.SIDE_BUY, price, '0.01');
  });
  expect(g.ws.clientCount).toBe(1);
  try {
    // Until the gateway lets go of the client (the client, not reading, cannot notice yet).
    const until = Date.now() + 90_000;
    while (g.ws.clientCount > 0 && Date.now() < until) {
      await api.placeOrders({ orders });
      await api.cancelAllOrders({ userId });
    }
  } finally {
    api.close();
  }
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  expect(g.ws.clientCount).toBe(0);
  expect(await closed).toBeGreaterThan(0);
  const metrics = await (await fetch(`${url()}/metrics`)).text();
  expect(metrics).toMatch(/ws_slow_clients_dropped_total [1-9]/);
}, 120_000);
