/**
 * The engine writes PlaceOrder and PlaceOrders replies with `ReplyWriter`, straight into bytes;
 * the generated encoder of `orderToProto` / `fillToProto` defines them. The two must agree on
 * every byte, over every kind of order the core makes (limit and market, by quote amount, with
 * client order ids, post-only, every self-trade mode and status, fills with fees in either
 * asset, ETH amounts past 2^53).
 */
import {
  OrderEntryResponse,
  PlaceOrderResponse,
  PlaceOrdersResponse,
} from '../../gen/exchange/v1/engine';
import type { RequestError } from '../../gen/exchange/v1/common';
import type { ExchangeCore } from '../../services/engine/core';
import { fillToProto, orderToProto } from '../../services/engine/proto-mapping';
import { type PlacedOrder, ReplyWriter } from '../../services/engine/reply-writer';
import { Harness } from './core/harness';
import { randomCommands } from './core/random-commands';

const generated = (core: ExchangeCore, p: PlacedOrder): PlaceOrderResponse => ({
  order: orderToProto(core, p.order),
  fills: p.fills.map((f) => fillToProto(core, p.order, f, p.order.updatedAt)),
});

/** The placed orders of `count` random commands on a funded core. */
function placedOrders(seed: number, count: number): { core: ExchangeCore; placed: PlacedOrder[] } {
  const h = new Harness();
  for (let i = 0; i < 6; i++) {
    h.ok({ type: 'create_user', apiKeyHash: `k${i}` });
    h.deposit(String(i + 1), 'USDC', '1000000');
    h.deposit(String(i + 1), 'SOL', '100000');
    h.deposit(String(i + 1), 'BTC', '100');
    h.deposit(String(i + 1), 'ETH', '1000');
  }
  const placed: PlacedOrder[] = [];
  for (const body of randomCommands(seed, count, 6)) {
    const outcome = h.run(body);
    if (outcome.error === null && outcome.reply.kind === 'order') placed.push(outcome.reply);
  }
  return { core: h.core, placed };
}

const refusals: RequestError[] = [
  {
    code: 'INSUFFICIENT_BALANCE',
    message: 'available USDC is less than the order needs',
    grpcCode: 9,
  },
  { code: 'INVALID_PRICE', message: 'price “1,5” is not a decimal — ünïcödé 😀', grpcCode: 3 },
  { code: '', message: '', grpcCode: 0 },
  { code: 'INTERNAL', message: 'x'.repeat(300), grpcCode: 13 },
];

describe('ReplyWriter', () => {
  const { core, placed } = placedOrders(7, 6000);

  it('has a varied sample to check', () => {
    const orders = placed.map((p) => p.order);
    expect(placed.length).toBeGreaterThan(2000);
    expect(placed.filter((p) => p.fills.length > 1).length).toBeGreaterThan(50);
    expect(orders.filter((o) => o.type === 'market').length).toBeGreaterThan(50);
    expect(orders.filter((o) => o.quoteAmount > 0n).length).toBeGreaterThan(10);
    expect(orders.filter((o) => o.clientOrderId !== null).length).toBeGreaterThan(50);
    expect(orders.filter((o) => o.postOnly).length).toBeGreaterThan(10);
    expect(new Set(orders.map((o) => o.status)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(orders.map((o) => o.market)).size).toBe(3);
    const ethFills = placed.filter((p) => p.order.market === 'ETH_USDC' && p.fills.length > 0);
    expect(ethFills.length).toBeGreaterThan(10);
  });

  it('writes each PlaceOrder reply as the generated encoder does', () => {
    const writer = new ReplyWriter(64); // small: every reply makes it grow at first
    for (const p of placed) {
      const expected = Buffer.from(PlaceOrderResponse.encode(generated(core, p)).finish());
      expect(writer.placeOrder(core, p).equals(expected)).toBe(true);
    }
  });

  it('writes PlaceOrders replies, placed orders and refusals mixed, as the generated encoder does', () => {
    const writer = new ReplyWriter(64);
    for (let start = 0; start < placed.length; start += 250) {
      const results: (PlacedOrder | RequestError)[] = placed.slice(start, start + 250);
      results.splice(7, 0, ...refusals);
      const expected = PlaceOrdersResponse.encode({
        results: results.map((r) =>
          'order' in r
            ? { result: { $case: 'placed' as const, value: generated(core, r) } }
            : { result: { $case: 'error' as const, value: r } },
        ),
      }).finish();
      const written = writer.placeOrders(core, results);
      expect(written.equals(Buffer.from(expected))).toBe(true);
      // And it reads back as what was meant.
      expect(PlaceOrdersResponse.decode(written).results).toHaveLength(results.length);
    }
    expect(writer.placeOrders(core, []).length).toBe(0);
  });

  it("writes the OrderEntry stream's answer for a placed order as the generated encoder does", () => {
    const writer = new ReplyWriter(64);
    placed.slice(0, 500).forEach((p, i) => {
      const requestId = i % 50 === 0 ? `ünïcödé-${i}` : i % 7 === 0 ? '' : `req-${i}`;
      const expected = OrderEntryResponse.encode({
        requestId,
        result: { $case: 'placed', value: generated(core, p) },
      }).finish();
      expect(writer.orderEntryPlaced(core, requestId, p).equals(Buffer.from(expected))).toBe(true);
    });
  });

  it('writes a result again when it crosses the end of the buffer, whatever ends up moved', () => {
    // Every size around the buffer's end: some results end a few bytes past it before their
    // nested lengths are moved down onto the bytes they did not need.
    const base = placed.find((p) => p.fills.length === 0) as PlacedOrder;
    for (const ch of ['u', 'é']) {
      for (let n = 850; n < 1150; n++) {
        const userId = ch.repeat(ch === 'u' ? n : n >> 1);
        const long: PlacedOrder = { order: { ...base.order, userId }, fills: [] };
        const reply = generated(core, long);
        expect(
          new ReplyWriter(1024)
            .placeOrder(core, long)
            .equals(Buffer.from(PlaceOrderResponse.encode(reply).finish())),
        ).toBe(true);
        expect(
          new ReplyWriter(1024).orderEntryPlaced(core, 'r1', long).equals(
            Buffer.from(
              OrderEntryResponse.encode({
                requestId: 'r1',
                result: { $case: 'placed', value: reply },
              }).finish(),
            ),
          ),
        ).toBe(true);
        expect(
          new ReplyWriter(1024).placeOrders(core, [long]).equals(
            Buffer.from(
              PlaceOrdersResponse.encode({
                results: [{ result: { $case: 'placed', value: reply } }],
              }).finish(),
            ),
          ),
        ).toBe(true);
      }
    }
    // Refusals of a market name a client sent, 60 to a call, across the first buffer's end.
    for (let n = 1000; n < 1400; n++) {
      const refused: RequestError = {
        code: 'UNKNOWN_MARKET',
        message: `unknown market ${'X'.repeat(n)}`,
        grpcCode: 5,
      };
      const results = Array.from({ length: 60 }, () => refused);
      const expected = PlaceOrdersResponse.encode({
        results: results.map((value) => ({ result: { $case: 'error' as const, value } })),
      }).finish();
      expect(new ReplyWriter().placeOrders(core, results).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('writes a nested message of 2 MiB and more (a length of four bytes)', () => {
    const withFills = placed.find((p) => p.fills.length > 1) as PlacedOrder;
    const fills = Array.from(
      { length: 40_000 },
      (_, i) => withFills.fills[i % withFills.fills.length],
    );
    const sweep: PlacedOrder = { order: withFills.order, fills };
    const expected = PlaceOrdersResponse.encode({
      results: [{ result: { $case: 'placed', value: generated(core, sweep) } }],
    }).finish();
    expect(expected.length).toBeGreaterThan(2 ** 21);
    expect(new ReplyWriter().placeOrders(core, [sweep]).equals(Buffer.from(expected))).toBe(true);
    const entry = OrderEntryResponse.encode({
      requestId: 'sweep',
      result: { $case: 'placed', value: generated(core, sweep) },
    }).finish();
    expect(
      new ReplyWriter().orderEntryPlaced(core, 'sweep', sweep).equals(Buffer.from(entry)),
    ).toBe(true);
  });

  it('gives each reply its own bytes (the next reply does not overwrite the last)', () => {
    const writer = new ReplyWriter();
    const first = writer.placeOrder(core, placed[0]);
    const copy = Buffer.from(first);
    writer.placeOrder(core, placed[1]);
    expect(first.equals(copy)).toBe(true);
  });
});
