/** The matching core: pure, deterministic, no I/O. */
export * from './errors';
export * from './types';
export { ExchangeCore, IDEMPOTENCY_CAPACITY, type Outcome } from './exchange-core';
export { Market } from './market';
export type { Asset } from './balance-sheet';
export * from './units';
export * from './defaults';
export * from './snapshot';
export { BoundedMap } from './bounded-map';
