/**
 * Batched order entry, as the benches drive it: `orders` in PlaceOrders calls of `batch`,
 * `inFlight` calls at a time, each call timed from send to answer.
 *
 * The load generator shares the machine with what it measures, so it does as little as it can:
 * every call's request is encoded before the clock starts, and of each reply only the case of
 * every result (placed or error) is read, straight from the bytes. Building and decoding the
 * messages with the generated code cost the bench process about a third of a core at 50k
 * orders/s, and its collector's pauses showed up in the latencies it measured.
 */
import * as grpc from '@grpc/grpc-js';
import { PlaceOrdersRequest, type PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import type { EngineApi } from '../../test/support/engine-client';
import { WireReader } from './wire-reader';

export interface BatchedCall {
  /** Round trip of the call. */
  readonly ms: number;
  readonly orders: number;
  /** Orders of the call the engine refused (their results are errors). */
  readonly rejected: number;
}

const PLACE_ORDERS = '/exchange.v1.EngineService/PlaceOrders';
const asIs = (b: Buffer) => b;

/** Field 1 (length-delimited): `PlaceOrdersResponse.results`, or `PlaceOrderResult.placed`. */
const FIELD_1_BYTES = 0x0a;
/** Field 2 (length-delimited): `PlaceOrderResult.error`. */
const FIELD_2_BYTES = 0x12;

/**
 * How many results an encoded PlaceOrdersResponse holds and how many of them are errors, read
 * from the wire format without decoding the messages.
 */
export function countResults(reply: Uint8Array): { results: number; errors: number } {
  const r = new WireReader(reply, 'PlaceOrdersResponse');
  let results = 0;
  let errors = 0;
  while (!r.done) {
    if (r.varint() !== FIELD_1_BYTES) throw new Error('unexpected field in PlaceOrdersResponse');
    const length = r.length();
    results++;
    // A result is one `oneof` field: placed (1) or error (2); an empty one is neither.
    if (length > 0) {
      const tag = r.peek();
      if (tag === FIELD_2_BYTES) errors++;
      else if (tag !== FIELD_1_BYTES) throw new Error('unexpected field in PlaceOrderResult');
    }
    r.pos += length;
  }
  return { results, errors };
}

export async function sendInBatches(
  api: EngineApi,
  orders: readonly PlaceOrderRequest[],
  batch: number,
  inFlight: number,
): Promise<{ ms: number; calls: BatchedCall[] }> {
  const requests: { bytes: Buffer; orders: number }[] = [];
  for (let i = 0; i < orders.length; i += batch) {
    const slice = orders.slice(i, i + batch);
    const bytes = Buffer.from(PlaceOrdersRequest.encode({ orders: slice }).finish());
    requests.push({ bytes, orders: slice.length });
  }
  const client = api.raw as unknown as grpc.Client;
  const call = (bytes: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(
        PLACE_ORDERS,
        asIs,
        asIs,
        bytes,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, reply) => (err ? reject(err) : resolve(reply as Buffer)),
      );
    });

  const calls: BatchedCall[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < requests.length) {
        const request = requests[next++];
        const t = performance.now();
        const reply = await call(request.bytes);
        const ms = performance.now() - t;
        const { results, errors } = countResults(reply);
        if (results !== request.orders) {
          throw new Error(`${results} results for a batch of ${request.orders} orders`);
        }
        calls.push({ ms, orders: request.orders, rejected: errors });
      }
    }),
  );
  return { ms: performance.now() - start, calls };
}
