/**
 * The events codec writes the common events as positional arrays, by hand; decoded, they must be
 * exactly the objects the plain way gives (generic stringification of the same events, parsed),
 * since the History service reads them as those objects.
 */
import {
  decodeCommands,
  decodeEvents,
  encodeCommands,
  encodeEvents,
} from '../../services/engine/codec';
import type { ExchangeEvent } from '../../services/engine/core';
import { type CommandBody, Harness } from './core/harness';
import { eventsOfRandomCommands, randomCommands } from './core/random-commands';

/** The events as objects, built the plain way: later order events carry only what changes. */
function reference(events: readonly ExchangeEvent[]): unknown {
  const wire = events.map((e) => {
    if (e.type !== 'order' || e.kind === 'accepted') return e;
    const o = e.order;
    return {
      type: e.type,
      seq: e.seq,
      ts: e.ts,
      kind: e.kind,
      reason: e.reason,
      order: {
        orderId: o.orderId,
        userId: o.userId,
        market: o.market,
        status: o.status,
        quantity: o.quantity,
        filledQuantity: o.filledQuantity,
        filledQuoteAmount: o.filledQuoteAmount,
        locked: o.locked,
        updatedAt: o.updatedAt,
      },
    };
  });
  return JSON.parse(
    JSON.stringify(wire, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    ),
  );
}

describe('encodeEvents', () => {
  test('decodes to the plain objects, for every kind of event', () => {
    const all = eventsOfRandomCommands(7, 4000, 12);

    const seen = new Set(all.map((e) => (e.type === 'order' ? `order:${e.kind}` : e.type)));
    for (const kind of [
      'user_created',
      'deposit',
      'withdrawal',
      'balance',
      'depth',
      'trade',
      'order_rejected',
      'order:accepted',
      'order:partially_filled',
      'order:filled',
      'order:cancelled',
      'order:expired',
      'order:amended',
    ]) {
      expect(seen).toContain(kind);
    }
    // Both ways of reaching a non-null reason and a client order id are in the mix.
    expect(all.some((e) => e.type === 'order' && e.order.clientOrderId !== null)).toBe(true);
    expect(all.some((e) => e.type === 'order' && e.reason !== null)).toBe(true);

    let bytes = 0;
    let plainBytes = 0;
    for (let i = 0; i < all.length; i += 97) {
      const chunk = all.slice(i, i + 97);
      const text = encodeEvents(chunk);
      expect(decodeEvents(text)).toEqual(reference(chunk));
      bytes += text.length;
      plainBytes += JSON.stringify(reference(chunk)).length;
    }
    expect(decodeEvents(encodeEvents([]))).toEqual([]);
    // What the positional form is for.
    expect(bytes / plainBytes).toBeLessThan(0.6);
  });

  test('escapes a user id that needs it', () => {
    const odd = {
      type: 'balance',
      seq: 1,
      ts: 2,
      userId: 'a"b\\c',
      asset: 'USDC',
      available: 1n,
      locked: 0n,
    } as const;
    expect(decodeEvents(encodeEvents([odd]))).toEqual(reference([odd]));
    expect(decodeEvents(encodeEvents([odd]))[0]).toMatchObject({ userId: 'a"b\\c' });
  });

  test('refuses an unknown tag', () => {
    expect(() => decodeEvents('[["x",1,2]]')).toThrow(/unknown event tag "x"/);
  });
});

describe('encodeCommands', () => {
  /** How journals were written and read before orders became positional: plain JSON objects. */
  const objectsRoundTrip = (commands: readonly CommandBody[]): unknown[] =>
    (JSON.parse(JSON.stringify(commands)) as Record<string, unknown>[]).map((c) => {
      for (const field of ['amount', 'quoteAmount']) {
        if (typeof c[field] === 'string') c[field] = BigInt(c[field]);
      }
      return c;
    });

  function setup(h: Harness, users: number): void {
    for (let i = 0; i < users; i++) {
      h.ok({ type: 'create_user', apiKeyHash: `k${i}` });
      for (const [asset, amount] of [
        ['USDC', '1000000'],
        ['SOL', '100000'],
        ['BTC', '100'],
        ['ETH', '1000'],
      ]) {
        h.deposit(String(i + 1), asset, amount);
      }
    }
  }

  test('decodes to what the object form gave, and the core does the same with it', () => {
    const users = 10;
    const commands = randomCommands(11, 3000, users);
    expect(commands.filter((c) => c.type === 'place_order').length).toBeGreaterThan(1000);
    const decoded: CommandBody[] = [];
    for (let i = 0; i < commands.length; i += 250) {
      decoded.push(...decodeCommands(encodeCommands(commands.slice(i, i + 250))));
    }
    const before = objectsRoundTrip(commands) as CommandBody[];
    expect(decoded).toEqual(before);

    const [a, b] = [new Harness(), new Harness()];
    setup(a, users);
    setup(b, users);
    const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);
    let refused = 0;
    for (let i = 0; i < commands.length; i++) {
      const x = a.run(before[i]);
      const y = b.run(decoded[i]);
      if (x.error !== null) refused++;
      expect(JSON.stringify(y, big)).toBe(JSON.stringify(x, big));
    }
    // Refusals are in the mix too, and come out the same.
    expect(refused).toBeGreaterThan(0);
  });

  test('writes orders positionally, in half the bytes, and still reads object journals', () => {
    const order: CommandBody = {
      type: 'place_order',
      userId: '7',
      market: 'BTC_USDC',
      side: 'buy',
      orderType: 'market',
      quoteAmount: 2n ** 70n,
      selfTradePrevention: 'cancel_both',
      clientOrderId: 'c-1',
    };
    const text = encodeCommands([order, order]);
    expect(text).toMatch(
      /^\[\["p","7","BTC_USDC","buy","market",null,null,"1180591620717411303424"/,
    );
    expect(text.length).toBeLessThan(0.6 * JSON.stringify([order, order]).length);
    expect(decodeCommands(text)).toEqual([order, order]);
    const objects = JSON.stringify([
      order,
      { type: 'deposit', userId: '7', asset: 'ETH', amount: 5n },
    ]);
    expect(decodeCommands(objects)).toEqual([
      order,
      { type: 'deposit', userId: '7', asset: 'ETH', amount: 5n },
    ]);
  });

  test('keeps an order with a null field, or an amount of the wrong type, as the object form would', () => {
    const odd = [
      {
        type: 'place_order',
        userId: '1',
        market: 'SOL_USDC',
        side: 'buy',
        orderType: 'market',
        price: null,
        quantity: 5,
      },
      {
        type: 'place_order',
        userId: '1',
        market: 'SOL_USDC',
        side: 'buy',
        orderType: 'market',
        quoteAmount: 12,
      },
    ] as unknown as CommandBody[];
    expect(decodeCommands(encodeCommands(odd))).toEqual(objectsRoundTrip(odd));
    expect(
      (decodeCommands(encodeCommands(odd))[0] as unknown as { price: unknown }).price,
    ).toBeNull();
  });

  test('refuses an unknown tag', () => {
    expect(() => decodeCommands('[["x","1"]]')).toThrow(/unknown command tag "x"/);
  });
});
