import { Harness } from './harness';

const order = Harness.order;

describe('limit orders', () => {
  let h: Harness;
  let buyer: string;
  let seller: string;
  beforeEach(() => {
    h = new Harness();
    buyer = h.user({ USDC: '1000' });
    seller = h.user({ SOL: '10' });
  });

  it('rests a GTC order that does not cross and locks its notional', () => {
    const r = order(h.place(buyer, { side: 'buy', price: '100', quantity: '1' }));
    expect(r.order.status).toBe('new');
    expect(r.fills).toEqual([]);
    expect(h.balances(buyer)).toEqual({ USDC: '900 / 100' });
    expect(h.core.depth('SOL_USDC')).toMatchObject({ bids: [[10000, 100]], asks: [] });
  });

  it('fills a crossing order at the maker price and charges maker and taker fees', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '2' });
    const r = order(h.place(buyer, { side: 'buy', price: '100', quantity: '2' }));
    expect(r.order.status).toBe('filled');
    expect(r.fills).toEqual([
      {
        tradeId: 1,
        price: 10000,
        quantity: 200,
        quoteAmount: 200_000_000n,
        fee: 4_000_000n,
        feeAsset: 'SOL',
        liquidity: 'taker',
      },
    ]);
    expect(h.balances(buyer)).toEqual({ USDC: '800 / 0', SOL: '1.996 / 0' });
    expect(h.balances(seller)).toEqual({ USDC: '199.8 / 0', SOL: '8 / 0' });
    expect(h.fees()).toEqual({ USDC: '0.2', SOL: '0.004' });
    expect(h.core.depth('SOL_USDC')).toMatchObject({ bids: [], asks: [] });
  });

  it('releases the difference when a buy fills below its limit, and locks only the rest', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    const r = order(h.place(buyer, { side: 'buy', price: '101', quantity: '2' }));
    expect(r.order).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 100,
      locked: 101_000_000n,
    });
    // paid 100 for the fill, 101 stays locked for the resting 1 SOL: 1000 - 100 - 101 = 799
    expect(h.balances(buyer)).toEqual({ USDC: '799 / 101', SOL: '0.998 / 0' });
    expect(h.core.depth('SOL_USDC')).toMatchObject({ bids: [[10100, 100]], asks: [] });
  });

  it('walks several levels best price first, oldest first within a level', () => {
    const other = h.user({ SOL: '10' });
    const a = order(h.place(seller, { side: 'sell', price: '101', quantity: '1' })).order.orderId;
    const b = order(h.place(seller, { side: 'sell', price: '100', quantity: '1' })).order.orderId;
    const c = order(h.place(other, { side: 'sell', price: '100', quantity: '1' })).order.orderId;
    const out = h.place(buyer, { side: 'buy', price: '101', quantity: '2.5' });
    const trades = out.events.filter((e) => e.type === 'trade');
    expect(trades.map((t) => [t.maker.orderId, t.price, t.quantity])).toEqual([
      [b, 10000, 100],
      [c, 10000, 100],
      [a, 10100, 50],
    ]);
    expect(h.core.depth('SOL_USDC').asks).toEqual([[10100, 50]]);
  });

  it('leaves a partially filled maker on the book with its remaining quantity', () => {
    const maker = order(h.place(seller, { side: 'sell', price: '100', quantity: '3' })).order
      .orderId;
    h.place(buyer, { side: 'buy', price: '100', quantity: '1' });
    expect(h.core.order(seller, maker)).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 100,
      locked: 2_000_000_000n,
    });
    expect(h.core.depth('SOL_USDC').asks).toEqual([[10000, 200]]);
    expect(h.balances(seller)).toEqual({ USDC: '99.9 / 0', SOL: '7 / 2' });
  });

  it('IOC fills what it can and expires the rest, releasing its lock', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    const r = order(
      h.place(buyer, { side: 'buy', price: '100', quantity: '2', timeInForce: 'IOC' }),
    );
    expect(r.order).toMatchObject({ status: 'expired', filledQuantity: 100, locked: 0n });
    expect(h.balances(buyer)).toEqual({ USDC: '900 / 0', SOL: '0.998 / 0' });
    expect(h.core.depth('SOL_USDC').bids).toEqual([]);
  });

  it('IOC that does not cross expires without a trade', () => {
    const out = h.place(buyer, { side: 'buy', price: '100', quantity: '1', timeInForce: 'IOC' });
    expect(order(out).order.status).toBe('expired');
    const closing = out.events.find((e) => e.type === 'order' && e.kind === 'expired');
    expect(closing).toMatchObject({ reason: 'time_in_force' });
    expect(h.balances(buyer)).toEqual({ USDC: '1000 / 0' });
  });

  it('FOK fills completely across levels', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    h.place(seller, { side: 'sell', price: '101', quantity: '1' });
    const r = order(
      h.place(buyer, { side: 'buy', price: '101', quantity: '2', timeInForce: 'FOK' }),
    );
    expect(r.order.status).toBe('filled');
    expect(r.fills.map((f) => f.price)).toEqual([10000, 10100]);
  });

  it('FOK that cannot fill completely is refused and changes nothing', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    const before = h.core.depth('SOL_USDC');
    const err = h.refused(
      h.placeCmd(buyer, { side: 'buy', price: '100', quantity: '2', timeInForce: 'FOK' }),
    );
    expect(err.code).toBe('FOK_NOT_FILLABLE');
    expect(h.core.depth('SOL_USDC')).toEqual(before);
    expect(h.balances(buyer)).toEqual({ USDC: '1000 / 0' });
  });

  it('post-only rests when it would not take and is refused when it would', () => {
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    expect(
      order(h.place(buyer, { side: 'buy', price: '99.99', quantity: '1', postOnly: true })).order
        .status,
    ).toBe('new');
    const err = h.refused(
      h.placeCmd(buyer, { side: 'buy', price: '100', quantity: '1', postOnly: true }),
    );
    expect(err.code).toBe('WOULD_TAKE');
    expect(h.balances(buyer)).toEqual({ USDC: '900.01 / 99.99' });
  });
});

describe('market orders', () => {
  let h: Harness;
  let maker: string;
  beforeEach(() => {
    h = new Harness();
    maker = h.user({ SOL: '10', USDC: '1000' });
  });

  it('buys a base quantity across levels and releases what it did not spend', () => {
    h.place(maker, { side: 'sell', price: '100', quantity: '1' });
    h.place(maker, { side: 'sell', price: '101', quantity: '1' });
    const taker = h.user({ USDC: '1000' });
    const r = order(h.place(taker, { side: 'buy', type: 'market', quantity: '1.5' }));
    expect(r.order).toMatchObject({
      status: 'filled',
      filledQuantity: 150,
      filledQuoteAmount: 150_500_000n,
      locked: 0n,
    });
    expect(h.balances(taker)).toEqual({ USDC: '849.5 / 0', SOL: '1.497 / 0' });
  });

  it('buys by quantity no further than the buyer can pay', () => {
    h.place(maker, { side: 'sell', price: '100', quantity: '1' });
    h.place(maker, { side: 'sell', price: '101', quantity: '1' });
    const taker = h.user({ USDC: '150' });
    const out = h.place(taker, { side: 'buy', type: 'market', quantity: '2' });
    // 1 SOL for 100, then 50 USDC buys 0.49 SOL at 101 (49.49)
    expect(order(out).order).toMatchObject({
      status: 'expired',
      filledQuantity: 149,
      filledQuoteAmount: 149_490_000n,
    });
    expect(out.events.find((e) => e.type === 'order' && e.kind === 'expired')).toMatchObject({
      reason: 'insufficient_funds',
    });
    expect(h.balances(taker)).toEqual({ USDC: '0.51 / 0', SOL: '1.48702 / 0' });
  });

  it('buys by quote amount, never spending more than the amount', () => {
    h.place(maker, { side: 'sell', price: '100', quantity: '1' });
    h.place(maker, { side: 'sell', price: '101', quantity: '1' });
    const taker = h.user({ USDC: '1000' });
    const r = order(h.place(taker, { side: 'buy', type: 'market', quoteAmount: '150' }));
    expect(r.order).toMatchObject({
      status: 'filled',
      filledQuantity: 149,
      filledQuoteAmount: 149_490_000n,
    });
    expect(h.balances(taker)).toEqual({ USDC: '850.51 / 0', SOL: '1.48702 / 0' });
  });

  it('sells a base quantity into the bids', () => {
    h.place(maker, { side: 'buy', price: '100', quantity: '1' });
    h.place(maker, { side: 'buy', price: '99', quantity: '1' });
    const taker = h.user({ SOL: '2' });
    const r = order(h.place(taker, { side: 'sell', type: 'market', quantity: '1.5' }));
    expect(r.order).toMatchObject({ status: 'filled', filledQuoteAmount: 149_500_000n });
    expect(h.balances(taker)).toEqual({ USDC: '149.201 / 0', SOL: '0.5 / 0' });
  });

  it('sells for a quote amount, taking no more base than it needs', () => {
    h.place(maker, { side: 'buy', price: '100', quantity: '1' });
    h.place(maker, { side: 'buy', price: '99', quantity: '1' });
    const taker = h.user({ SOL: '5' });
    const r = order(h.place(taker, { side: 'sell', type: 'market', quoteAmount: '150' }));
    // 1 SOL at 100, then 0.5 SOL at 99 = 49.5; one more lot would pass 150
    expect(r.order).toMatchObject({
      status: 'filled',
      filledQuantity: 150,
      filledQuoteAmount: 149_500_000n,
      locked: 0n,
    });
    expect(h.balances(taker)).toEqual({ USDC: '149.201 / 0', SOL: '3.5 / 0' });
  });

  it('expires with nothing to trade against and releases everything', () => {
    const taker = h.user({ USDC: '100' });
    const out = h.place(taker, { side: 'buy', type: 'market', quantity: '1' });
    expect(order(out).order.status).toBe('expired');
    expect(out.events.find((e) => e.type === 'order' && e.kind === 'expired')).toMatchObject({
      reason: 'no_liquidity',
    });
    expect(h.balances(taker)).toEqual({ USDC: '100 / 0' });
  });
});

describe('self-trade prevention', () => {
  let h: Harness;
  let me: string;
  let other: string;
  beforeEach(() => {
    h = new Harness();
    me = h.user({ SOL: '10', USDC: '1000' });
    other = h.user({ SOL: '10' });
  });

  it('cancel_taker (the default) stops the taker at its own order; earlier fills stand', () => {
    h.place(other, { side: 'sell', price: '99', quantity: '1' });
    const mine = order(h.place(me, { side: 'sell', price: '100', quantity: '1' })).order.orderId;
    const out = h.place(me, { side: 'buy', price: '100', quantity: '2' });
    expect(order(out).order).toMatchObject({
      status: 'cancelled',
      filledQuantity: 100,
      locked: 0n,
    });
    expect(out.events.find((e) => e.type === 'order' && e.kind === 'cancelled')).toMatchObject({
      reason: 'self_trade',
    });
    expect(h.core.order(me, mine)?.status).toBe('new');
    expect(h.core.depth('SOL_USDC')).toMatchObject({ bids: [], asks: [[10000, 100]] });
  });

  it('cancel_maker cancels the own resting order and keeps matching', () => {
    const mine = order(h.place(me, { side: 'sell', price: '100', quantity: '1' })).order.orderId;
    h.place(other, { side: 'sell', price: '100', quantity: '1' });
    const r = order(
      h.place(me, {
        side: 'buy',
        price: '100',
        quantity: '1',
        selfTradePrevention: 'cancel_maker',
      }),
    );
    expect(r.order.status).toBe('filled');
    expect(h.core.order(me, mine)).toBeUndefined();
    expect(h.core.openOrders(me)).toEqual([]);
    expect(h.balances(me)).toEqual({ USDC: '900 / 0', SOL: '10.998 / 0' });
  });

  it('cancel_both cancels the own resting order and the taker', () => {
    h.place(me, { side: 'sell', price: '100', quantity: '1' });
    h.place(other, { side: 'sell', price: '100', quantity: '1' });
    const r = order(
      h.place(me, { side: 'buy', price: '100', quantity: '1', selfTradePrevention: 'cancel_both' }),
    );
    expect(r.order).toMatchObject({ status: 'cancelled', filledQuantity: 0 });
    expect(h.core.openOrders(me)).toEqual([]);
    expect(h.core.depth('SOL_USDC').asks).toEqual([[10000, 100]]);
    expect(h.balances(me)).toEqual({ USDC: '1000 / 0', SOL: '10 / 0' });
  });

  it('FOK with cancel_taker is not fillable through an own order', () => {
    h.place(me, { side: 'sell', price: '100', quantity: '1' });
    h.place(other, { side: 'sell', price: '100', quantity: '1' });
    const err = h.refused(
      h.placeCmd(me, { side: 'buy', price: '100', quantity: '1', timeInForce: 'FOK' }),
    );
    expect(err.code).toBe('FOK_NOT_FILLABLE');
  });
});

describe('cancel, cancel all, amend', () => {
  let h: Harness;
  let me: string;
  beforeEach(() => {
    h = new Harness();
    me = h.user({ SOL: '10', USDC: '1000', BTC: '1' });
  });

  it('cancels by order id and by client order id, releasing the lock', () => {
    const a = order(h.place(me, { side: 'buy', price: '100', quantity: '1' })).order.orderId;
    h.place(me, { side: 'sell', price: '110', quantity: '1', clientOrderId: 'my-sell' });
    expect(order(h.ok({ type: 'cancel_order', userId: me, orderId: a })).order.status).toBe(
      'cancelled',
    );
    expect(
      order(h.ok({ type: 'cancel_order', userId: me, clientOrderId: 'my-sell' })).order.status,
    ).toBe('cancelled');
    expect(h.balances(me)).toEqual({ USDC: '1000 / 0', SOL: '10 / 0', BTC: '1 / 0' });
    expect(h.core.depth('SOL_USDC')).toMatchObject({ bids: [], asks: [] });
  });

  it("refuses to cancel another user's order and leaves it intact", () => {
    const a = order(h.place(me, { side: 'buy', price: '100', quantity: '1' })).order.orderId;
    const intruder = h.user();
    expect(h.refused({ type: 'cancel_order', userId: intruder, orderId: a }).code).toBe(
      'ORDER_NOT_FOUND',
    );
    expect(h.core.order(me, a)?.status).toBe('new');
    expect(h.core.order(intruder, a)).toBeUndefined();
  });

  it('cancels all orders of one market or of every market', () => {
    h.place(me, { side: 'buy', price: '100', quantity: '1' });
    h.place(me, { side: 'sell', price: '110', quantity: '1' });
    h.place(me, { market: 'BTC_USDC', side: 'sell', price: '50000', quantity: '0.1' });
    const one = h.ok({ type: 'cancel_all', userId: me, market: 'SOL_USDC' });
    expect(one.reply.kind === 'orders' && one.reply.orders.map((o) => o.market)).toEqual([
      'SOL_USDC',
      'SOL_USDC',
    ]);
    expect(h.core.openOrders(me).map((o) => o.market)).toEqual(['BTC_USDC']);
    const all = h.ok({ type: 'cancel_all', userId: me });
    expect(all.reply.kind === 'orders' && all.reply.orders.length).toBe(1);
    expect(h.balances(me)).toEqual({ USDC: '1000 / 0', SOL: '10 / 0', BTC: '1 / 0' });
  });

  it('amends a quantity down, keeping time priority and releasing the lock', () => {
    const first = order(h.place(me, { side: 'sell', price: '100', quantity: '3' })).order.orderId;
    const other = h.user({ SOL: '10' });
    h.place(other, { side: 'sell', price: '100', quantity: '1' });
    const amended = order(h.ok({ type: 'amend_order', userId: me, orderId: first, quantity: 100 }));
    expect(amended.order).toMatchObject({ quantity: 100, locked: 1_000_000_000n });
    expect(h.balances(me).SOL).toBe('9 / 1');
    expect(h.core.depth('SOL_USDC').asks).toEqual([[10000, 200]]);
    const buyer = h.user({ USDC: '1000' });
    const trades = h
      .place(buyer, { side: 'buy', price: '100', quantity: '1' })
      .events.filter((e) => e.type === 'trade');
    expect(trades.map((t) => t.maker.orderId)).toEqual([first]);
  });

  it('amends a buy down and unlocks the notional of the cut', () => {
    const id = order(h.place(me, { side: 'buy', price: '100', quantity: '3' })).order.orderId;
    h.ok({ type: 'amend_order', userId: me, orderId: id, quantity: 100 });
    expect(h.balances(me).USDC).toBe('900 / 100');
  });

  it('refuses an amend up, to the filled quantity, or of a missing order', () => {
    const id = order(h.place(me, { side: 'sell', price: '100', quantity: '2' })).order.orderId;
    const buyer = h.user({ USDC: '1000' });
    h.place(buyer, { side: 'buy', price: '100', quantity: '1' });
    expect(h.refused({ type: 'amend_order', userId: me, orderId: id, quantity: 300 }).code).toBe(
      'INVALID_QUANTITY',
    );
    expect(h.refused({ type: 'amend_order', userId: me, orderId: id, quantity: 200 }).code).toBe(
      'INVALID_QUANTITY',
    );
    expect(h.refused({ type: 'amend_order', userId: me, orderId: id, quantity: 100 }).code).toBe(
      'INVALID_QUANTITY',
    );
    expect(h.refused({ type: 'amend_order', userId: me, orderId: 999, quantity: 1 }).code).toBe(
      'ORDER_NOT_FOUND',
    );
    expect(h.core.order(me, id)).toMatchObject({ quantity: 200, filledQuantity: 100 });
  });
});

describe('client order ids', () => {
  it('returns the original order for an identical repeat and refuses a different one', () => {
    const h = new Harness();
    const me = h.user({ USDC: '1000' });
    const first = order(
      h.place(me, { side: 'buy', price: '100', quantity: '1', clientOrderId: 'abc' }),
    );
    const again = h.place(me, { side: 'buy', price: '100', quantity: '1', clientOrderId: 'abc' });
    expect(order(again)).toMatchObject({ replayed: true, order: { orderId: first.order.orderId } });
    expect(again.events).toEqual([]);
    expect(h.balances(me)).toEqual({ USDC: '900 / 100' });
    const err = h.refused(
      h.placeCmd(me, { side: 'buy', price: '101', quantity: '1', clientOrderId: 'abc' }),
    );
    expect(err.code).toBe('DUPLICATE_CLIENT_ORDER_ID');
  });

  it('is unique among open orders only: free again once the order is closed', () => {
    const h = new Harness();
    const me = h.user({ USDC: '1000' });
    h.place(me, { side: 'buy', price: '100', quantity: '1', clientOrderId: 'abc' });
    h.ok({ type: 'cancel_order', userId: me, clientOrderId: 'abc' });
    const r = order(
      h.place(me, { side: 'buy', price: '101', quantity: '1', clientOrderId: 'abc' }),
    );
    expect(r).toMatchObject({ replayed: false, order: { price: 10100 } });
  });
});

describe('fees and rounding', () => {
  it('rounds a fee up to the minor unit', () => {
    const h = new Harness();
    const seller = h.user({ SOL: '1' });
    const buyer = h.user({ USDC: '10' });
    h.place(seller, { side: 'sell', price: '123.45', quantity: '0.01' });
    const out = h.place(buyer, { side: 'buy', price: '123.45', quantity: '0.01' });
    const trade = out.events.find((e) => e.type === 'trade');
    // notional 1.2345 USDC; maker fee 0.1% = 0.0012345 -> 0.001235; taker fee 0.2% of 0.01 SOL
    expect(trade).toMatchObject({
      quoteAmount: 1_234_500n,
      maker: { fee: 1235n, feeAsset: 'USDC' },
      taker: { fee: 20_000n, feeAsset: 'SOL' },
    });
    expect(h.balances(seller).USDC).toBe('1.233265 / 0');
  });

  it('rounds a notional finer than the quote unit down, the same for buyer and seller', () => {
    const h = new Harness();
    const seller = h.user({ BTC: '1' });
    const buyer = h.user({ USDC: '100' });
    h.place(seller, { market: 'BTC_USDC', side: 'sell', price: '50000.03', quantity: '0.00011' });
    const r = order(
      h.place(buyer, { market: 'BTC_USDC', side: 'buy', price: '50000.03', quantity: '0.00011' }),
    );
    // 50000.03 * 0.00011 = 5.5000033 USDC -> 5.500003
    expect(r.fills[0].quoteAmount).toBe(5_500_003n);
    expect(h.balances(buyer)).toEqual({ USDC: '94.499997 / 0', BTC: '0.00010978 / 0' });
    expect(h.fees()).toEqual({ USDC: '0.005501', BTC: '0.00000022' });
  });
});

describe('events', () => {
  it('reports a trade as accepted, trade, fills, balances and one depth update, with gap-free seqs', () => {
    const h = new Harness();
    const seller = h.user({ SOL: '1' });
    const buyer = h.user({ USDC: '1000' });
    h.place(seller, { side: 'sell', price: '100', quantity: '1' });
    const out = h.place(buyer, { side: 'buy', price: '100', quantity: '1' });
    expect(out.events.map((e) => (e.type === 'order' ? `order:${e.kind}` : e.type))).toEqual([
      'order:accepted',
      'trade',
      'order:filled',
      'order:filled',
      'balance',
      'balance',
      'balance',
      'balance',
      'depth',
    ]);
    const seqs = out.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
    expect(out.events.find((e) => e.type === 'depth')).toMatchObject({
      updateId: 2,
      bids: [],
      asks: [[10000, 0]],
    });
    expect(h.core.depth('SOL_USDC').lastUpdateId).toBe(2);
  });

  it('are identical for the same commands in the same order', () => {
    const run = () => {
      const h = new Harness();
      const a = h.user({ SOL: '5', USDC: '500' });
      const b = h.user({ SOL: '5', USDC: '500' });
      const events = [];
      events.push(...h.place(a, { side: 'sell', price: '100', quantity: '2' }).events);
      events.push(...h.place(b, { side: 'buy', price: '101', quantity: '3' }).events);
      events.push(...h.place(a, { side: 'sell', type: 'market', quantity: '0.5' }).events);
      return JSON.stringify(events, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    };
    expect(run()).toBe(run());
  });
});

describe('markets at run time', () => {
  it('adds a market (the seed add_orderbook) and trades on it', () => {
    const h = new Harness();
    h.ok({ type: 'add_asset', symbol: 'DOGE', decimals: 8 });
    h.ok({
      type: 'add_market',
      symbol: 'DOGE_USDC',
      base: 'DOGE',
      quote: 'USDC',
      tickSize: '0.00001',
      lotSize: '1',
      minQuantity: '10',
      minNotional: '1',
      makerFee: '0',
      takerFee: '0.0005',
    });
    const seller = h.user({ DOGE: '1000' });
    const buyer = h.user({ USDC: '100' });
    h.place(seller, { market: 'DOGE_USDC', side: 'sell', price: '0.12345', quantity: '100' });
    const r = order(
      h.place(buyer, { market: 'DOGE_USDC', side: 'buy', price: '0.2', quantity: '100' }),
    );
    expect(r.fills[0]).toMatchObject({
      quoteAmount: 12_345_000n,
      fee: 5_000_000n,
      feeAsset: 'DOGE',
    });
    expect(h.balances(seller)).toEqual({ USDC: '12.345 / 0', DOGE: '900 / 0' });
    expect(h.core.marketViews().map((m) => m.symbol)).toContain('DOGE_USDC');
  });
});

describe('market orders sized by quote amount', () => {
  it('are filled once the amount is spent, even when that empties the book', () => {
    const h = new Harness();
    const maker = h.user({ SOL: '1' });
    h.place(maker, { side: 'sell', price: '100', quantity: '0.02' });
    const taker = h.user({ USDC: '10' });
    const r = Harness.order(h.place(taker, { side: 'buy', type: 'market', quoteAmount: '2' }));
    expect(r.order).toMatchObject({
      status: 'filled',
      filledQuantity: 2,
      filledQuoteAmount: 2_000_000n,
      locked: 0n,
    });
  });
});
