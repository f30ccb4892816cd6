/**
 * The replies of PlaceOrder and PlaceOrders, and the OrderEntry stream's answers for placed
 * orders, written straight from the core's views into protobuf bytes: the same bytes the
 * generated encoder gives for `orderToProto` and `fillToProto` (test/unit/reply-writer.test.ts
 * holds them to that), without building the message objects, their decimal strings and the
 * encoder's intermediate arrays first. Order entry is the engine's hottest path, and its replies
 * were a tenth of the engine's CPU per order.
 *
 * Like the events writer, the writing functions take the buffer and a position and return the
 * position after what they wrote, and do not check for room: a result is written after making
 * room for a usual one, and if it ends past the buffer (writes past the end of a typed array
 * are dropped), the buffer grows and the result is written again.
 */
import {
  type ExchangeCore,
  type FillView,
  formatScaled,
  type Market,
  type OrderView,
  type Step,
  stepsToDecimal,
} from './core';
import type { RequestError } from '../../gen/exchange/v1/common';
import {
  SIDE_TO_PROTO,
  STATUS_TO_PROTO,
  STP_TO_PROTO,
  TIF_TO_PROTO,
  TYPE_TO_PROTO,
} from '../lib/proto-enums';
import { Liquidity } from '../../gen/exchange/v1/common';

/** A placed order as the core replies: the order after matching and its fills on arrival. */
export interface PlacedOrder {
  readonly order: OrderView;
  readonly fills: readonly FillView[];
}

/** Room made before each result: far more than a result without fills takes. */
const RESULT_ROOM = 1024;
const FILL_ROOM = 256;
/** Bytes kept for the length of a nested message (up to 2 MiB) until its size is known. */
const LENGTH_ROOM = 3;
const DOT = 0x2e;
const ZERO = 0x30;
/** Powers of ten up to 10^22, the last one a double holds exactly. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_SCALE = 22;

// Field keys: (field number << 3) | wire type (0 varint, 2 length-delimited).
const key = (field: number, wire: 0 | 2) => field * 8 + wire;
const RESULTS = key(1, 2);
const RESULT_PLACED = key(1, 2);
const RESULT_ERROR = key(2, 2);
const PLACED_ORDER = key(1, 2);
const PLACED_FILL = key(2, 2);
const ENTRY_PLACED = key(2, 2);

export class ReplyWriter {
  private buf: Buffer;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(initialBytes, RESULT_ROOM));
  }

  /** A PlaceOrderResponse, in a new buffer. */
  placeOrder(core: ExchangeCore, placed: PlacedOrder): Buffer {
    return this.copy(this.put(0, roomFor(placed), placedOrder, core, placed));
  }

  /** An OrderEntryResponse of a placed order: its request id and the PlaceOrderResponse. */
  orderEntryPlaced(core: ExchangeCore, requestId: string, placed: PlacedOrder): Buffer {
    const entry = { requestId, placed };
    return this.copy(this.put(0, roomFor(placed) + requestId.length * 3, entryPlaced, core, entry));
  }

  /** A PlaceOrdersResponse: one result per item, a placed order or why it was refused. */
  placeOrders(core: ExchangeCore, results: readonly (PlacedOrder | RequestError)[]): Buffer {
    let p = 0;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      p = this.put(p, 'order' in r ? roomFor(r) : RESULT_ROOM, result, core, r);
    }
    return this.copy(p);
  }

  /**
   * Writes one message (or result) at `from` with `write`, after making `room` for it; if it
   * ends past the buffer, grows the buffer and writes it again. Returns where it ends.
   */
  private put<T>(
    from: number,
    room: number,
    write: (b: Buffer, p: number, core: ExchangeCore, item: T) => number,
    core: ExchangeCore,
    item: T,
  ): number {
    this.ensure(from, room);
    for (;;) {
      const end = write(this.buf, from, core, item);
      if (end <= this.buf.length) return end;
      this.ensure(from, end - from);
    }
  }

  /** At least `bytes` free after `pos`. */
  private ensure(pos: number, bytes: number): void {
    if (pos + bytes > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < pos + bytes) size *= 2;
      const next = Buffer.allocUnsafeSlow(size);
      this.buf.copy(next, 0, 0, pos);
      this.buf = next;
    }
  }

  private copy(end: number): Buffer {
    const out = Buffer.allocUnsafe(end);
    this.buf.copy(out, 0, 0, end);
    return out;
  }
}

/** Room made before writing a placed order: far more than one of its size takes. */
const roomFor = (placed: PlacedOrder) => RESULT_ROOM + placed.fills.length * FILL_ROOM;

/** An OrderEntryResponse: the request id, then the placed order as field 2. */
function entryPlaced(
  b: Buffer,
  p: number,
  core: ExchangeCore,
  entry: { readonly requestId: string; readonly placed: PlacedOrder },
): number {
  p = stringField(b, p, 1, entry.requestId);
  p = varint(b, p, ENTRY_PLACED);
  const mark = p;
  p = placedOrder(b, p + LENGTH_ROOM, core, entry.placed);
  return closeLength(b, mark, p);
}

function result(b: Buffer, p: number, core: ExchangeCore, r: PlacedOrder | RequestError): number {
  p = varint(b, p, RESULTS);
  const outer = p;
  p += LENGTH_ROOM;
  if ('order' in r) {
    p = varint(b, p, RESULT_PLACED);
    const inner = p;
    p = placedOrder(b, p + LENGTH_ROOM, core, r);
    p = closeLength(b, inner, p);
  } else {
    p = varint(b, p, RESULT_ERROR);
    const inner = p;
    p = requestError(b, p + LENGTH_ROOM, r);
    p = closeLength(b, inner, p);
  }
  return closeLength(b, outer, p);
}

function placedOrder(b: Buffer, p: number, core: ExchangeCore, placed: PlacedOrder): number {
  const o = placed.order;
  const m = core.market(o.market);
  p = varint(b, p, PLACED_ORDER);
  let mark = p;
  p = order(b, p + LENGTH_ROOM, m, o);
  p = closeLength(b, mark, p);
  for (let i = 0; i < placed.fills.length; i++) {
    p = varint(b, p, PLACED_FILL);
    mark = p;
    p = fill(b, p + LENGTH_ROOM, m, o, placed.fills[i]);
    p = closeLength(b, mark, p);
  }
  return p;
}

/** `Order`, field by field as the generated encoder writes it (defaults left out). */
function order(b: Buffer, p: number, m: Market, o: OrderView): number {
  p = decimalField(b, p, 1, o.orderId, 0);
  if (o.clientOrderId !== null) p = stringField(b, p, 2, o.clientOrderId, true);
  p = stringField(b, p, 3, o.userId);
  p = stringField(b, p, 4, o.market);
  p = enumField(b, p, 5, SIDE_TO_PROTO[o.side]);
  p = enumField(b, p, 6, TYPE_TO_PROTO[o.type]);
  p = enumField(b, p, 7, TIF_TO_PROTO[o.timeInForce]);
  if (o.type === 'limit') p = stepsField(b, p, 8, o.price, m.tick);
  if (o.quantity > 0) p = stepsField(b, p, 9, o.quantity, m.lot);
  if (o.quoteAmount > 0n) p = amountField(b, p, 10, o.quoteAmount, m.quote.decimals);
  p = stepsField(b, p, 11, o.filledQuantity, m.lot);
  p = amountField(b, p, 12, o.filledQuoteAmount, m.quote.decimals);
  p = enumField(b, p, 13, STATUS_TO_PROTO[o.status]);
  if (o.postOnly) p = enumField(b, p, 14, 1);
  p = enumField(b, p, 15, STP_TO_PROTO[o.selfTradePrevention]);
  p = int64Field(b, p, 16, o.createdAt);
  return int64Field(b, p, 17, o.updatedAt);
}

/** `Fill` of the taker `o`, as `fillToProto` makes it (its time is the order's last update). */
function fill(b: Buffer, p: number, m: Market, o: OrderView, f: FillView): number {
  p = decimalField(b, p, 1, f.tradeId, 0);
  p = decimalField(b, p, 2, o.orderId, 0);
  p = stringField(b, p, 3, o.market);
  p = enumField(b, p, 4, SIDE_TO_PROTO[o.side]);
  p = stepsField(b, p, 5, f.price, m.tick);
  p = stepsField(b, p, 6, f.quantity, m.lot);
  p = amountField(b, p, 7, f.quoteAmount, m.quote.decimals);
  const feeDecimals = f.feeAsset === m.base.symbol ? m.base.decimals : m.quote.decimals;
  p = amountField(b, p, 8, f.fee, feeDecimals);
  p = stringField(b, p, 9, f.feeAsset);
  p = enumField(
    b,
    p,
    10,
    f.liquidity === 'maker' ? Liquidity.LIQUIDITY_MAKER : Liquidity.LIQUIDITY_TAKER,
  );
  return int64Field(b, p, 11, o.updatedAt);
}

function requestError(b: Buffer, p: number, e: RequestError): number {
  p = stringField(b, p, 1, e.code);
  p = stringField(b, p, 2, e.message);
  return enumField(b, p, 3, e.grpcCode);
}

/**
 * Ends a nested message whose length was given `LENGTH_ROOM` bytes at `mark`: moves the message
 * onto the bytes its length needs (down onto those it did not need, or up for a message of 2 MiB
 * or more) and writes the length. If the message ran past the buffer, or would once moved, it
 * returns a position past the buffer without moving anything, so that the caller grows the
 * buffer and writes it again: a message moved down could otherwise end inside the buffer with
 * bytes missing.
 */
function closeLength(b: Buffer, mark: number, end: number): number {
  const start = mark + LENGTH_ROOM;
  const length = end - start;
  const body = mark + varintSize(length);
  const moved = body + length;
  if (end > b.length || moved > b.length) return Math.max(end, moved);
  if (body !== start) b.copyWithin(body, start, end);
  varint(b, mark, length);
  return moved;
}

/** Bytes of a varint of a non-negative integer below 2^35. */
function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** A non-negative integer up to 2^53 as a varint. */
function varint(b: Buffer, p: number, n: number): number {
  if (n < 0x80) {
    b[p] = n;
    return p + 1;
  }
  // Past 2^31 (times in milliseconds): seven bits at a time in floating point, until it fits.
  while (n >= 0x80000000) {
    const low = n % 128;
    b[p++] = low | 0x80;
    n = (n - low) / 128;
  }
  // The rest in 32-bit integer arithmetic.
  while (n > 0x7f) {
    b[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[p++] = n;
  return p;
}

/** An enum, int32 or bool field (all ours are non-negative); left out when 0. */
function enumField(b: Buffer, p: number, field: number, value: number): number {
  if (value === 0) return p;
  p = varint(b, p, key(field, 0));
  return varint(b, p, value);
}

/** An int64 field (forceLong=string: written unless "0"). */
function int64Field(b: Buffer, p: number, field: number, value: number): number {
  if (value === 0) return p;
  p = varint(b, p, key(field, 0));
  return varint(b, p, value);
}

/**
 * A string field, left out when empty unless the field is `optional` (present); ASCII byte by
 * byte, anything else as UTF-8.
 */
function stringField(b: Buffer, p: number, field: number, s: string, present = false): number {
  if (s.length === 0 && !present) return p;
  p = varint(b, p, key(field, 2));
  const start = p;
  // Optimistically one byte per character; anything else is written as UTF-8 after its length.
  p = varint(b, p, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      const bytes = Buffer.byteLength(s, 'utf8');
      p = varint(b, start, bytes);
      if (p + bytes <= b.length) b.write(s, p, 'utf8');
      return p + bytes;
    }
    b[p++] = c;
  }
  return p;
}

/** A field holding `units × 10^-scale` as a decimal string ("1.5", "0", "42"). */
function decimalField(b: Buffer, p: number, field: number, units: number, scale: number): number {
  p = varint(b, p, key(field, 2));
  const lengthAt = p++;
  const end = decimal(b, p, units, scale);
  b[lengthAt] = end - p; // always under 128 bytes
  return end;
}

/** `count` steps (ticks or lots) as a decimal string field, as `stepsToDecimal` writes it. */
function stepsField(b: Buffer, p: number, field: number, count: number, step: Step): number {
  const units = count * step.unitsNumber;
  if (units <= Number.MAX_SAFE_INTEGER && step.scale <= MAX_SCALE) {
    return decimalField(b, p, field, units, step.scale);
  }
  return stringField(b, p, field, stepsToDecimal(count, step), true);
}

/** An amount in minor units as a decimal string field, as `formatScaled` writes it. */
function amountField(b: Buffer, p: number, field: number, units: bigint, scale: number): number {
  // Number() of a bigint past 2^53 rounds to at least 2^53: below that it is exact.
  const n = Number(units);
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && scale <= MAX_SCALE) {
    return decimalField(b, p, field, n, scale);
  }
  return stringField(b, p, field, formatScaled(units, scale), true);
}

/** A non-negative safe integer `units × 10^-scale` in plain decimal, no trailing zeros. */
function decimal(b: Buffer, p: number, units: number, scale: number): number {
  if (scale === 0) return digits(b, p, units, 1);
  const pow = POWERS_OF_TEN[scale];
  let whole = Math.floor(units / pow);
  let fraction = units - whole * pow;
  // The division may round across a whole number: put it right.
  if (fraction < 0) {
    whole--;
    fraction += pow;
  } else if (fraction >= pow) {
    whole++;
    fraction -= pow;
  }
  p = digits(b, p, whole, 1);
  if (fraction === 0) return p;
  let width = scale;
  while (fraction % 10 === 0) {
    fraction /= 10;
    width--;
  }
  b[p++] = DOT;
  return digits(b, p, fraction, width);
}

/** A non-negative safe integer in at least `width` digits (zero-padded). */
function digits(b: Buffer, p: number, n: number, width: number): number {
  let count = 1;
  while (count < 16 && n >= POWERS_OF_TEN[count]) count++;
  if (count < width) count = width;
  const end = p + count;
  for (let i = end - 1; i >= p; i--) {
    const q = Math.floor(n / 10);
    b[i] = ZERO + (n - q * 10);
    n = q;
  }
  return end;
}
