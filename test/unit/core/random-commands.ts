/**
 * A seeded stream of plausible commands across the default markets (orders of every kind,
 * cancels, amends, deposits, withdrawals), for tests that need volume rather than precision.
 */
import { prng } from '../../support/prng';
import type { ExchangeEvent } from '../../../services/engine/core';
import { type CommandBody, Harness } from './harness';

const MARKETS = [
  { symbol: 'SOL_USDC', mid: 10_000, base: 'SOL', baseUnit: 10n ** 9n },
  { symbol: 'BTC_USDC', mid: 5_000_000, base: 'BTC', baseUnit: 10n ** 8n },
  { symbol: 'ETH_USDC', mid: 300_000, base: 'ETH', baseUnit: 10n ** 18n },
];

/** `count` commands for users "1".."users" (create them first), orders ids guessed in 1..maxId. */
export function randomCommands(seed: number, count: number, users: number): CommandBody[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: CommandBody[] = [];
  let orders = 0;
  for (let i = 0; i < count; i++) {
    const userId = String(int(1, users));
    const m = pick(MARKETS);
    const r = rnd();
    if (r < 0.08) {
      const asset = rnd() < 0.5 ? 'USDC' : m.base;
      const unit = asset === 'USDC' ? 10n ** 6n : m.baseUnit;
      out.push({
        type: rnd() < 0.8 ? 'deposit' : 'withdraw',
        userId,
        asset,
        amount: BigInt(int(1, 5000)) * unit,
      });
    } else if (r < 0.6) {
      orders++;
      const side = rnd() < 0.5 ? 'buy' : 'sell';
      const price = m.mid + int(-20, 20) * (m.mid / 1000);
      out.push({
        type: 'place_order',
        userId,
        market: m.symbol,
        side,
        orderType: 'limit',
        price,
        quantity: int(1, 500),
        timeInForce: pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK'] as const),
        postOnly: rnd() < 0.1,
        selfTradePrevention: pick(['cancel_taker', 'cancel_maker', 'cancel_both'] as const),
        clientOrderId: rnd() < 0.2 ? `c${int(1, 30)}` : undefined,
      });
    } else if (r < 0.7) {
      orders++;
      const byQuote = rnd() < 0.5;
      out.push({
        type: 'place_order',
        userId,
        market: m.symbol,
        side: rnd() < 0.5 ? 'buy' : 'sell',
        orderType: 'market',
        quantity: byQuote ? undefined : int(1, 300),
        quoteAmount: byQuote ? BigInt(int(1, 2000)) * 10n ** 6n : undefined,
      });
    } else if (r < 0.88) {
      out.push({ type: 'cancel_order', userId, orderId: int(1, Math.max(1, orders)) });
    } else if (r < 0.92) {
      out.push({ type: 'cancel_all', userId, market: rnd() < 0.5 ? m.symbol : undefined });
    } else {
      out.push({
        type: 'amend_order',
        userId,
        orderId: int(1, Math.max(1, orders)),
        quantity: int(1, 400),
      });
    }
  }
  return out;
}

/**
 * Every event of `count` random commands on a fresh core, after `users` users were created and
 * funded in every asset (ETH's 18 decimals put its amounts past 2^53).
 */
export function eventsOfRandomCommands(
  seed: number,
  count: number,
  users: number,
): ExchangeEvent[] {
  const h = new Harness();
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
  for (const body of randomCommands(seed, count, users)) all.push(...h.run(body).events);
  return all;
}
