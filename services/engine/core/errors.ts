/**
 * Domain errors of the matching core. Every rejection of a command is a {@link DomainError} with a
 * stable `code`; the gRPC layer maps {@link ErrorKind} to a status in one table, the gateway maps
 * that status to HTTP in another. Codes are part of the public API: never rename one.
 */

/** What kind of failure a code is; decides the gRPC status (and so the HTTP status). */
export type ErrorKind = 'invalid_argument' | 'not_found' | 'already_exists' | 'failed_precondition';

/** Every stable error code, with its kind. */
export const ERROR_CODES = {
  INVALID_PRICE: 'invalid_argument',
  INVALID_QUANTITY: 'invalid_argument',
  INVALID_AMOUNT: 'invalid_argument',
  INVALID_ORDER: 'invalid_argument',
  INVALID_TIME_IN_FORCE: 'invalid_argument',
  INVALID_CLIENT_ORDER_ID: 'invalid_argument',
  INVALID_MARKET: 'invalid_argument',
  INVALID_ASSET: 'invalid_argument',
  MIN_QUANTITY: 'invalid_argument',
  MIN_NOTIONAL: 'invalid_argument',
  UNKNOWN_MARKET: 'not_found',
  UNKNOWN_ASSET: 'not_found',
  UNKNOWN_USER: 'not_found',
  ORDER_NOT_FOUND: 'not_found',
  DUPLICATE_CLIENT_ORDER_ID: 'already_exists',
  MARKET_EXISTS: 'already_exists',
  ASSET_EXISTS: 'already_exists',
  USER_EXISTS: 'already_exists',
  IDEMPOTENCY_KEY_REUSED: 'already_exists',
  INSUFFICIENT_BALANCE: 'failed_precondition',
  WOULD_TAKE: 'failed_precondition',
  FOK_NOT_FILLABLE: 'failed_precondition',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A command was refused; nothing in the state changed. */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly kind: ErrorKind;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.kind = ERROR_CODES[code];
  }
}
