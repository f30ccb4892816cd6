import {
  captureSnapshot,
  capturedOrders,
  type Command,
  type ExchangeCore,
  type ExchangeEvent,
  type ExchangeSnapshot,
  fromSnapshot,
  type OrderTuple,
  toSnapshot,
} from '../../../services/engine/core';
import { big, type CommandBody, Harness } from './harness';
import { randomCommands } from './random-commands';

const USERS = 12;

function setUp(): Harness {
  const h = new Harness();
  for (let i = 0; i < USERS; i++) {
    h.user({ USDC: '10000000', SOL: '100000', BTC: '100', ETH: '5000' });
  }
  return h;
}

/** Every book's levels, best first, each as its price and its queue of order ids. */
function books(core: ExchangeCore): Record<string, { bids: number[][]; asks: number[][] }> {
  const queues = (
    levels: Iterable<{ price: number; head: { id: number; next: unknown } | null }>,
  ) =>
    [...levels].map((level) => {
      const row = [level.price];
      for (let o = level.head; o !== null; o = o.next as typeof o) row.push(o.id);
      return row;
    });
  const out: Record<string, { bids: number[][]; asks: number[][] }> = {};
  for (const m of core.markets.values()) {
    out[m.symbol] = { bids: queues(m.book.bids.fromBest()), asks: queues(m.book.asks.fromBest()) };
  }
  return out;
}

/** Random trading first, then `n` orders resting on both sides (some with client ids). */
function withResting(n: number): Harness {
  const h = setUp();
  feed(h.core, randomCommands(21, 1000, USERS), h.seq + 1);
  h.seq = h.core.lastCommandSeq;
  for (let i = 0; i < n; i++) {
    const buy = i % 2 === 0;
    h.ok(
      h.placeCmd(String(1 + (i % USERS)), {
        side: buy ? 'buy' : 'sell',
        price: buy ? `${20 + (i % 7)}.00` : `${100_000 + (i % 7)}.00`,
        quantity: '0.10',
        clientOrderId: i % 5 === 0 ? `snap-${i}` : undefined,
      }),
    );
  }
  // Some of the best bids partly filled.
  for (let i = 0; i < 10; i++) {
    h.ok(
      h.placeCmd(String(1 + ((i + 5) % USERS)), { side: 'sell', price: '20.00', quantity: '0.05' }),
    );
  }
  expect(toSnapshot(h.core).orders.filter((o) => (o as OrderTuple)[11] > 0).length).toBeGreaterThan(
    0,
  );
  return h;
}

function feed(core: ExchangeCore, bodies: CommandBody[], firstSeq: number): ExchangeEvent[] {
  const events: ExchangeEvent[] = [];
  bodies.forEach((body, i) => {
    const outcome = core.apply({
      ...body,
      seq: firstSeq + i,
      ts: 1_700_000_000_000 + firstSeq + i,
    } as Command);
    events.push(...outcome.events);
  });
  return events;
}

describe('snapshot', () => {
  it.each([1, 2, 3])(
    'round trip after N commands equals an uninterrupted run (seed %i)',
    (seed) => {
      const first = randomCommands(seed, 3000, USERS);
      const next = randomCommands(seed + 1000, 3000, USERS);

      const uninterrupted = setUp();
      const start = uninterrupted.seq + 1;
      feed(uninterrupted.core, first, start);
      const expectedEvents = feed(uninterrupted.core, next, start + first.length);

      const interrupted = setUp();
      feed(interrupted.core, first, start);
      // Through JSON text, as it is stored.
      const text = JSON.stringify(toSnapshot(interrupted.core));
      const restored = fromSnapshot(JSON.parse(text));
      expect(toSnapshot(restored)).toEqual(toSnapshot(interrupted.core));
      const events = feed(restored, next, start + first.length);

      expect(JSON.stringify(events, big)).toBe(JSON.stringify(expectedEvents, big));
      expect(toSnapshot(restored)).toEqual(toSnapshot(uninterrupted.core));
      // The workload did real work: trades happened and orders rest on the books.
      expect(expectedEvents.filter((e) => e.type === 'trade').length).toBeGreaterThan(100);
      expect(toSnapshot(restored).orders.length).toBeGreaterThan(10);
    },
  );

  it('restores queries: depth, open orders, balances, api key lookups', () => {
    const h = setUp();
    feed(h.core, randomCommands(7, 2000, USERS), h.seq + 1);
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(h.core))));
    for (const market of ['SOL_USDC', 'BTC_USDC', 'ETH_USDC']) {
      expect(restored.depth(market, 50)).toEqual(h.core.depth(market, 50));
    }
    for (let u = 1; u <= USERS; u++) {
      expect(restored.openOrders(String(u))).toEqual(h.core.openOrders(String(u)));
      expect(restored.balances(String(u))).toEqual(h.core.balances(String(u)));
    }
    expect(restored.userIdForKeyHash('hash-101')).toBe(h.core.userIdForKeyHash('hash-101'));
    expect(restored.lastCommandSeq).toBe(h.core.lastCommandSeq);
  });

  it('writes open orders as tuples: a third of the bytes of objects', () => {
    const h = withResting(400);
    const snapshot = toSnapshot(h.core);
    const v1 = asVersion1(snapshot, h.core);
    expect(snapshot.orders.length).toBeGreaterThan(10);
    expect(JSON.stringify(snapshot).length).toBeLessThan(JSON.stringify(v1).length / 2.5);
  });

  it('still restores a version 1 snapshot (open orders as objects)', () => {
    const h = withResting(400);
    const v1 = asVersion1(toSnapshot(h.core), h.core);
    expect(v1.orders.length).toBeGreaterThan(10);
    const restored = fromSnapshot(JSON.parse(JSON.stringify(v1)) as ExchangeSnapshot);
    expect(toSnapshot(restored)).toEqual(toSnapshot(h.core));
    expect(books(restored)).toEqual(books(h.core));
    expect(restored.depth('SOL_USDC', 50)).toEqual(h.core.depth('SOL_USDC', 50));
    for (let u = 1; u <= USERS; u++) {
      expect(restored.openOrders(String(u))).toEqual(h.core.openOrders(String(u)));
    }
  });

  it('restores long queues in their order, and trades against them as the live core does', () => {
    const h = withResting(400);
    const live = books(h.core);
    expect(Math.max(...live.SOL_USDC.bids.map((level) => level.length - 1))).toBeGreaterThan(20);
    const restored = fromSnapshot(
      JSON.parse(JSON.stringify(toSnapshot(h.core))) as ExchangeSnapshot,
    );
    expect(books(restored)).toEqual(live);
    // Sells that walk down the bids, partly filling queues: the same makers, in the same order.
    const sells: CommandBody[] = [0, 1, 2, 3].map((i) => ({
      ...h.placeCmd(String(1 + ((i + 7) % USERS)), {
        side: 'sell',
        price: '20.00',
        quantity: '3.05',
      }),
    }));
    const seq = h.core.lastCommandSeq + 1;
    const expected = feed(h.core, sells, seq);
    expect(expected.filter((e) => e.type === 'trade').length).toBeGreaterThan(20);
    expect(JSON.stringify(feed(restored, sells, seq), big)).toBe(JSON.stringify(expected, big));
  });

  it('a capture is the state at its instant, whatever the core does after it', () => {
    const h = withResting(400);
    const expected = JSON.stringify(toSnapshot(h.core));
    const capture = captureSnapshot(h.core);
    // Captured orders that stay open but change: partly filled, and amended down. (Nothing here
    // may take another capture before this one is read: that would finish this one.)
    const bestBid = books(h.core).SOL_USDC.bids[0];
    const seller = String(1 + ((bestBid[1] + 3) % USERS));
    h.ok(h.placeCmd(seller, { side: 'sell', price: '20.00', quantity: '0.06' }));
    const amended = h.core.orders.inIdOrder().find((o) => o.filled === 0);
    if (amended === undefined) throw new Error('no unfilled open order');
    h.ok({ type: 'amend_order', userId: amended.account.userId, orderId: amended.id, quantity: 5 });
    // Both changed orders are still open, and the capture has copied neither yet.
    const before = (JSON.parse(expected) as ExchangeSnapshot).orders as OrderTuple[];
    const changedOpen = before.filter((t) => {
      const o = h.core.orders.get(t[0]);
      return o !== undefined && (o.filled !== t[11] || o.quantity !== t[9]);
    });
    expect(changedOpen.length).toBeGreaterThanOrEqual(2);
    // Then fills, cancels and amends of the captured orders, and new ones.
    feed(h.core, randomCommands(14, 2000, USERS), h.core.lastCommandSeq + 1);
    const fromCapture = { ...capture.rest, orders: capturedOrders(capture, 0, capture.orderCount) };
    expect(JSON.stringify(fromCapture)).toBe(expected);
    expect(JSON.stringify(toSnapshot(h.core))).not.toBe(expected);
  });

  it('copies each captured order before the core changes it, however reading and commands interleave', () => {
    for (const seed of [31, 32, 33]) {
      const h = withResting(300);
      const before = toSnapshot(h.core);
      const expected = JSON.stringify(before);
      const open = before.orders as OrderTuple[];
      const capture = captureSnapshot(h.core);
      expect(capture.orderCount).toBe(open.length);
      // The newest captured orders are read last: amend ten of them and cancel ten more first.
      const last = open.slice(-20);
      for (const o of last.slice(0, 10)) {
        if (o[9] - o[11] > 1) {
          h.ok({ type: 'amend_order', userId: o[1], orderId: o[0], quantity: o[11] + 1 });
        }
      }
      for (const o of last.slice(10)) h.ok({ type: 'cancel_order', userId: o[1], orderId: o[0] });
      // Then random trading in steps, reading a few captured orders after each.
      const commands = randomCommands(seed, 3000, USERS);
      const read: OrderTuple[] = [];
      for (let k = 0; k < commands.length; k += 100) {
        feed(h.core, commands.slice(k, k + 100), h.core.lastCommandSeq + 1);
        read.push(...capturedOrders(capture, read.length, read.length + 7));
      }
      read.push(...capturedOrders(capture, read.length, capture.orderCount));
      expect(JSON.stringify({ ...capture.rest, orders: read })).toBe(expected);
      expect(h.core.watcher).toBeNull();
      // Most of the captured orders changed or closed meanwhile, most before they were read.
      const now = new Map(
        (toSnapshot(h.core).orders as OrderTuple[]).map((o) => [o[0], JSON.stringify(o)]),
      );
      const changed = open.filter((o) => now.get(o[0]) !== JSON.stringify(o));
      expect(changed.length).toBeGreaterThan(open.length / 4);
      expect(last.every((o) => now.get(o[0]) !== JSON.stringify(o))).toBe(true);
    }
  });

  it('refuses a snapshot with an unknown enumeration value', () => {
    const h = setUp();
    feed(h.core, randomCommands(15, 500, USERS), h.seq + 1);
    const snapshot = toSnapshot(h.core);
    const orders = snapshot.orders as OrderTuple[];
    expect(orders.length).toBeGreaterThan(0);
    orders[0][3] = 7;
    expect(() => fromSnapshot(snapshot)).toThrow(/unknown side 7/);
  });

  it('refuses a snapshot of another version', () => {
    const snapshot = { ...toSnapshot(new Harness().core), version: 99 };
    expect(() => fromSnapshot(snapshot)).toThrow(/version 99/);
  });
});

/** The same state as a version 1 snapshot wrote it: open orders as objects. */
function asVersion1(snapshot: ExchangeSnapshot, core: ExchangeCore): ExchangeSnapshot {
  const sides = ['buy', 'sell'] as const;
  const types = ['limit', 'market'] as const;
  const tifs = ['GTC', 'IOC', 'FOK'] as const;
  const stps = ['cancel_taker', 'cancel_maker', 'cancel_both'] as const;
  const statuses = [
    'new',
    'partially_filled',
    'filled',
    'cancelled',
    'expired',
    'rejected',
  ] as const;
  const queue = (levels: Iterable<{ head: { id: number; next: unknown } | null }>) =>
    [...levels].map((level) => {
      const ids: number[] = [];
      for (let o = level.head; o !== null; o = o.next as typeof o) ids.push(o.id);
      return ids;
    });
  return {
    ...snapshot,
    version: 1,
    markets: snapshot.markets.map((m) => ({
      ...m,
      bids: queue(core.market(m.spec.symbol).book.bids.fromBest()),
      asks: queue(core.market(m.spec.symbol).book.asks.fromBest()),
    })),
    orders: (snapshot.orders as OrderTuple[]).map((t) => ({
      id: t[0],
      userId: t[1],
      market: snapshot.markets[t[2]].spec.symbol,
      side: sides[t[3]],
      type: types[t[4]],
      timeInForce: tifs[t[5]],
      postOnly: t[6] === 1,
      selfTradePrevention: stps[t[7]],
      price: t[8],
      quantity: t[9],
      quoteAmount: t[10],
      filled: t[11],
      filledQuote: t[12],
      status: statuses[t[13]],
      locked: t[14],
      clientOrderId: t[15],
      createdAt: t[16],
      updatedAt: t[17],
    })),
  };
}
