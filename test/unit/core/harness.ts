/**
 * Test harness for the matching core: numbers commands, converts readable decimal strings into
 * ticks, lots and minor units through the core's own conversion module, and unwraps outcomes.
 */
import {
  type BalanceView,
  type Command,
  createDefaultCore,
  decimalToSteps,
  DomainError,
  type ExchangeCore,
  formatScaled,
  MAX_LOTS,
  MAX_TICKS,
  type Outcome,
  parseScaled,
  type PlaceOrderCommand,
} from '../../../services/engine/core';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type CommandBody = DistributiveOmit<Command, 'seq' | 'ts'>;

export interface PlaceArgs {
  market?: string;
  side: 'buy' | 'sell';
  type?: 'limit' | 'market';
  price?: string;
  quantity?: string;
  quoteAmount?: string;
  timeInForce?: PlaceOrderCommand['timeInForce'];
  postOnly?: boolean;
  selfTradePrevention?: PlaceOrderCommand['selfTradePrevention'];
  clientOrderId?: string;
}

export class Harness {
  readonly core: ExchangeCore = createDefaultCore();
  seq = 100;
  ts = 1_700_000_000_000;

  run(body: CommandBody): Outcome {
    return this.core.apply({ ...body, seq: ++this.seq, ts: ++this.ts } as Command);
  }

  /** Runs a command that must succeed. */
  ok(body: CommandBody): Outcome {
    const outcome = this.run(body);
    if (outcome.error !== null) throw outcome.error;
    return outcome;
  }

  /** Runs a command that must be refused; returns the error. */
  refused(body: CommandBody): DomainError {
    const outcome = this.run(body);
    if (outcome.error === null)
      throw new Error(`expected a refusal, got ${JSON.stringify(outcome.reply, big)}`);
    return outcome.error;
  }

  user(funds: Record<string, string> = {}): string {
    const outcome = this.ok({ type: 'create_user', apiKeyHash: `hash-${this.seq}` });
    if (outcome.reply.kind !== 'user') throw new Error('no user');
    const userId = outcome.reply.userId;
    for (const [asset, amount] of Object.entries(funds)) this.deposit(userId, asset, amount);
    return userId;
  }

  deposit(userId: string, asset: string, amount: string): Outcome {
    return this.ok({ type: 'deposit', userId, asset, amount: this.minor(asset, amount) });
  }

  minor(asset: string, amount: string): bigint {
    const decimals = this.core.assetViews().find((a) => a.symbol === asset)?.decimals ?? 0;
    return parseScaled(amount, decimals, 'INVALID_AMOUNT', 'amount');
  }

  /** Builds a place_order command from decimal strings. */
  placeCmd(userId: string, a: PlaceArgs): CommandBody {
    const spec = this.core.market(a.market ?? 'SOL_USDC').spec;
    return {
      type: 'place_order',
      userId,
      market: spec.symbol,
      side: a.side,
      orderType: a.type ?? 'limit',
      price:
        a.price === undefined
          ? undefined
          : decimalToSteps(a.price, spec.tickSize, MAX_TICKS, 'INVALID_PRICE', 'price'),
      quantity:
        a.quantity === undefined
          ? undefined
          : decimalToSteps(a.quantity, spec.lotSize, MAX_LOTS, 'INVALID_QUANTITY', 'quantity'),
      quoteAmount: a.quoteAmount === undefined ? undefined : this.minor(spec.quote, a.quoteAmount),
      timeInForce: a.timeInForce,
      postOnly: a.postOnly,
      selfTradePrevention: a.selfTradePrevention,
      clientOrderId: a.clientOrderId,
    };
  }

  place(userId: string, a: PlaceArgs): Outcome {
    return this.ok(this.placeCmd(userId, a));
  }

  /** The order reply of an outcome. */
  static order(outcome: Outcome) {
    if (outcome.reply.kind !== 'order')
      throw new Error(`not an order reply: ${outcome.reply.kind}`);
    return outcome.reply;
  }

  /** A user's balances as decimal strings, e.g. { USDC: '10 / 0' } (available / locked). */
  balances(userId: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const b of this.core.balances(userId)) {
      if (b.available !== 0n || b.locked !== 0n) out[b.asset] = this.show(b);
    }
    return out;
  }

  fees(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [asset, amount] of this.core.fees()) {
      if (amount !== 0n) out[asset] = formatScaled(amount, this.decimals(asset));
    }
    return out;
  }

  private show(b: BalanceView): string {
    const d = this.decimals(b.asset);
    return `${formatScaled(b.available, d)} / ${formatScaled(b.locked, d)}`;
  }

  private decimals(asset: string): number {
    return this.core.assetViews().find((a) => a.symbol === asset)?.decimals ?? 0;
  }
}

/** JSON replacer for bigints. */
export function big(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
