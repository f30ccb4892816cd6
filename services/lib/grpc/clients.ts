/**
 * Promise-based clients of the Engine and History services, for everything that calls them: the
 * gateway, the bots, the command-line client, tests and benchmarks. Every call carries a
 * deadline (default 10 s) so no caller ever waits forever.
 */
import * as grpc from '@grpc/grpc-js';
import { EngineServiceClient, type OrderEntryResponse } from '../../../gen/exchange/v1/engine';
import { HistoryServiceClient } from '../../../gen/exchange/v1/history';

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

type Promised<C> = {
  [K in keyof C]: C[K] extends Unary<infer Req, infer Res>
    ? (req: Req, options?: Partial<grpc.CallOptions>) => Promise<Res>
    : never;
};

const ENGINE_UNARY = [
  'createUser',
  'authenticate',
  'deposit',
  'withdraw',
  'placeOrder',
  'placeOrders',
  'cancelOrder',
  'cancelAllOrders',
  'amendOrder',
  'addMarket',
  'getOrder',
  'getOpenOrders',
  'getBalances',
  'getDepth',
  'getMarkets',
] as const;

const HISTORY_UNARY = [
  'getKlines',
  'getOrderHistory',
  'getUserTrades',
  'getMarketTrades',
  'getOrder',
  'getTickers',
] as const;

/** Default deadline of a call, in milliseconds from its start. */
export const DEFAULT_DEADLINE_MS = 10_000;

export type EngineApi = Pick<Promised<EngineServiceClient>, (typeof ENGINE_UNARY)[number]> & {
  readonly raw: EngineServiceClient;
  close(): void;
};

export type HistoryApi = Pick<Promised<HistoryServiceClient>, (typeof HISTORY_UNARY)[number]> & {
  readonly raw: HistoryServiceClient;
  close(): void;
};

function promised(raw: grpc.Client, names: readonly string[], deadlineMs: number) {
  const api: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const name of names) {
    const method = (raw[name as keyof grpc.Client] as unknown as Unary<unknown, unknown>).bind(raw);
    api[name] = (req: unknown, options: Partial<grpc.CallOptions> = {}) =>
      new Promise((resolve, reject) => {
        method(
          req,
          new grpc.Metadata(),
          { deadline: Date.now() + deadlineMs, ...options },
          (err, res) => (err ? reject(err) : resolve(res)),
        );
      });
  }
  return api;
}

export function engineClient(address: string, deadlineMs = DEFAULT_DEADLINE_MS): EngineApi {
  const raw = new EngineServiceClient(address, grpc.credentials.createInsecure());
  return promised(raw, ENGINE_UNARY, deadlineMs) as EngineApi;
}

export function historyClient(address: string, deadlineMs = DEFAULT_DEADLINE_MS): HistoryApi {
  const raw = new HistoryServiceClient(address, grpc.credentials.createInsecure());
  return promised(raw, HISTORY_UNARY, deadlineMs) as HistoryApi;
}

/**
 * Cancels many of a user's orders in one round trip, over the OrderEntry stream. Resolves with
 * one response per id, in order (an order already gone answers an error, not a failure of the
 * whole call); rejects only if the stream itself fails.
 */
export function cancelOrders(
  api: Pick<EngineApi, 'raw'>,
  userId: string,
  orderIds: readonly string[],
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<OrderEntryResponse[]> {
  if (orderIds.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const responses: OrderEntryResponse[] = [];
    const call = api.raw.orderEntry(new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
    call.on('data', (r: OrderEntryResponse) => responses.push(r));
    call.on('error', reject);
    call.on('end', () => resolve(responses));
    orderIds.forEach((orderId, i) =>
      call.write({
        requestId: String(i),
        action: {
          $case: 'cancel',
          value: { userId, orderRef: { $case: 'orderId', value: orderId } },
        },
      }),
    );
    call.end();
  });
}
