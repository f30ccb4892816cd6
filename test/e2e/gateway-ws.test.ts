/**
 * The WebSocket at /ws against the real stack: subscribe, see trades and depth updates after an
 * order, unsubscribe stops them, depth update ids chain so a client detects a missed update,
 * the authenticated user stream, and refusals.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { startGatewayStack, type GatewayStack } from '../support/gateway-stack';
import { freePort } from '../support/ports';

let s: GatewayStack;

beforeAll(async () => {
  s = await startGatewayStack('ws', { RATE_LIMIT_NEW_USER_PER_MIN: '100000' });
});

afterAll(async () => {
  await s?.stop();
});

interface Frame {
  id?: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  stream?: string;
  data?: Record<string, unknown>[];
}

/** A test client that keeps every frame and waits for the ones it needs. */
class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  /** The first frame (from `from` on) that `match` accepts; fails after a timeout. */
  async next(match: (f: Frame) => boolean, from = 0, timeoutMs = 10_000): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async request(method: string, params?: unknown[]): Promise<Frame> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ method, params, id }));
    return this.next((f) => f.id === id);
  }

  updates(stream: string, from = 0): Record<string, unknown>[] {
    return this.frames
      .slice(from)
      .filter((f) => f.stream === stream)
      .flatMap((f) => f.data ?? []);
  }

  close(): void {
    this.ws.close();
  }
}

/** Next bid price, in cents (ticks of 0.01). */
let cents = 1_000;
/** A resting SOL_USDC bid at a new price: a depth change (the engine's market data is live). */
async function restingBid(key: string): Promise<void> {
  cents += 1;
  const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  const res = await s.call('POST', '/api/v1/order', {
    key,
    body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price, quantity: '1' },
  });
  expect(res.status).toBe(201);
}

/**
 * The engine publishes only channels someone listens to, refreshing that list a few times a
 * second: make depth changes until the subscriber sees one, so later updates are not missed.
 */
async function warmUp(c: Client, key: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (c.updates('depth@SOL_USDC').length === 0) {
    if (Date.now() > until) throw new Error('no depth update reached the client');
    await restingBid(key);
    await c.next((f) => f.stream === 'depth@SOL_USDC', 0, 200).catch(() => undefined);
  }
}

describe('market streams', () => {
  it('delivers trades and depth updates after an order; unsubscribe stops them', async () => {
    const maker = await s.user({ SOL: '10', USDC: '10000' });
    const taker = await s.user({ USDC: '10000' });
    const c = await Client.open(s.url);
    try {
      const sub = await c.request('SUBSCRIBE', [
        'depth@SOL_USDC',
        'trade@SOL_USDC',
        'kline.1m@SOL_USDC',
      ]);
      expect(sub).toEqual({ id: 1, result: null });
      await warmUp(c, maker.key);

      const mark = c.frames.length;
      await s.call('POST', '/api/v1/order', {
        key: maker.key,
        body: { market: 'SOL_USDC', side: 'sell', type: 'limit', price: '150', quantity: '2' },
      });
      await s.call('POST', '/api/v1/order', {
        key: taker.key,
        body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '150', quantity: '0.5' },
      });
      await c.next((f) => f.stream === 'trade@SOL_USDC', mark);
      expect(c.updates('trade@SOL_USDC', mark)).toEqual([
        expect.objectContaining({
          e: 'trade',
          market: 'SOL_USDC',
          price: '150',
          quantity: '0.5',
          quoteQuantity: '75',
          takerSide: 'buy',
        }),
      ]);
      // The History service publishes the candle once it has persisted the trade.
      await c.next((f) => f.stream === 'kline.1m@SOL_USDC', mark);
      expect(c.updates('kline.1m@SOL_USDC', mark)).toContainEqual(
        expect.objectContaining({ e: 'kline', interval: '1m', close: '150', trades: 1 }),
      );
      // The ask level appears (2) and then shrinks (1.5) after the trade.
      await c.next(
        (f) => f.stream === 'depth@SOL_USDC' && JSON.stringify(f.data).includes('["150","1.5"]'),
        mark,
      );
      const depth = c.updates('depth@SOL_USDC');
      const snapshot = await s.call('GET', '/api/v1/depth?market=SOL_USDC');
      expect(snapshot.body.lastUpdateId).toBe(depth[depth.length - 1].lastUpdateId);
      expect(snapshot.body.asks).toEqual([['150', '1.5']]);

      expect(await c.request('UNSUBSCRIBE', ['trade@SOL_USDC'])).toMatchObject({ result: null });
      expect(await c.request('LIST_SUBSCRIPTIONS')).toMatchObject({
        result: ['depth@SOL_USDC', 'kline.1m@SOL_USDC'],
      });
      const after = c.frames.length;
      await s.call('POST', '/api/v1/order', {
        key: taker.key,
        body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '150', quantity: '0.5' },
      });
      // Trade messages of a batch are published before its depth message: once the depth
      // update of this trade is here, a trade message would have been too.
      await c.next(
        (f) => f.stream === 'depth@SOL_USDC' && JSON.stringify(f.data).includes('["150","1"]'),
        after,
      );
      expect(c.updates('trade@SOL_USDC', after)).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('chains depth update ids so a client detects a missed update and resyncs', async () => {
    const { key } = await s.user({ USDC: '100000' });
    const c = await Client.open(s.url);
    try {
      await c.request('SUBSCRIBE', ['depth@SOL_USDC']);
      await warmUp(c, key);
      for (let i = 0; i < 5; i++) await restingBid(key);
      await c.next((f) => f.stream === 'depth@SOL_USDC' && c.updates('depth@SOL_USDC').length >= 6);
      const updates = c.updates('depth@SOL_USDC') as {
        firstUpdateId: number;
        lastUpdateId: number;
      }[];
      // Every update continues the previous one: no gap while nothing is lost.
      for (let i = 1; i < updates.length; i++) {
        expect(updates[i].firstUpdateId).toBe(updates[i - 1].lastUpdateId + 1);
      }
      // A client that missed update k sees update k+1 start past its last id: a gap.
      const gaps = (list: typeof updates) =>
        list.filter((u, i) => i > 0 && u.firstUpdateId !== list[i - 1].lastUpdateId + 1).length;
      const missed = updates.filter((_, i) => i !== 2);
      expect(gaps(updates)).toBe(0);
      expect(gaps(missed)).toBe(1);
      // It resyncs from the REST snapshot: updates up to its lastUpdateId are already in it.
      const snapshot = await s.call('GET', '/api/v1/depth?market=SOL_USDC&limit=1000');
      expect(snapshot.body.lastUpdateId).toBeGreaterThanOrEqual(
        updates[updates.length - 1].lastUpdateId,
      );
    } finally {
      c.close();
    }
  });
});

describe('user stream', () => {
  it("needs AUTH, then carries only the caller's own order and balance updates", async () => {
    const me = await s.user({ USDC: '1000' });
    const other = await s.user({ USDC: '1000' });
    const c = await Client.open(s.url);
    try {
      expect(await c.request('SUBSCRIBE', ['user'])).toMatchObject({
        error: { code: 'UNAUTHENTICATED' },
      });
      expect(await c.request('AUTH', ['ek_wrong'])).toMatchObject({
        error: { code: 'UNAUTHENTICATED' },
      });
      expect(await c.request('AUTH', [me.key])).toMatchObject({ result: { userId: me.userId } });
      expect(await c.request('SUBSCRIBE', ['user'])).toMatchObject({ result: null });
      const until = Date.now() + 10_000;
      let placed = '';
      // The engine starts publishing a user channel once it sees a subscriber: retry.
      while (!c.updates('user').some((u) => u.e === 'order')) {
        if (Date.now() > until) throw new Error('no user update arrived');
        await s.call('POST', '/api/v1/order', {
          key: other.key,
          body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '2', quantity: '1' },
        });
        const res = await s.call('POST', '/api/v1/order', {
          key: me.key,
          body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '3', quantity: '1' },
        });
        placed = res.body.order.orderId;
        await c.next((f) => f.stream === 'user', 0, 300).catch(() => undefined);
      }
      const updates = c.updates('user');
      const orders = updates.filter((u) => u.e === 'order') as {
        order: { orderId: string; price: string };
      }[];
      expect(orders.map((o) => o.order.price)).toEqual(orders.map(() => '3'));
      expect(orders.some((o) => o.order.orderId === placed)).toBe(true);
      expect(updates.filter((u) => u.e === 'balance')).toContainEqual(
        expect.objectContaining({ asset: 'USDC', locked: expect.any(String) }),
      );
    } finally {
      c.close();
    }
  });

  it('accepts the API key in the upgrade request and refuses a wrong one', async () => {
    const me = await s.user();
    const c = await Client.open(s.url, { authorization: `Bearer ${me.key}` });
    try {
      expect(await c.request('SUBSCRIBE', ['user'])).toMatchObject({ result: null });
    } finally {
      c.close();
    }
    await expect(Client.open(s.url, { authorization: 'Bearer ek_wrong' })).rejects.toThrow(/401/);
  });
});

describe('refusals', () => {
  it('answers bad requests with an error frame and keeps the connection', async () => {
    const c = await Client.open(s.url);
    try {
      c.ws.send('{not json');
      await c.next((f) => f.error?.code === 'MALFORMED_JSON');
      expect(await c.request('SUBSCRIBE', ['depth@sol_usdc'])).toMatchObject({
        error: { code: 'INVALID_STREAM' },
      });
      expect(await c.request('SUBSCRIBE', ['kline.7m@SOL_USDC'])).toMatchObject({
        error: { code: 'INVALID_STREAM' },
      });
      expect(await c.request('SUBSCRIBE', [1])).toMatchObject({
        error: { code: 'INVALID_REQUEST' },
      });
      expect(await c.request('DANCE')).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
      expect(await c.request('SUBSCRIBE', ['kline.1m@SOL_USDC'])).toMatchObject({ result: null });
      expect(await c.request('LIST_SUBSCRIPTIONS')).toMatchObject({
        result: ['kline.1m@SOL_USDC'],
      });
    } finally {
      c.close();
    }
  });

  it('survives clients that reset the connection in the middle of the upgrade', async () => {
    // A gateway process of its own: an unhandled error would end it (in this process, jest
    // would swallow it).
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
      cwd: path.resolve(__dirname, '../..'),
      env: {
        ...process.env,
        ...s.iso.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        ENGINE_ADDR: `127.0.0.1:${s.engine.port}`,
        HISTORY_ADDR: `127.0.0.1:${s.history.port}`,
      },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    try {
      const until = Date.now() + 30_000;
      for (;;) {
        const up = await fetch(`${url}/api/v1/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) break;
        if (Date.now() > until || child.exitCode !== null) throw new Error('gateway did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [where, auth] of [
        ['/ws', 'Authorization: Bearer ek_not_a_key\r\n'],
        ['/nope', ''],
        ['/ws', ''],
      ]) {
        const socket = connect(port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          `GET ${where} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${auth}\r\n`,
        );
        socket.resetAndDestroy();
      }
      // Still serving, REST and WebSocket alike.
      expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
      const c = await Client.open(url);
      expect(await c.request('LIST_SUBSCRIPTIONS')).toMatchObject({ result: [] });
      c.close();
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses other paths for the upgrade', async () => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/other`);
    await expect(
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
    ).rejects.toThrow(/404/);
  });
});
