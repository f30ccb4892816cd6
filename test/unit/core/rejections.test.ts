import { ERROR_CODES, type ErrorCode, toSnapshot } from '../../../services/engine/core';
import { type CommandBody, Harness } from './harness';

/** Everything but the command and event counters (a refusal is still numbered and reported). */
function state(h: Harness) {
  const { counters, ...rest } = toSnapshot(h.core);
  return { ...rest, counters: { ...counters, command: 0, event: 0 } };
}

interface Case {
  name: string;
  code: ErrorCode;
  command: (h: Harness, users: { rich: string; poor: string }) => CommandBody;
}

const MARKET = {
  type: 'add_market',
  symbol: 'SOL_BTC',
  base: 'SOL',
  quote: 'BTC',
  tickSize: '0.000001',
  lotSize: '0.1',
  minQuantity: '1',
  minNotional: '0.0001',
  makerFee: '0.001',
  takerFee: '0.002',
} as const;

/** A market not yet added, to be spoilt one field at a time. */
const NEW_MARKET = { ...MARKET, symbol: 'SOL_ETH', quote: 'ETH' } as const;

const limit = (userId: string, extra: Record<string, unknown> = {}): CommandBody =>
  ({
    type: 'place_order',
    userId,
    market: 'SOL_USDC',
    side: 'buy',
    orderType: 'limit',
    price: 10000,
    quantity: 100,
    ...extra,
  }) as CommandBody;

const cases: Case[] = [
  { name: 'a zero price', code: 'INVALID_PRICE', command: (_h, u) => limit(u.rich, { price: 0 }) },
  {
    name: 'a negative price',
    code: 'INVALID_PRICE',
    command: (_h, u) => limit(u.rich, { price: -5 }),
  },
  {
    name: 'a fractional tick count',
    code: 'INVALID_PRICE',
    command: (_h, u) => limit(u.rich, { price: 100.5 }),
  },
  {
    name: 'a price above the maximum',
    code: 'INVALID_PRICE',
    command: (_h, u) => limit(u.rich, { price: 2e12 }),
  },
  { name: 'a NaN price', code: 'INVALID_PRICE', command: (_h, u) => limit(u.rich, { price: NaN }) },
  {
    name: 'a missing limit price',
    code: 'INVALID_PRICE',
    command: (_h, u) => limit(u.rich, { price: undefined }),
  },
  {
    name: 'a zero quantity',
    code: 'INVALID_QUANTITY',
    command: (_h, u) => limit(u.rich, { quantity: 0 }),
  },
  {
    name: 'a fractional lot count',
    code: 'INVALID_QUANTITY',
    command: (_h, u) => limit(u.rich, { quantity: 1.5 }),
  },
  {
    name: 'an infinite quantity',
    code: 'INVALID_QUANTITY',
    command: (_h, u) => limit(u.rich, { quantity: Infinity }),
  },
  {
    name: 'a zero deposit',
    code: 'INVALID_AMOUNT',
    command: (_h, u) => ({ type: 'deposit', userId: u.rich, asset: 'USDC', amount: 0n }),
  },
  {
    name: 'a negative withdrawal',
    code: 'INVALID_AMOUNT',
    command: (_h, u) => ({ type: 'withdraw', userId: u.rich, asset: 'USDC', amount: -1n }),
  },
  {
    name: 'an unknown side',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { side: 'hold' }),
  },
  {
    name: 'an unknown order type',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { orderType: 'stop' }),
  },
  {
    name: 'a market order with a price',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { orderType: 'market' }),
  },
  {
    name: 'a market order with quantity and quote amount',
    code: 'INVALID_ORDER',
    command: (_h, u) =>
      limit(u.rich, { orderType: 'market', price: undefined, quoteAmount: 10_000_000n }),
  },
  {
    name: 'a limit order with a quote amount',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { quoteAmount: 10_000_000n }),
  },
  {
    name: 'a post-only market order',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { orderType: 'market', price: undefined, postOnly: true }),
  },
  {
    name: 'an unknown STP mode',
    code: 'INVALID_ORDER',
    command: (_h, u) => limit(u.rich, { selfTradePrevention: 'allow' }),
  },
  {
    name: 'a cancel with no id',
    code: 'INVALID_ORDER',
    command: (_h, u) => ({ type: 'cancel_order', userId: u.rich }),
  },
  {
    name: 'an unknown time in force',
    code: 'INVALID_TIME_IN_FORCE',
    command: (_h, u) => limit(u.rich, { timeInForce: 'GTD' }),
  },
  {
    name: 'a post-only IOC',
    code: 'INVALID_TIME_IN_FORCE',
    command: (_h, u) => limit(u.rich, { timeInForce: 'IOC', postOnly: true }),
  },
  {
    name: 'a FOK market order',
    code: 'INVALID_TIME_IN_FORCE',
    command: (_h, u) =>
      limit(u.rich, { orderType: 'market', price: undefined, timeInForce: 'FOK' }),
  },
  {
    name: 'a client order id with spaces',
    code: 'INVALID_CLIENT_ORDER_ID',
    command: (_h, u) => limit(u.rich, { clientOrderId: 'a b' }),
  },
  {
    name: 'an overlong client order id',
    code: 'INVALID_CLIENT_ORDER_ID',
    command: (_h, u) => limit(u.rich, { clientOrderId: 'x'.repeat(65) }),
  },
  {
    name: 'a market with a tick of zero',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, tickSize: '0' }),
  },
  {
    name: 'a market with an exponent lot',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, lotSize: '1e-3' }),
  },
  {
    name: 'a market whose lot is finer than the base asset',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, lotSize: '0.0000000001' }),
  },
  {
    name: 'a market with a fee of 100%',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, takerFee: '1' }),
  },
  {
    name: 'a market with a lowercase symbol',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, symbol: 'sol_btc' }),
  },
  {
    name: 'a market with minQuantity off the lot',
    code: 'INVALID_MARKET',
    command: () => ({ ...NEW_MARKET, minQuantity: '0.15' }),
  },
  {
    name: 'an asset with a bad symbol',
    code: 'INVALID_ASSET',
    command: () => ({ type: 'add_asset', symbol: 'us dollar', decimals: 2 }),
  },
  {
    name: 'an asset with 31 decimals',
    code: 'INVALID_ASSET',
    command: () => ({ type: 'add_asset', symbol: 'XYZ', decimals: 31 }),
  },
  {
    name: 'a quantity under the minimum',
    code: 'MIN_QUANTITY',
    command: (_h, u) =>
      ({ ...limit(u.rich), market: 'SOL_BTC', price: 1000, quantity: 5 }) as CommandBody,
  },
  {
    name: 'a limit order under 1 USDC',
    code: 'MIN_NOTIONAL',
    command: (_h, u) => limit(u.rich, { price: 99, quantity: 1 }),
  },
  {
    name: 'a market order by quote under 1 USDC',
    code: 'MIN_NOTIONAL',
    command: (_h, u) =>
      limit(u.rich, {
        orderType: 'market',
        price: undefined,
        quantity: undefined,
        quoteAmount: 999_999n,
      }),
  },
  {
    name: 'an unknown market',
    code: 'UNKNOWN_MARKET',
    command: (_h, u) => limit(u.rich, { market: 'DOGE_USDC' }),
  },
  {
    name: 'cancel all in an unknown market',
    code: 'UNKNOWN_MARKET',
    command: (_h, u) => ({ type: 'cancel_all', userId: u.rich, market: 'NOPE' }),
  },
  {
    name: 'a deposit of an unknown asset',
    code: 'UNKNOWN_ASSET',
    command: (_h, u) => ({ type: 'deposit', userId: u.rich, asset: 'DOGE', amount: 1n }),
  },
  {
    name: 'a market of an unknown asset',
    code: 'UNKNOWN_ASSET',
    command: () => ({ ...MARKET, symbol: 'DOGE_USDC', base: 'DOGE', quote: 'USDC' }),
  },
  { name: 'an order of an unknown user', code: 'UNKNOWN_USER', command: () => limit('999') },
  {
    name: 'a deposit to an unknown user',
    code: 'UNKNOWN_USER',
    command: () => ({ type: 'deposit', userId: 'x', asset: 'USDC', amount: 1n }),
  },
  {
    name: 'a cancel of a missing order',
    code: 'ORDER_NOT_FOUND',
    command: (_h, u) => ({ type: 'cancel_order', userId: u.rich, orderId: 12345 }),
  },
  {
    name: "a cancel of another user's order",
    code: 'ORDER_NOT_FOUND',
    command: (_h, u) => ({ type: 'cancel_order', userId: u.poor, orderId: 1 }),
  },
  {
    name: 'an amend of a missing client id',
    code: 'ORDER_NOT_FOUND',
    command: (_h, u) => ({
      type: 'amend_order',
      userId: u.rich,
      clientOrderId: 'none',
      quantity: 1,
    }),
  },
  {
    name: 'a reused client order id',
    code: 'DUPLICATE_CLIENT_ORDER_ID',
    command: (_h, u) => limit(u.rich, { clientOrderId: 'resting', price: 9000 }),
  },
  {
    name: 'a market that exists',
    code: 'MARKET_EXISTS',
    command: () => ({ ...MARKET, symbol: 'SOL_USDC', quote: 'USDC' }),
  },
  {
    name: 'an asset that exists',
    code: 'ASSET_EXISTS',
    command: () => ({ type: 'add_asset', symbol: 'BTC', decimals: 8 }),
  },
  {
    name: 'a user with a key hash in use',
    code: 'USER_EXISTS',
    command: () => ({ type: 'create_user', apiKeyHash: 'rich-key' }),
  },
  {
    name: 'an idempotency key reused for another amount',
    code: 'IDEMPOTENCY_KEY_REUSED',
    command: (_h, u) => ({
      type: 'deposit',
      userId: u.rich,
      asset: 'USDC',
      amount: 2n,
      idempotencyKey: 'dep-1',
    }),
  },
  {
    name: 'a buy beyond available quote',
    code: 'INSUFFICIENT_BALANCE',
    command: (_h, u) => limit(u.poor),
  },
  {
    name: 'a sell beyond available base',
    code: 'INSUFFICIENT_BALANCE',
    command: (_h, u) => limit(u.poor, { side: 'sell', quantity: 1000 }),
  },
  {
    name: 'a market buy with nothing available',
    code: 'INSUFFICIENT_BALANCE',
    command: (_h, u) => limit(u.poor, { orderType: 'market', price: undefined }),
  },
  {
    name: 'a withdrawal beyond available',
    code: 'INSUFFICIENT_BALANCE',
    command: (_h, u) => ({ type: 'withdraw', userId: u.rich, asset: 'SOL', amount: 10n ** 12n }),
  },
  {
    name: 'a post-only order that would take',
    code: 'WOULD_TAKE',
    command: (_h, u) => limit(u.poor, { side: 'sell', price: 500, postOnly: true }),
  },
  {
    name: 'a FOK order larger than the book',
    code: 'FOK_NOT_FILLABLE',
    command: (_h, u) =>
      limit(u.poor, { side: 'sell', price: 500, timeInForce: 'FOK', quantity: 200 }),
  },
];

describe('rejections', () => {
  let h: Harness;
  let users: { rich: string; poor: string };
  beforeEach(() => {
    h = new Harness();
    h.ok(MARKET);
    const rich = h.ok({ type: 'create_user', apiKeyHash: 'rich-key' }).reply;
    if (rich.kind !== 'user') throw new Error('no user');
    users = { rich: rich.userId, poor: h.user({ SOL: '5' }) };
    h.ok({
      type: 'deposit',
      userId: users.rich,
      asset: 'USDC',
      amount: 1_000_000_000n,
      idempotencyKey: 'dep-1',
    });
    h.deposit(users.rich, 'SOL', '100');
    // A resting bid (order 1) with a client order id, for the duplicate and not-found cases.
    h.place(users.rich, { side: 'buy', price: '10', quantity: '1', clientOrderId: 'resting' });
  });

  it.each(cases)('refuses $name with $code and changes nothing', ({ code, command }) => {
    const before = state(h);
    const outcome = h.run(command(h, users));
    expect(outcome.error?.code).toBe(code);
    expect(outcome.error?.kind).toBe(ERROR_CODES[code]);
    expect(outcome.events.filter((e) => e.type !== 'order_rejected')).toEqual([]);
    expect(state(h)).toEqual(before);
  });

  it('has a case for every error code', () => {
    const covered = new Set(cases.map((c) => c.code));
    expect(Object.keys(ERROR_CODES).filter((c) => !covered.has(c as ErrorCode))).toEqual([]);
  });

  it('reports a refused order as an order_rejected event with its code', () => {
    const outcome = h.run(limit(users.poor, { clientOrderId: 'c1' }));
    expect(outcome.events).toEqual([
      expect.objectContaining({
        type: 'order_rejected',
        userId: users.poor,
        code: 'INSUFFICIENT_BALANCE',
        clientOrderId: 'c1',
      }),
    ]);
  });
});
