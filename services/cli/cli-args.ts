/**
 * The command line of the debugging CLI, parsed into the gRPC request it stands for. Pure (no
 * I/O), so every command and every refusal is unit-tested; `cli.ts` only sends the request. It
 * checks the shape of what it is given (a known command, a plain decimal, a market symbol); the
 * exchange's rules (ticks, lots, balances) stay the engine's to enforce.
 */
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../../gen/exchange/v1/common';
import type {
  CancelAllOrdersRequest,
  CancelOrderRequest,
  DepositRequest,
  GetBalancesRequest,
  GetDepthRequest,
  GetOpenOrdersRequest,
  GetOrderRequest,
  PlaceOrderRequest,
  WithdrawRequest,
} from '../../gen/exchange/v1/engine';
import type { GetKlinesRequest, GetMarketTradesRequest } from '../../gen/exchange/v1/history';
import { isPlainDecimal } from '../engine/core/units';
import { INTERVALS, isInterval } from '../history/intervals';
import { UsageError } from './usage-error';

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'markets' }
  | { readonly kind: 'depth'; readonly request: GetDepthRequest }
  | { readonly kind: 'user-new' }
  | { readonly kind: 'balances'; readonly request: GetBalancesRequest }
  | { readonly kind: 'deposit'; readonly request: DepositRequest }
  | { readonly kind: 'withdraw'; readonly request: WithdrawRequest }
  | { readonly kind: 'place'; readonly request: PlaceOrderRequest }
  | { readonly kind: 'cancel'; readonly request: CancelOrderRequest }
  | { readonly kind: 'cancel-all'; readonly request: CancelAllOrdersRequest }
  | { readonly kind: 'open'; readonly request: GetOpenOrdersRequest }
  | { readonly kind: 'order'; readonly request: GetOrderRequest }
  | { readonly kind: 'klines'; readonly request: GetKlinesRequest }
  | { readonly kind: 'trades'; readonly request: GetMarketTradesRequest };

/** The most levels, candles or trades one call may ask for (the services' own maximum). */
const MAX_LIMIT = 1000;

/** Usage line of each command, in the order `help` lists them. */
export const COMMAND_USAGE = {
  markets: 'markets',
  depth: 'depth MARKET [LIMIT]',
  'user-new': 'user-new',
  balances: 'balances USER_ID',
  deposit: 'deposit USER_ID ASSET AMOUNT [--key IDEMPOTENCY_KEY]',
  withdraw: 'withdraw USER_ID ASSET AMOUNT [--key IDEMPOTENCY_KEY]',
  place:
    'place USER_ID MARKET buy|sell limit|market [QTY] [PRICE] [--ioc|--fok|--post-only] ' +
    '[--quote QUOTE_QTY] [--client-id ID] [--stp taker|maker|both]',
  cancel: 'cancel USER_ID ORDER_ID',
  'cancel-all': 'cancel-all USER_ID [MARKET]',
  open: 'open USER_ID [MARKET]',
  order: 'order USER_ID ORDER_ID',
  klines: 'klines MARKET INTERVAL [LIMIT]',
  trades: 'trades MARKET [LIMIT]',
  help: 'help',
} as const;

type CommandName = keyof typeof COMMAND_USAGE;

export const USAGE = [
  'usage: npm run cli -- <command> [arguments]',
  '',
  'commands:',
  ...Object.values(COMMAND_USAGE).map((line) => `  ${line}`),
  '',
  `INTERVAL is one of ${INTERVALS.join(' ')}. Amounts are plain decimals ("101.25").`,
  'ENGINE_ADDR (default 127.0.0.1:50051) and HISTORY_ADDR (default 127.0.0.1:50052) say where',
  'the services are. Prints JSON; exits 1 on a refused call, 2 on a bad command line.',
].join('\n');

const MARKET_RE = /^[A-Z0-9]{1,12}_[A-Z0-9]{1,12}$/;
const ASSET_RE = /^[A-Z0-9]{1,12}$/;
const ID_RE = /^\S{1,128}$/;
const LIMIT_RE = /^[1-9][0-9]{0,3}$/;

/** The words and `--flags` of one command, checked against what it accepts. */
class Args {
  private readonly positional: string[] = [];
  private readonly flags = new Map<string, string | true>();

  constructor(
    private readonly usage: string,
    words: readonly string[],
    /** Flags the command accepts; `true` for those that take a value. */
    accepted: Readonly<Record<string, boolean>>,
  ) {
    for (let i = 0; i < words.length; i++) {
      const word = words[i] ?? '';
      if (!word.startsWith('--')) {
        this.positional.push(word);
        continue;
      }
      const name = word.slice(2);
      const takesValue = accepted[name];
      if (takesValue === undefined) this.fail(`unknown option ${word}`);
      if (this.flags.has(name)) this.fail(`${word} given twice`);
      if (takesValue) {
        const value = words[i + 1];
        if (value === undefined || value.startsWith('--')) this.fail(`${word} needs a value`);
        this.flags.set(name, value);
        i++;
      } else {
        this.flags.set(name, true);
      }
    }
  }

  fail(message: string): never {
    throw new UsageError(message, this.usage);
  }

  /** Positional arguments between `min` and `max` in number, else a usage error. */
  words(min: number, max = min): string[] {
    const n = this.positional.length;
    if (n < min) this.fail('missing arguments');
    if (n > max) this.fail(`unexpected argument ${this.positional[max] ?? ''}`);
    return this.positional;
  }

  has(flag: string): boolean {
    return this.flags.get(flag) === true;
  }

  value(flag: string): string | undefined {
    const v = this.flags.get(flag);
    return typeof v === 'string' ? v : undefined;
  }

  userId(text: string | undefined): string {
    if (text === undefined || !ID_RE.test(text)) this.fail(`bad user id ${text ?? ''}`);
    return text;
  }

  id(text: string | undefined, what: string): string {
    if (text === undefined || !ID_RE.test(text)) this.fail(`bad ${what} ${text ?? ''}`);
    return text;
  }

  market(text: string | undefined): string {
    const symbol = (text ?? '').toUpperCase();
    if (!MARKET_RE.test(symbol)) this.fail(`bad market ${text ?? ''} (BASE_QUOTE, e.g. SOL_USDC)`);
    return symbol;
  }

  asset(text: string | undefined): string {
    const symbol = (text ?? '').toUpperCase();
    if (!ASSET_RE.test(symbol)) this.fail(`bad asset ${text ?? ''}`);
    return symbol;
  }

  decimal(text: string | undefined, what: string): string {
    if (!isPlainDecimal(text)) this.fail(`bad ${what} ${text ?? ''} (a plain decimal, e.g. 1.5)`);
    return text;
  }

  /** An optional 1..1000; absent is 0, which the services read as their default. */
  limit(text: string | undefined): number {
    if (text === undefined) return 0;
    const n = LIMIT_RE.test(text) ? Number(text) : 0;
    if (n < 1 || n > MAX_LIMIT) this.fail(`bad limit ${text} (1 to ${MAX_LIMIT})`);
    return n;
  }
}

const NO_FLAGS = {};
const STP: Readonly<Record<string, SelfTradePrevention>> = {
  taker: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_TAKER,
  maker: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_MAKER,
  both: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_BOTH,
};

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_USAGE, name);
}

/** The command `argv` (the words after the script name) stands for; a UsageError if none. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return { kind: 'help' };
  }
  if (!isCommand(name)) throw new UsageError(`unknown command ${name}`);
  const usage = `usage: ${COMMAND_USAGE[name]}`;
  const args = (accepted: Readonly<Record<string, boolean>> = NO_FLAGS) =>
    new Args(usage, rest, accepted);

  switch (name) {
    case 'help':
    case 'markets':
    case 'user-new': {
      args().words(0);
      return { kind: name };
    }
    case 'depth': {
      const a = args();
      const [market, limit] = a.words(1, 2);
      return { kind: 'depth', request: { market: a.market(market), limit: a.limit(limit) } };
    }
    case 'balances': {
      const a = args();
      const [userId] = a.words(1);
      return { kind: 'balances', request: { userId: a.userId(userId) } };
    }
    case 'deposit':
    case 'withdraw': {
      const a = args({ key: true });
      const [userId, asset, amount] = a.words(3);
      const request = {
        userId: a.userId(userId),
        asset: a.asset(asset),
        amount: a.decimal(amount, 'amount'),
        idempotencyKey: a.value('key') ?? '',
      };
      return name === 'deposit' ? { kind: name, request } : { kind: name, request };
    }
    case 'place':
      return { kind: 'place', request: parsePlace(args(PLACE_FLAGS)) };
    case 'cancel': {
      const a = args();
      const [userId, orderId] = a.words(2);
      return {
        kind: 'cancel',
        request: {
          userId: a.userId(userId),
          orderRef: { $case: 'orderId', value: a.id(orderId, 'order id') },
        },
      };
    }
    case 'order': {
      const a = args();
      const [userId, orderId] = a.words(2);
      return {
        kind: 'order',
        request: {
          userId: a.userId(userId),
          orderRef: { $case: 'orderId', value: a.id(orderId, 'order id') },
        },
      };
    }
    case 'cancel-all':
    case 'open': {
      const a = args();
      const [userId, market] = a.words(1, 2);
      const request = {
        userId: a.userId(userId),
        market: market === undefined ? undefined : a.market(market),
      };
      return name === 'open' ? { kind: name, request } : { kind: name, request };
    }
    case 'klines': {
      const a = args();
      const [market, interval, limit] = a.words(2, 3);
      if (interval === undefined || !isInterval(interval)) {
        a.fail(`bad interval ${interval ?? ''} (one of ${INTERVALS.join(' ')})`);
      }
      return {
        kind: 'klines',
        request: { market: a.market(market), interval, limit: a.limit(limit) },
      };
    }
    case 'trades': {
      const a = args();
      const [market, limit] = a.words(1, 2);
      return { kind: 'trades', request: { market: a.market(market), limit: a.limit(limit) } };
    }
  }
}

const PLACE_FLAGS = {
  ioc: false,
  fok: false,
  'post-only': false,
  quote: true,
  'client-id': true,
  stp: true,
};

function parsePlace(a: Args): PlaceOrderRequest {
  const [userId, market, sideWord, typeWord, ...amounts] = a.words(4, 6);
  const side = { buy: Side.SIDE_BUY, sell: Side.SIDE_SELL }[(sideWord ?? '').toLowerCase()];
  if (side === undefined) a.fail(`bad side ${sideWord ?? ''} (buy or sell)`);
  const type = { limit: OrderType.ORDER_TYPE_LIMIT, market: OrderType.ORDER_TYPE_MARKET }[
    (typeWord ?? '').toLowerCase()
  ];
  if (type === undefined) a.fail(`bad type ${typeWord ?? ''} (limit or market)`);

  const tifFlags = (['ioc', 'fok', 'post-only'] as const).filter((f) => a.has(f));
  if (tifFlags.length > 1) a.fail(`--${tifFlags.join(' and --')} exclude each other`);
  const quote = a.value('quote');
  const stpWord = a.value('stp');
  const stp = stpWord === undefined ? undefined : STP[stpWord];
  if (stpWord !== undefined && stp === undefined)
    a.fail(`bad --stp ${stpWord} (taker, maker or both)`);
  const clientOrderId = a.value('client-id');

  let price: string | undefined;
  let quantity: string | undefined;
  if (type === OrderType.ORDER_TYPE_LIMIT) {
    if (quote !== undefined) a.fail('--quote is for market orders');
    if (amounts.length !== 2) a.fail('a limit order takes QTY and PRICE');
    quantity = a.decimal(amounts[0], 'quantity');
    price = a.decimal(amounts[1], 'price');
  } else {
    if (tifFlags.length > 0) a.fail(`--${tifFlags[0] ?? ''} is for limit orders`);
    if (amounts.length > 1) a.fail('a market order takes no price');
    if ((amounts.length === 1) === (quote !== undefined)) {
      a.fail('a market order takes exactly one of QTY and --quote QUOTE_QTY');
    }
    if (amounts[0] !== undefined) quantity = a.decimal(amounts[0], 'quantity');
  }

  return {
    userId: a.userId(userId),
    market: a.market(market),
    side,
    type,
    price,
    quantity,
    quoteQuantity: quote === undefined ? undefined : a.decimal(quote, 'quote quantity'),
    timeInForce: a.has('ioc')
      ? TimeInForce.TIME_IN_FORCE_IOC
      : a.has('fok')
        ? TimeInForce.TIME_IN_FORCE_FOK
        : TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    postOnly: a.has('post-only'),
    clientOrderId: clientOrderId === undefined ? undefined : a.id(clientOrderId, 'client id'),
    selfTradePrevention: stp ?? SelfTradePrevention.SELF_TRADE_PREVENTION_UNSPECIFIED,
  };
}
