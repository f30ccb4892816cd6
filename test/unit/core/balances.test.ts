import { Harness } from './harness';

describe('deposits and withdrawals', () => {
  it('withdraws only from available, not from what orders lock', () => {
    const h = new Harness();
    const me = h.user({ USDC: '100' });
    h.place(me, { side: 'buy', price: '50', quantity: '1' });
    expect(
      h.refused({ type: 'withdraw', userId: me, asset: 'USDC', amount: 50_000_001n }).code,
    ).toBe('INSUFFICIENT_BALANCE');
    const r = h.ok({ type: 'withdraw', userId: me, asset: 'USDC', amount: 50_000_000n }).reply;
    expect(r).toEqual({
      kind: 'balance',
      replayed: false,
      balance: { asset: 'USDC', available: 0n, locked: 50_000_000n },
    });
  });

  it('returns the first result for a repeated idempotency key and moves money once', () => {
    const h = new Harness();
    const me = h.user();
    const cmd = {
      type: 'deposit',
      userId: me,
      asset: 'SOL',
      amount: 5n,
      idempotencyKey: 'k-1',
    } as const;
    const first = h.ok(cmd);
    const again = h.ok(cmd);
    expect(again.reply).toEqual({
      kind: 'balance',
      replayed: true,
      balance: { asset: 'SOL', available: 5n, locked: 0n },
    });
    expect(again.events).toEqual([]);
    expect(first.events.map((e) => e.type)).toEqual(['deposit', 'balance']);
    expect(h.core.balance(me, 'SOL').available).toBe(5n);
    // Keys are per user: another user's same key is a new request.
    const other = h.user();
    h.ok({ ...cmd, userId: other });
    expect(h.core.balance(other, 'SOL').available).toBe(5n);
  });

  it('keeps withdrawals idempotent too', () => {
    const h = new Harness();
    const me = h.user({ USDC: '10' });
    const cmd = {
      type: 'withdraw',
      userId: me,
      asset: 'USDC',
      amount: 4_000_000n,
      idempotencyKey: 'w-1',
    } as const;
    h.ok(cmd);
    expect(h.ok(cmd).reply).toMatchObject({ replayed: true });
    expect(h.balances(me)).toEqual({ USDC: '6 / 0' });
  });
});

describe('users', () => {
  it('numbers users and finds them by API key hash', () => {
    const h = new Harness();
    const a = h.ok({ type: 'create_user', apiKeyHash: 'h-a' }).reply;
    const b = h.ok({ type: 'create_user', apiKeyHash: 'h-b' }).reply;
    expect([a, b]).toEqual([
      { kind: 'user', userId: '1' },
      { kind: 'user', userId: '2' },
    ]);
    expect(h.core.userIdForKeyHash('h-b')).toBe('2');
    expect(h.core.userIdForKeyHash('nope')).toBeUndefined();
  });
});

describe("a taker's own balances (settled in one step when the order is done)", () => {
  it('a buy that sweeps two levels at better prices and rests keeps exactly its remainder locked', () => {
    const h = new Harness();
    const maker = h.user({ SOL: '10' });
    const me = h.user({ USDC: '1000' });
    h.place(maker, { side: 'sell', price: '90', quantity: '1' });
    h.place(maker, { side: 'sell', price: '95', quantity: '1' });
    const out = h.place(me, { side: 'buy', price: '100', quantity: '3' });
    expect(Harness.order(out).order).toMatchObject({
      status: 'partially_filled',
      locked: 100_000_000n,
    });
    // Paid 90 + 95, holds 100 for the third lot; received 2 SOL less the 0.2% taker fee.
    expect(h.balances(me)).toEqual({ USDC: '715 / 100', SOL: '1.996 / 0' });
    // The balance events carry the final balances, in the order the balances were first touched.
    const balances = out.events.filter((e) => e.type === 'balance');
    expect(balances.map((e) => [e.userId, e.asset, e.available, e.locked])).toEqual([
      [me, 'USDC', 715_000_000n, 100_000_000n],
      [me, 'SOL', 1_996_000_000n, 0n],
      [maker, 'SOL', 8_000_000_000n, 0n],
      [maker, 'USDC', 184_815_000n, 0n],
    ]);
  });

  it('an IOC sell that partly fills gives back what it did not sell', () => {
    const h = new Harness();
    const maker = h.user({ USDC: '1000' });
    const me = h.user({ SOL: '5' });
    h.place(maker, { side: 'buy', price: '100', quantity: '2' });
    const out = h.place(me, { side: 'sell', price: '100', quantity: '3', timeInForce: 'IOC' });
    expect(Harness.order(out).order).toMatchObject({ status: 'expired', locked: 0n });
    expect(h.balances(me)).toEqual({ SOL: '3 / 0', USDC: '199.6 / 0' });
  });

  it('a self-trade that cancels the maker releases the maker while the taker trades on', () => {
    const h = new Harness();
    const me = h.user({ SOL: '5', USDC: '1000' });
    const other = h.user({ SOL: '5' });
    h.place(me, { side: 'sell', price: '90', quantity: '1' });
    h.place(other, { side: 'sell', price: '95', quantity: '1' });
    const out = h.place(me, {
      side: 'buy',
      price: '100',
      quantity: '1',
      selfTradePrevention: 'cancel_maker',
    });
    expect(Harness.order(out).order).toMatchObject({ status: 'filled', locked: 0n });
    expect(h.balances(me)).toEqual({ SOL: '5.998 / 0', USDC: '905 / 0' });
    // The other maker filled the taker at 95, less its 0.1% maker fee.
    expect(h.balances(other)).toEqual({ SOL: '4 / 0', USDC: '94.905 / 0' });
  });
});
