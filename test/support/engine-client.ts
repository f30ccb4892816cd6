/** A promise-based EngineService client for tests and tools. */
import * as grpc from '@grpc/grpc-js';
import { EngineServiceClient } from '../../gen/exchange/v1/engine';

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

const UNARY = [
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

export type EngineApi = Pick<Promised<EngineServiceClient>, (typeof UNARY)[number]> & {
  readonly raw: EngineServiceClient;
  close(): void;
};

export function engineClient(address: string): EngineApi {
  const raw = new EngineServiceClient(address, grpc.credentials.createInsecure());
  const api: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const name of UNARY) {
    const method = (raw[name] as unknown as Unary<unknown, unknown>).bind(raw);
    api[name] = (req: unknown, options: Partial<grpc.CallOptions> = {}) =>
      new Promise((resolve, reject) => {
        method(
          req,
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000, ...options },
          (err, res) => (err ? reject(err) : resolve(res)),
        );
      });
  }
  return api as EngineApi;
}
