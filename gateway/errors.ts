/**
 * The gateway's one table from gRPC status to HTTP status, and the error shape every failure
 * takes: `{"error": {"code": "INSUFFICIENT_BALANCE", "message": "..."}}`. The stable code comes
 * from the services (the `x-error-code` trailer) or from the gateway's own checks.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import type { RequestError } from '../gen/exchange/v1/common';
import { errorCodeOf } from '../services/lib/grpc/status';

export const HTTP_STATUS_OF_GRPC: Readonly<Record<number, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.OUT_OF_RANGE]: 400,
  [status.FAILED_PRECONDITION]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.ABORTED]: 409,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.CANCELLED]: 503,
};

/**
 * Codes whose HTTP status differs from their gRPC code's: a market or asset named in a request
 * that does not exist is a bad request (400), not a missing resource.
 */
const HTTP_STATUS_OF_CODE: Readonly<Record<string, number>> = {
  UNKNOWN_MARKET: 400,
  UNKNOWN_ASSET: 400,
};

/** A failure answered to the client as-is. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    'metadata' in err
  );
}

/** The client-facing error for a failed gRPC call. */
export function fromServiceError(err: ServiceError): ApiError {
  const code = errorCodeOf(err);
  // details is "CODE: message" from our services; show only the message part.
  const details = err.details ?? '';
  const message = details.startsWith(`${code}: `) ? details.slice(code.length + 2) : details;
  return apiError(err.code, code, message);
}

/** The client-facing error for one refused item of a batch (PlaceOrders). */
export function fromRequestError(err: RequestError): ApiError {
  return apiError(err.grpcCode, err.code, err.message);
}

/**
 * Failures after which a command may or may not have been applied (the engine's journal, or the
 * gateway's order stream, lost track of it): answered with their own code and message, since
 * "retry shortly" would place an order twice. The client looks the order up first.
 */
const OUTCOME_UNKNOWN = new Set(['APPLY_TIMEOUT', 'JOURNAL_WRITE_FAILED', 'ORDER_STREAM_FAILED']);

function apiError(grpcCode: number, code: string, message: string): ApiError {
  const http = HTTP_STATUS_OF_CODE[code] ?? HTTP_STATUS_OF_GRPC[grpcCode] ?? 500;
  if (http === 500) return new ApiError(500, 'INTERNAL', 'internal error');
  if (grpcCode === status.UNAVAILABLE || grpcCode === status.CANCELLED) {
    if (OUTCOME_UNKNOWN.has(code)) return new ApiError(503, code, message);
    return new ApiError(503, 'UNAVAILABLE', 'a backend service is unavailable, retry shortly');
  }
  if (grpcCode === status.DEADLINE_EXCEEDED) {
    return new ApiError(
      504,
      'DEADLINE_EXCEEDED',
      'a backend service did not answer in time; a request that changes state (an order, a ' +
        'cancel, a transfer) may still have been applied: look before repeating it',
    );
  }
  return new ApiError(http, code, message || code);
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}
