/**
 * A small command-line client of the Engine and History services for people who debug:
 * `npm run cli -- depth SOL_USDC`. It uses the same promise clients as the gateway and the bots,
 * and prints each response as the proto's JSON (enum names, decimal strings).
 *
 * Exit codes: 0 on success (and for `help`), 1 when the service refuses the call (printed as
 * `error: STATUS: details`), 2 for a command line it cannot run.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import {
  CancelAllOrdersResponse,
  CancelOrderResponse,
  CreateUserResponse,
  DepositResponse,
  GetBalancesResponse,
  GetDepthResponse,
  GetMarketsResponse,
  GetOpenOrdersResponse,
  GetOrderResponse,
  PlaceOrderResponse,
  WithdrawResponse,
} from '../../gen/exchange/v1/engine';
import { GetKlinesResponse, GetMarketTradesResponse } from '../../gen/exchange/v1/history';
import { type EngineApi, engineClient, type HistoryApi, historyClient } from '../lib/grpc/clients';
import { type CliCommand, parseCliArgs, USAGE } from './cli-args';
import { UsageError } from './usage-error';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** Calls give up after this long: a person is waiting. */
const CALL_DEADLINE_MS = 5_000;

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Sends the command's request to the service it belongs to; returns the response as JSON. */
async function execute(
  command: Exclude<CliCommand, { kind: 'help' }>,
  engine: () => EngineApi,
  history: () => HistoryApi,
): Promise<unknown> {
  switch (command.kind) {
    case 'markets':
      return GetMarketsResponse.toJSON(await engine().getMarkets({}));
    case 'depth':
      return GetDepthResponse.toJSON(await engine().getDepth(command.request));
    case 'user-new':
      return CreateUserResponse.toJSON(await engine().createUser({}));
    case 'balances':
      return GetBalancesResponse.toJSON(await engine().getBalances(command.request));
    case 'deposit':
      return DepositResponse.toJSON(await engine().deposit(command.request));
    case 'withdraw':
      return WithdrawResponse.toJSON(await engine().withdraw(command.request));
    case 'place':
      return PlaceOrderResponse.toJSON(await engine().placeOrder(command.request));
    case 'cancel':
      return CancelOrderResponse.toJSON(await engine().cancelOrder(command.request));
    case 'cancel-all':
      return CancelAllOrdersResponse.toJSON(await engine().cancelAllOrders(command.request));
    case 'open':
      return GetOpenOrdersResponse.toJSON(await engine().getOpenOrders(command.request));
    case 'order':
      return GetOrderResponse.toJSON(await engine().getOrder(command.request));
    case 'klines':
      return GetKlinesResponse.toJSON(await history().getKlines(command.request));
    case 'trades':
      return GetMarketTradesResponse.toJSON(await history().getMarketTrades(command.request));
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    'details' in err
  );
}

/** Runs one command line; resolves with the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}`);
    io.err(err.usage ?? USAGE);
    return EXIT_USAGE;
  }
  if (command.kind === 'help') {
    io.out(USAGE);
    return EXIT_OK;
  }

  let engine: EngineApi | undefined;
  let history: HistoryApi | undefined;
  try {
    const result = await execute(
      command,
      () => (engine ??= engineClient(io.env.ENGINE_ADDR ?? '127.0.0.1:50051', CALL_DEADLINE_MS)),
      () => (history ??= historyClient(io.env.HISTORY_ADDR ?? '127.0.0.1:50052', CALL_DEADLINE_MS)),
    );
    io.out(JSON.stringify(result, null, 2));
    return EXIT_OK;
  } catch (err) {
    if (!isServiceError(err)) throw err;
    io.err(`error: ${status[err.code] ?? err.code}: ${err.details}`);
    return EXIT_REFUSED;
  } finally {
    engine?.close();
    history?.close();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT_REFUSED;
    },
  );
}
