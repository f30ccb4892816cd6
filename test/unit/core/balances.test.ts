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
