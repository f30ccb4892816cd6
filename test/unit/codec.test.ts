/**
 * The events codec writes the common events as positional arrays, by hand; decoded, they must be
 * exactly the objects the plain way gives (generic stringification of the same events, parsed),
 * since the History service reads them as those objects.
 */
import { decodeEvents, encodeEvents } from '../../services/engine/codec';
import type { ExchangeEvent } from '../../services/engine/core';
import { eventsOfRandomCommands } from './core/random-commands';

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
