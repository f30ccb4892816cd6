/**
 * PlaceOrders over the engine's PlaceOrderBatches stream: one long-lived stream carries every
 * batch the gateway places, so a batch costs a message each way instead of a gRPC call (a call
 * costs several times a message in CPU, on both sides, and the gateway places a batch every few
 * requests). It offers the PlaceOrders contract the order batcher uses: one result per order, or
 * a rejection of the whole batch.
 *
 * The stream opens with the first batch and again with the first batch after it fails or ends.
 * When it fails (the engine restarts, the connection drops) every batch still waiting on it fails
 * with UNAVAILABLE and the code ORDER_STREAM_FAILED: whether such a batch's orders were placed is
 * unknown, as for a PlaceOrders call in flight. When the engine ends it (its graceful shutdown,
 * which answers every batch it took first), the batches still waiting were not taken: plain
 * UNAVAILABLE. Each batch carries its deadline: the engine refuses one that reaches it later, as
 * it refuses a late call, and here a batch not answered by then fails with DEADLINE_EXCEEDED (its
 * late answer is dropped). A stream that has answered nothing
 * since such a batch was sent is taken for dead: it is cancelled, and the next batch opens a new
 * one.
 */
import * as grpc from '@grpc/grpc-js';
import type {
  EngineServiceClient,
  PlaceOrderBatchesRequest,
  PlaceOrderBatchesResponse,
  PlaceOrdersRequest,
  PlaceOrdersResponse,
} from '../gen/exchange/v1/engine';
import { DEFAULT_DEADLINE_MS } from '../services/lib/grpc/clients';
import { fromRequestError } from './errors';

type BatchStream = grpc.ClientDuplexStream<PlaceOrderBatchesRequest, PlaceOrderBatchesResponse>;

interface Waiting {
  readonly stream: BatchStream;
  /** performance.now() when it was sent. */
  readonly sent: number;
  /** performance.now() by which the answer must have come. */
  readonly due: number;
  resolve(response: PlaceOrdersResponse): void;
  reject(err: unknown): void;
}

export class OrderStream {
  private stream: BatchStream | null = null;
  /** performance.now() of the last answer on `stream`. */
  private lastAnswer = 0;
  private readonly waiting = new Map<string, Waiting>();
  private nextId = 1;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly engine: Pick<EngineServiceClient, 'placeOrderBatches'>,
    private readonly deadlineMs = DEFAULT_DEADLINE_MS,
  ) {}

  placeOrders(request: PlaceOrdersRequest): Promise<PlaceOrdersResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(streamFailure(grpc.status.UNAVAILABLE, 'the gateway is shutting down'));
        return;
      }
      const stream = this.open();
      const batchId = String(this.nextId++);
      const sent = performance.now();
      this.waiting.set(batchId, { stream, sent, due: sent + this.deadlineMs, resolve, reject });
      // Late by a tick at most: a tenth of a second, or a quarter of a short deadline.
      this.sweeper ??= setInterval(
        () => this.expire(),
        Math.max(5, Math.min(100, this.deadlineMs / 4)),
      ).unref();
      stream.write({
        orders: request.orders,
        batchId,
        deadline: String(Date.now() + this.deadlineMs),
      });
    });
  }

  /** Ends the stream; batches still waiting fail. */
  close(): void {
    this.closed = true;
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) {
      this.fail(stream, streamFailure(grpc.status.UNAVAILABLE, 'the gateway is shutting down'));
      stream.cancel();
    }
    this.stopSweeper();
  }

  private open(): BatchStream {
    if (this.stream !== null) return this.stream;
    const stream = this.engine.placeOrderBatches();
    this.stream = stream;
    this.lastAnswer = performance.now();
    stream.on('data', (response: PlaceOrderBatchesResponse) => {
      if (this.stream === stream) this.lastAnswer = performance.now();
      const w = this.waiting.get(response.batchId);
      if (w === undefined) return; // already failed by its deadline
      this.waiting.delete(response.batchId);
      if (response.error !== undefined) w.reject(fromRequestError(response.error));
      else w.resolve({ results: response.results });
      if (this.waiting.size === 0) this.stopSweeper();
    });
    const ended = (err: grpc.ServiceError) => {
      if (this.stream === stream) this.stream = null;
      this.fail(stream, err);
    };
    // The engine may have taken a waiting batch before the stream broke.
    stream.on('error', () => ended(lostOnStream()));
    // The engine ends its streams on shutdown only once it has answered every batch it took.
    stream.on('end', () =>
      ended(streamFailure(grpc.status.UNAVAILABLE, 'the engine ended the order stream')),
    );
    return stream;
  }

  /** Fails every batch waiting on `stream`. */
  private fail(stream: BatchStream, err: unknown): void {
    for (const [id, w] of this.waiting) {
      if (w.stream !== stream) continue;
      this.waiting.delete(id);
      w.reject(err);
    }
    if (this.waiting.size === 0) this.stopSweeper();
  }

  private expire(): void {
    const now = performance.now();
    let silent = false;
    for (const [id, w] of this.waiting) {
      if (w.due > now) continue;
      this.waiting.delete(id);
      if (w.stream === this.stream && this.lastAnswer < w.sent) silent = true;
      w.reject(streamFailure(grpc.status.DEADLINE_EXCEEDED, 'the engine did not answer in time'));
    }
    const stream = this.stream;
    if (silent && stream !== null) {
      // Nothing came back on it for a whole deadline: start again on a new one.
      this.stream = null;
      // Its batches reached an engine that may yet have placed them.
      this.fail(stream, lostOnStream());
      stream.cancel();
    }
    if (this.waiting.size === 0) this.stopSweeper();
  }

  private stopSweeper(): void {
    if (this.sweeper === null) return;
    clearInterval(this.sweeper);
    this.sweeper = null;
  }
}

/**
 * The failure of the batches a broken or silent stream leaves unanswered: the engine may have
 * placed their orders, so the client must not be told to simply retry (the gateway shows this
 * code as it is). The stream's own error is not shown: it names internal addresses.
 */
function lostOnStream(): grpc.ServiceError {
  return streamFailure(
    grpc.status.UNAVAILABLE,
    'ORDER_STREAM_FAILED: the order stream to the engine failed with this order on it; it may ' +
      'have been placed: look it up (by clientOrderId) before placing it again',
  );
}

/** A failure shaped like the ServiceError a failed call rejects with. */
function streamFailure(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}
