/**
 * Places the orders of concurrent REST requests together: the PlaceOrder calls that arrive in
 * the same turn of the event loop go to the engine as one PlaceOrders call (applied in arrival
 * order, one result per order, a refusal does not affect the others). Under load this replaces
 * hundreds of gRPC calls a second with a few, which is most of what an order costs the gateway
 * and the engine; alone, an order waits for nothing (the batch is sent on the next tick). The
 * gateway sends the batches over one long-lived stream (order-stream.ts).
 */
import type {
  PlaceOrderRequest,
  PlaceOrderResponse,
  PlaceOrdersRequest,
  PlaceOrdersResponse,
} from '../gen/exchange/v1/engine';
import { fromRequestError } from './errors';

/** The engine takes at most this many orders per PlaceOrders call. */
export const MAX_ORDERS_PER_CALL = 500;

interface Pending {
  readonly request: PlaceOrderRequest;
  resolve(response: PlaceOrderResponse): void;
  reject(err: unknown): void;
}

export class OrderBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  /** `engine` places a batch: a PlaceOrders call, or the gateway's stream (order-stream.ts). */
  constructor(
    private readonly engine: {
      placeOrders(request: PlaceOrdersRequest): Promise<PlaceOrdersResponse>;
    },
  ) {}

  place(request: PlaceOrderRequest): Promise<PlaceOrderResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    for (let i = 0; i < all.length; i += MAX_ORDERS_PER_CALL) {
      void this.send(all.slice(i, i + MAX_ORDERS_PER_CALL));
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    try {
      const res = await this.engine.placeOrders({ orders: batch.map((p) => p.request) });
      batch.forEach((p, i) => {
        const result = res.results[i]?.result;
        if (result?.$case === 'placed') p.resolve(result.value);
        else if (result?.$case === 'error') p.reject(fromRequestError(result.value));
        else p.reject(new Error(`PlaceOrders answered no result for order ${i}`));
      });
    } catch (err) {
      // The whole call failed (engine unavailable, deadline): every order in it fails alike.
      for (const p of batch) p.reject(err);
    }
  }
}
