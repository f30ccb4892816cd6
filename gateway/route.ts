/**
 * What a route is: method, path, the zod schemas of its query, body and answer, whether it needs
 * an API key, and a handler that makes (usually) one gRPC call. The app mounts every route from
 * this description and openapi.json is generated from the same objects.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { PlaceOrderRequest, PlaceOrderResponse } from '../gen/exchange/v1/engine';
import type { EngineApi, HistoryApi } from '../services/lib/grpc/clients';

export type Method = 'get' | 'post' | 'delete' | 'patch';

/** What a handler can reach: the backend services and the health of the stack. */
export interface Backends {
  readonly engine: EngineApi;
  readonly history: HistoryApi;
  /** Places orders, several concurrent ones per engine call (see order-batcher.ts). */
  placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderResponse>;
  /** Checks every dependency; used by /health. */
  health(): Promise<HealthReport>;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, 'ok' | string>>;
}

export interface HandlerContext<Q, B> {
  readonly query: Q;
  readonly body: B;
  /** The authenticated user (empty on public routes). */
  readonly userId: string;
  readonly backends: Backends;
  readonly req: Request;
  readonly res: Response;
}

export interface Route<QS extends z.ZodType = z.ZodType, BS extends z.ZodType = z.ZodType> {
  readonly method: Method;
  /** Path under /api/v1, e.g. "/order/open". */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'public' | 'account' | 'orders' | 'system';
  /** Needs `Authorization: Bearer <apiKey>`. */
  readonly auth: boolean;
  readonly query?: QS;
  readonly body?: BS;
  /** Request headers the route reads, for the docs. */
  readonly headers?: readonly { name: string; description: string }[];
  /** HTTP status of a success (200 unless said). */
  readonly status?: number;
  readonly response: z.ZodType;
  handle(ctx: HandlerContext<z.output<QS>, z.output<BS>>): Promise<unknown>;
}

/** Declares a route with its types inferred from its schemas. */
export function route<QS extends z.ZodType = z.ZodUndefined, BS extends z.ZodType = z.ZodUndefined>(
  r: Route<QS, BS>,
): Route {
  return r as unknown as Route;
}
