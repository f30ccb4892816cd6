/**
 * The engine writes the events stream with `EventsWriter`, byte by byte; `encodeEvents` (one
 * JSON.stringify of the positional arrays) defines the format. The two must agree on every byte,
 * since the History service reads the stream as that JSON.
 */
import { encodeEvents } from '../../services/engine/codec';
import type { ExchangeEvent, OrderView } from '../../services/engine/core';
import { EventsWriter } from '../../services/engine/events-writer';
import { eventsOfRandomCommands } from './core/random-commands';

function expectSameBytes(writer: EventsWriter, events: readonly ExchangeEvent[]): void {
  const written = writer.encode(events);
  expect(written.toString('utf8')).toBe(encodeEvents(events));
  expect(written.equals(Buffer.from(encodeEvents(events), 'utf8'))).toBe(true);
}

const accepted = (o: Partial<OrderView>): ExchangeEvent => ({
  type: 'order',
  kind: 'accepted',
  seq: 9,
  ts: 1_700_000_000_123,
  reason: null,
  order: {
    orderId: 1,
    clientOrderId: null,
    userId: '1',
    market: 'SOL_USDC',
    side: 'buy',
    type: 'limit',
    timeInForce: 'GTC',
    postOnly: false,
    selfTradePrevention: 'cancel_taker',
    price: 100,
    quantity: 5,
    quoteAmount: 0n,
    filledQuantity: 0,
    filledQuoteAmount: 0n,
    status: 'new',
    locked: 5000n,
    createdAt: 1_700_000_000_123,
    updatedAt: 1_700_000_000_123,
    ...o,
  },
});

describe('EventsWriter', () => {
  test('writes what encodeEvents writes, for every kind of event, in batches of any size', () => {
    // A small first buffer: the writer grows it as it goes.
    const writer = new EventsWriter(64);
    for (const seed of [1, 2]) {
      const all = eventsOfRandomCommands(seed, 2000, 10);
      const kinds = new Set(all.map((e) => (e.type === 'order' ? `order:${e.kind}` : e.type)));
      expect(kinds.size).toBeGreaterThanOrEqual(12);
      expect(all.some((e) => e.type === 'balance' && e.available > 2n ** 53n)).toBe(true);
      for (const size of [1, 7, 500]) {
        for (let i = 0; i < all.length; i += size) expectSameBytes(writer, all.slice(i, i + size));
      }
      expectSameBytes(writer, all);
    }
    expectSameBytes(writer, []);
  });

  test('escapes strings as JSON does, whatever their length', () => {
    const writer = new EventsWriter(64);
    for (const clientOrderId of [
      'a"b',
      'back\\slash',
      'tab\there\nline',
      'café ☕ 注文',
      '\ud800 lone surrogate',
      '\u007f\u0000',
      'x'.repeat(5000),
      `${'y'.repeat(3000)}"`,
    ]) {
      expectSameBytes(writer, [accepted({ clientOrderId }), accepted({ userId: clientOrderId })]);
    }
  });

  test('writes numbers and amounts at the edges as JSON does', () => {
    const writer = new EventsWriter(64);
    for (const n of [0, 9, 10, 99, 2 ** 31 - 1, 2 ** 31, 1e8, 1e8 - 1, 123_456_789_012_345]) {
      expectSameBytes(writer, [accepted({ price: n, quantity: n, createdAt: n })]);
    }
    expectSameBytes(writer, [accepted({ price: Number.MAX_SAFE_INTEGER })]);
    // Not ours to produce, but written as JSON writes them all the same.
    expectSameBytes(writer, [accepted({ price: -3, quantity: 1.5, createdAt: 2 ** 60 })]);
    for (const x of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 10n ** 30n, -5n]) {
      expectSameBytes(writer, [accepted({ locked: x, quoteAmount: x, filledQuoteAmount: x })]);
    }
  });

  test('writes times from its one-time cache as JSON does, whatever came before', () => {
    const writer = new EventsWriter(64);
    // An order's creation and update times, written one after the other: repeats (cached), a
    // time too long for the cache, then a value that once marked the cache empty.
    const pairs = [
      [1_700_000_000_000, 1_700_000_000_000],
      [5, 5],
      [1.2345678901234567e300, -1],
      [-1, -1],
      [0, 1_700_000_000_123],
    ];
    expectSameBytes(
      writer,
      pairs.map(([createdAt, updatedAt]) => accepted({ createdAt, updatedAt })),
    );
  });

  test('writes an event larger than the room it made, after growing', () => {
    const writer = new EventsWriter(64);
    const levels = Array.from({ length: 3000 }, (_, i): [number, number] => [
      1_000_000 + i,
      2 ** 40 + i,
    ]);
    const wide: ExchangeEvent = {
      type: 'depth',
      seq: 5,
      ts: 1_700_000_000_000,
      market: 'SOL_USDC',
      updateId: 77,
      bids: levels,
      asks: levels.slice(0, 10),
    };
    expectSameBytes(writer, [accepted({}), wide, accepted({ orderId: 2 }), wide]);
  });

  test('hands out a new buffer each time (the last one may still be in flight)', () => {
    const writer = new EventsWriter(64);
    const first = writer.encode([accepted({ orderId: 1 })]);
    const copy = Buffer.from(first);
    writer.encode([accepted({ orderId: 2 })]);
    expect(first.equals(copy)).toBe(true);
  });
});
