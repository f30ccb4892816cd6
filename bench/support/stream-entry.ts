/**
 * Order entry on the OrderEntry stream, as the benches drive it: `window` orders in flight, each
 * timed from its write to its answer. Like the batched sender (./batched-entry.ts), the load
 * generator does as little as it can: requests are encoded before the clock starts, and of each
 * answer only its request id and whether it is an error are read, straight from the bytes.
 */
import * as grpc from '@grpc/grpc-js';
import { OrderEntryRequest, type PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import type { EngineApi } from '../../test/support/engine-client';
import { WireReader } from './wire-reader';

const ORDER_ENTRY = '/exchange.v1.EngineService/OrderEntry';
const asIs = (b: Buffer) => b;

/** `OrderEntryResponse.request_id` (field 1, length-delimited). */
const REQUEST_ID = 0x0a;
/** `OrderEntryResponse.error` (field 4, length-delimited). */
const ERROR = 0x22;

/**
 * The request id of an encoded OrderEntryResponse and whether it is an error. The generated
 * encoder writes fields in number order and leaves an empty id out.
 */
export function readAnswer(answer: Uint8Array): { requestId: string; error: boolean } {
  const r = new WireReader(answer, 'OrderEntryResponse');
  let requestId = '';
  if (r.peek() === REQUEST_ID) {
    r.pos++;
    const length = r.length();
    requestId = Buffer.from(answer.buffer, answer.byteOffset + r.pos, length).toString('utf8');
    r.pos += length;
  }
  return { requestId, error: r.peek() === ERROR };
}

export async function sendOnStream(
  api: EngineApi,
  orders: readonly PlaceOrderRequest[],
  window: number,
): Promise<{ ms: number; latencies: number[]; errors: number }> {
  const requests = orders.map((order, i) =>
    Buffer.from(
      OrderEntryRequest.encode({
        requestId: String(i),
        action: { $case: 'place', value: order },
      }).finish(),
    ),
  );
  if (requests.length === 0) return { ms: 0, latencies: [], errors: 0 };
  const client = api.raw as unknown as grpc.Client;
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(ORDER_ENTRY, asIs, asIs);
  const sentAt = new Array<number>(orders.length);
  const latencies: number[] = [];
  let sent = 0;
  let received = 0;
  let errors = 0;
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (sent < requests.length && sent - received < window) {
        sentAt[sent] = performance.now();
        call.write(requests[sent]);
        sent++;
      }
      if (sent === requests.length) call.end();
    };
    call.on('data', (answer: Buffer) => {
      const { requestId, error } = readAnswer(answer);
      latencies.push(performance.now() - sentAt[Number(requestId)]);
      if (error) errors++;
      received++;
      if (received === requests.length) resolve();
      else pump();
    });
    call.on('error', reject);
    call.on('end', () => {
      if (received < requests.length) {
        reject(new Error(`the stream ended with ${received} of ${requests.length} answers`));
      }
    });
    pump();
  });
  return { ms: performance.now() - start, latencies, errors };
}
