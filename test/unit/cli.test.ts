/** The CLI's command line: each command parses to the request it stands for, or is refused. */
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../../gen/exchange/v1/common';
import { parseCliArgs, USAGE } from '../../services/cli/cli-args';
import { runCli, EXIT_OK, EXIT_USAGE } from '../../services/cli/cli';
import { UsageError } from '../../services/cli/usage-error';

const words = (line: string) => line.split(' ').filter((w) => w !== '');
const parse = (line: string) => parseCliArgs(words(line));

/** The message of the UsageError that parsing `line` throws. */
function refusal(line: string): string {
  try {
    parse(line);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`expected "${line}" to be refused`);
}

const limitBase = {
  userId: '7',
  market: 'SOL_USDC',
  type: OrderType.ORDER_TYPE_LIMIT,
  quoteQuantity: undefined,
  postOnly: false,
  clientOrderId: undefined,
  selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_UNSPECIFIED,
};

describe('parseCliArgs', () => {
  it('reads help from no arguments, help, --help and -h', () => {
    for (const line of ['', 'help', '--help', '-h']) expect(parse(line)).toEqual({ kind: 'help' });
  });

  it('parses the commands without a request body', () => {
    expect(parse('markets')).toEqual({ kind: 'markets' });
    expect(parse('user-new')).toEqual({ kind: 'user-new' });
  });

  it('parses depth with and without a limit, upper-casing the market', () => {
    expect(parse('depth SOL_USDC')).toEqual({
      kind: 'depth',
      request: { market: 'SOL_USDC', limit: 0 },
    });
    expect(parse('depth btc_usdc 20')).toEqual({
      kind: 'depth',
      request: { market: 'BTC_USDC', limit: 20 },
    });
  });

  it('parses balances, deposit and withdraw', () => {
    expect(parse('balances 7')).toEqual({ kind: 'balances', request: { userId: '7' } });
    expect(parse('deposit 7 usdc 1000.5')).toEqual({
      kind: 'deposit',
      request: { userId: '7', asset: 'USDC', amount: '1000.5', idempotencyKey: '' },
    });
    expect(parse('withdraw 7 SOL 2 --key w-1')).toEqual({
      kind: 'withdraw',
      request: { userId: '7', asset: 'SOL', amount: '2', idempotencyKey: 'w-1' },
    });
  });

  it('parses a GTC limit order', () => {
    expect(parse('place 7 SOL_USDC buy limit 2 101.25')).toEqual({
      kind: 'place',
      request: {
        ...limitBase,
        side: Side.SIDE_BUY,
        quantity: '2',
        price: '101.25',
        timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
      },
    });
  });

  it('parses the time-in-force, post-only, client id and STP options anywhere', () => {
    const ioc = parse('place 7 SOL_USDC --ioc sell limit 1 99');
    expect(ioc).toMatchObject({
      request: { side: Side.SIDE_SELL, timeInForce: TimeInForce.TIME_IN_FORCE_IOC },
    });
    expect(parse('place 7 SOL_USDC sell limit 1 99 --fok')).toMatchObject({
      request: { timeInForce: TimeInForce.TIME_IN_FORCE_FOK },
    });
    expect(
      parse('place 7 SOL_USDC SELL LIMIT 1 99 --post-only --client-id abc --stp both'),
    ).toMatchObject({
      request: {
        postOnly: true,
        clientOrderId: 'abc',
        selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_BOTH,
      },
    });
  });

  it('parses market orders by quantity and by quote amount', () => {
    expect(parse('place 7 SOL_USDC sell market 3')).toMatchObject({
      request: { type: OrderType.ORDER_TYPE_MARKET, quantity: '3', price: undefined },
    });
    expect(parse('place 7 SOL_USDC buy market --quote 250')).toMatchObject({
      request: {
        type: OrderType.ORDER_TYPE_MARKET,
        quantity: undefined,
        quoteQuantity: '250',
      },
    });
  });

  it('parses cancel, cancel-all, open and order', () => {
    const ref = { userId: '7', orderRef: { $case: 'orderId', value: '42' } };
    expect(parse('cancel 7 42')).toEqual({ kind: 'cancel', request: ref });
    expect(parse('order 7 42')).toEqual({ kind: 'order', request: ref });
    expect(parse('cancel-all 7')).toEqual({
      kind: 'cancel-all',
      request: { userId: '7', market: undefined },
    });
    expect(parse('open 7 eth_usdc')).toEqual({
      kind: 'open',
      request: { userId: '7', market: 'ETH_USDC' },
    });
  });

  it('parses klines and trades', () => {
    expect(parse('klines SOL_USDC 1m')).toEqual({
      kind: 'klines',
      request: { market: 'SOL_USDC', interval: '1m', limit: 0 },
    });
    expect(parse('klines SOL_USDC 1M 12')).toMatchObject({
      request: { interval: '1M', limit: 12 },
    });
    expect(parse('trades SOL_USDC 5')).toEqual({
      kind: 'trades',
      request: { market: 'SOL_USDC', limit: 5 },
    });
  });

  it.each([
    ['frobnicate', /unknown command frobnicate/],
    ['markets extra', /unexpected argument extra/],
    ['depth', /missing arguments/],
    ['depth SOLUSDC', /bad market SOLUSDC/],
    ['depth SOL_USDC 0', /bad limit 0/],
    ['depth SOL_USDC 1001', /bad limit 1001/],
    ['depth SOL_USDC ten', /bad limit ten/],
    ['deposit 7 USDC', /missing arguments/],
    ['deposit 7 USDC -5', /bad amount -5/],
    ['deposit 7 USDC 1e3', /bad amount 1e3/],
    ['deposit 7 US-DC 1', /bad asset US-DC/],
    ['deposit 7 USDC 1 --key', /--key needs a value/],
    ['place 7 SOL_USDC hold limit 1 2', /bad side hold/],
    ['place 7 SOL_USDC buy stop 1 2', /bad type stop/],
    ['place 7 SOL_USDC buy limit 1', /takes QTY and PRICE/],
    ['place 7 SOL_USDC buy limit 1 NaN', /bad price NaN/],
    ['place 7 SOL_USDC buy limit 1 2 --ioc --fok', /exclude each other/],
    ['place 7 SOL_USDC buy limit 1 2 --quote 5', /--quote is for market orders/],
    ['place 7 SOL_USDC buy limit 1 2 --gtd', /unknown option --gtd/],
    ['place 7 SOL_USDC buy limit 1 2 --ioc --ioc', /--ioc given twice/],
    ['place 7 SOL_USDC buy limit 1 2 --stp never', /bad --stp never/],
    ['place 7 SOL_USDC buy market', /exactly one of QTY and --quote/],
    ['place 7 SOL_USDC buy market 1 --quote 5', /exactly one of QTY and --quote/],
    ['place 7 SOL_USDC buy market 1 100', /takes no price/],
    ['place 7 SOL_USDC buy market 1 --ioc', /--ioc is for limit orders/],
    ['cancel 7', /missing arguments/],
    ['klines SOL_USDC 2m', /bad interval 2m/],
    ['trades', /missing arguments/],
  ])('refuses %s', (line, message) => {
    expect(refusal(line)).toMatch(message);
  });

  it('names the command and its usage in a refusal of a known command', () => {
    try {
      parse('depth');
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).usage).toBe('usage: depth MARKET [LIMIT]');
      return;
    }
    throw new Error('expected a UsageError');
  });
});

describe('runCli without a service', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      env: {},
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('prints the usage on stdout and exits 0 for help', async () => {
    expect(await run([])).toEqual({ code: EXIT_OK, out: USAGE, err: '' });
    expect(await run(['help'])).toEqual({ code: EXIT_OK, out: USAGE, err: '' });
  });

  it('prints the usage on stderr and exits 2 for an unknown command', async () => {
    expect(await run(['nope'])).toEqual({
      code: EXIT_USAGE,
      out: '',
      err: `error: unknown command nope\n${USAGE}`,
    });
  });
});
