/**
 * The events codec writes JSON by hand for speed; its text must be exactly what generic
 * stringification makes of the same wire objects, since the History service and the recovery
 * checks read it as JSON.
 */
import { encodeEvents } from '../../services/engine/codec';
import type { ExchangeEvent } from '../../services/engine/core';
import { Harness } from './core/harness';
import { randomCommands } from './core/random-commands';

/** The wire objects, built the plain way: later order events carry only what changes. */
function reference(events: readonly ExchangeEvent[]): string {
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
  return JSON.stringify(wire, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

describe('encodeEvents', () => {
  test('equals generic stringification over every kind of event', () => {
    const h = new Harness();
    const users = 12;
    const all: ExchangeEvent[] = [];
    for (let i = 0; i < users; i++) {
      all.push(
        ...h.ok({ type: 'create_user', apiKeyHash: `k${i}` }).events,
        ...h.deposit(String(i + 1), 'USDC', '1000000').events,
        ...h.deposit(String(i + 1), 'SOL', '100000').events,
        ...h.deposit(String(i + 1), 'BTC', '100').events,
        ...h.deposit(String(i + 1), 'ETH', '1000').events,
      );
    }
    for (const body of randomCommands(7, 4000, users)) all.push(...h.run(body).events);

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

    for (let i = 0; i < all.length; i += 97) {
      const chunk = all.slice(i, i + 97);
      expect(encodeEvents(chunk)).toBe(reference(chunk));
    }
    expect(encodeEvents([])).toBe('[]');
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
    expect(encodeEvents([odd])).toBe(reference([odd]));
    expect((JSON.parse(encodeEvents([odd])) as { userId: string }[])[0].userId).toBe('a"b\\c');
  });
});
