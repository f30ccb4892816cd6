import * as grpc from '@grpc/grpc-js';
import {
  EngineServiceClient,
  EngineServiceService,
  type PlaceOrderBatchesRequest,
  type PlaceOrderBatchesResponse,
  type PlaceOrderRequest,
} from '../../gen/exchange/v1/engine';
import { Order, Side } from '../../gen/exchange/v1/common';
import { ApiError, fromServiceError } from '../../gateway/errors';
import { OrderStream } from '../../gateway/order-stream';
import { limitOrder } from '../support/fixtures';

type BatchCall = grpc.ServerDuplexStream<PlaceOrderBatchesRequest, PlaceOrderBatchesResponse>;

/** What the fake engine does with each stream: `onBatch` sees every batch as it arrives. */
interface FakeEngine {
  streams: number;
  onBatch(call: BatchCall, req: PlaceOrderBatchesRequest): void;
}

const order = (userId: string): PlaceOrderRequest => limitOrder(userId, Side.SIDE_BUY, '1', '1');

/** Answers a batch as the engine would: every order placed, its user id as the order id. */
function placed(req: PlaceOrderBatchesRequest): PlaceOrderBatchesResponse {
  return {
    batchId: req.batchId,
    results: req.orders.map((o) => ({
      result: {
        $case: 'placed',
        value: { order: Order.fromPartial({ orderId: o.userId }), fills: [] },
      },
    })),
    error: undefined,
  };
}

let server: grpc.Server;
let client: EngineServiceClient;
let fake: FakeEngine;

beforeEach(async () => {
  fake = { streams: 0, onBatch: (call, req) => call.write(placed(req)) };
  server = new grpc.Server();
  server.addService(EngineServiceService, {
    placeOrderBatches: (call: BatchCall) => {
      fake.streams++;
      call.on('data', (req: PlaceOrderBatchesRequest) => fake.onBatch(call, req));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = new EngineServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

const idsOf = (r: { results: { result?: { $case: string; value: unknown } }[] }) =>
  r.results.map((x) =>
    x.result?.$case === 'placed'
      ? (x.result.value as { order: { orderId: string } }).order.orderId
      : 'x',
  );

describe('OrderStream', () => {
  it('sends every batch on one stream and gives each caller its own answer, whatever their order', async () => {
    const held: [BatchCall, PlaceOrderBatchesRequest][] = [];
    // Answers the three batches in reverse order once all have arrived.
    fake.onBatch = (call, req) => {
      held.push([call, req]);
      if (held.length === 3) for (const [c, r] of held.reverse()) c.write(placed(r));
    };
    const stream = new OrderStream(client);
    const answers = await Promise.all([
      stream.placeOrders({ orders: [order('1'), order('2')] }),
      stream.placeOrders({ orders: [order('3')] }),
      stream.placeOrders({ orders: [order('4'), order('5'), order('6')] }),
    ]);
    expect(answers.map(idsOf)).toEqual([['1', '2'], ['3'], ['4', '5', '6']]);
    expect(fake.streams).toBe(1);
    stream.close();
  });

  it('rejects a batch the engine refused whole with its code, and goes on', async () => {
    fake.onBatch = (call, req) =>
      call.write(
        req.orders.length > 1
          ? {
              batchId: req.batchId,
              results: [],
              error: {
                code: 'BATCH_TOO_LARGE',
                message: 'at most 1',
                grpcCode: grpc.status.INVALID_ARGUMENT,
              },
            }
          : placed(req),
      );
    const stream = new OrderStream(client);
    const refused = stream.placeOrders({ orders: [order('1'), order('2')] });
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'BATCH_TOO_LARGE' });
    expect(idsOf(await stream.placeOrders({ orders: [order('7')] }))).toEqual(['7']);
    stream.close();
  });

  it('fails the batches waiting on a stream that breaks, and opens a new one for the next', async () => {
    fake.onBatch = (call) =>
      call.emit(
        'error',
        Object.assign(new Error('engine going down'), { code: grpc.status.UNAVAILABLE }),
      );
    const stream = new OrderStream(client);
    const waiting = [
      stream.placeOrders({ orders: [order('1')] }),
      stream.placeOrders({ orders: [order('2')] }),
    ];
    for (const w of waiting) {
      await expect(w).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // The engine may have placed them: the client is told so, not to retry blindly.
      const answer = fromServiceError((await w.catch((e: unknown) => e)) as grpc.ServiceError);
      expect(answer).toMatchObject({ status: 503, code: 'ORDER_STREAM_FAILED' });
      expect(answer.message).toMatch(/may have been placed/);
      expect(answer.message).not.toMatch(/engine going down/); // the stream's own error stays inside
    }
    fake.onBatch = (call, req) => call.write(placed(req));
    expect(idsOf(await stream.placeOrders({ orders: [order('3')] }))).toEqual(['3']);
    expect(fake.streams).toBe(2);
    stream.close();
  });

  it('fails a batch not answered within its deadline, and drops its late answer', async () => {
    const late: [BatchCall, PlaceOrderBatchesRequest][] = [];
    const deadlines: number[] = [];
    fake.onBatch = (call, req) => {
      deadlines.push(Number(req.deadline));
      if (req.orders[0].userId === 'slow') late.push([call, req]);
      else call.write(placed(req));
    };
    const stream = new OrderStream(client, 200);
    const sentAt = Date.now();
    const slow = stream.placeOrders({ orders: [order('slow')] });
    // The stream goes on answering meanwhile.
    expect(idsOf(await stream.placeOrders({ orders: [order('7')] }))).toEqual(['7']);
    await expect(slow).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
      metadata: expect.any(grpc.Metadata),
    });
    // Each batch told the engine its deadline (Unix ms), for the engine to refuse it after.
    for (const d of deadlines) {
      expect(d).toBeGreaterThanOrEqual(sentAt + 200);
      expect(d).toBeLessThan(sentAt + 1200);
    }
    for (const [c, r] of late) c.write(placed(r));
    expect(idsOf(await stream.placeOrders({ orders: [order('8')] }))).toEqual(['8']);
    expect(fake.streams).toBe(1);
    stream.close();
  });

  it('takes a stream that answers nothing for a whole deadline for dead, and opens a new one', async () => {
    let answering = false;
    fake.onBatch = (call, req) => {
      if (answering) call.write(placed(req));
    };
    // A deadline of 1 s, swept every 100 ms: the second batch is due half a second after the
    // first, so a sweep running late on a busy machine still finds it in time.
    const stream = new OrderStream(client, 1000);
    const first = stream.placeOrders({ orders: [order('1')] });
    await new Promise((r) => setTimeout(r, 500));
    // Sent later, still within its own deadline when the stream is taken for dead.
    const second = stream.placeOrders({ orders: [order('9')] }).catch((e: unknown) => e);
    await expect(first).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    // The engine got it and may have placed it: the client is told so.
    expect(fromServiceError((await second) as grpc.ServiceError)).toMatchObject({
      status: 503,
      code: 'ORDER_STREAM_FAILED',
    });
    answering = true;
    expect(idsOf(await stream.placeOrders({ orders: [order('2')] }))).toEqual(['2']);
    expect(fake.streams).toBe(2);
    stream.close();
  });

  it('fails what waits on a stream the engine ended as not placed (it answers all it took first)', async () => {
    fake.onBatch = (call) => call.end(); // shutting down: the batch was not taken
    const stream = new OrderStream(client);
    const waiting = stream.placeOrders({ orders: [order('1')] }).catch((e: unknown) => e);
    const answer = fromServiceError((await waiting) as grpc.ServiceError);
    expect(answer).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(answer.message).toMatch(/retry shortly/);
    stream.close();
  });

  it('on close fails what waits and refuses new batches', async () => {
    fake.onBatch = () => undefined; // never answers
    const stream = new OrderStream(client);
    const waiting = stream.placeOrders({ orders: [order('1')] });
    stream.close();
    await expect(waiting).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(stream.placeOrders({ orders: [order('2')] })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });
});

describe('the answers of failures whose outcome is unknown', () => {
  const failed = (code: grpc.status, details: string): grpc.ServiceError =>
    Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

  it('shows the engine journal codes that leave an order unknown, and no others', () => {
    for (const code of ['APPLY_TIMEOUT', 'JOURNAL_WRITE_FAILED']) {
      const answer = fromServiceError(
        failed(grpc.status.UNAVAILABLE, `${code}: its outcome is unknown`),
      );
      expect(answer).toMatchObject({ status: 503, code, message: 'its outcome is unknown' });
    }
    const notApplied = fromServiceError(
      failed(grpc.status.UNAVAILABLE, 'JOURNAL_UNAVAILABLE: it was not applied'),
    );
    expect(notApplied).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(notApplied.message).toMatch(/retry shortly/);
  });

  it('says that a request past its deadline may still have been applied', () => {
    const late = fromServiceError(failed(grpc.status.DEADLINE_EXCEEDED, 'late'));
    expect(late).toMatchObject({ status: 504, code: 'DEADLINE_EXCEEDED' });
    expect(late.message).toMatch(/may still have been applied/);
  });
});
