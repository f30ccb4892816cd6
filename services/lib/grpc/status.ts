/**
 * The one table from domain error kinds to gRPC status codes, and the wrappers that turn every
 * handler's failure into a status. grpc-js ignores the promise an async handler returns, so each
 * handler is wrapped once here: a thrown error becomes a status, never a hung call.
 */
import {
  Metadata,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { DomainError, type ErrorKind } from '../../engine/core/errors';
import type { Logger } from '../logger';

export const STATUS_OF_KIND: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
};

/** Metadata key carrying the stable error code (e.g. INSUFFICIENT_BALANCE) of a failed call. */
export const ERROR_CODE_KEY = 'x-error-code';

/** A failure that is not a domain rule: unauthenticated, unavailable, bad request shape, ... */
export class ServiceFailure extends Error {
  override readonly name = 'ServiceFailure';
  constructor(
    readonly status: status,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function invalidArgument(code: string, message: string): ServiceFailure {
  return new ServiceFailure(status.INVALID_ARGUMENT, code, message);
}

/** The gRPC error for anything a handler threw; unexpected errors are logged and INTERNAL. */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  let code: status;
  let errorCode: string;
  let message: string;
  if (err instanceof DomainError) {
    code = STATUS_OF_KIND[err.kind];
    errorCode = err.code;
    message = err.message;
  } else if (err instanceof ServiceFailure) {
    code = err.status;
    errorCode = err.code;
    message = err.message;
  } else {
    log.error({ err, method }, 'unexpected error in handler');
    code = status.INTERNAL;
    errorCode = 'INTERNAL';
    message = 'internal error';
  }
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, errorCode);
  return { code, details: `${errorCode}: ${message}`, metadata };
}

/** Reads the stable error code back from a failed call (the gateway's side of the table). */
export function errorCodeOf(err: ServiceError): string {
  const fromMeta = err.metadata?.get(ERROR_CODE_KEY)[0];
  if (typeof fromMeta === 'string') return fromMeta;
  const match = /^([A-Z_]+): /.exec(err.details ?? '');
  return match?.[1] ?? status[err.code] ?? 'UNKNOWN';
}

/** Wraps an async unary handler so it always answers, with a status on failure. */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    let result: Promise<Res>;
    try {
      result = Promise.resolve(handler(call.request, call));
    } catch (err) {
      callback(toServiceError(err, log, method));
      return;
    }
    result.then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, log, method)),
    );
  };
}
