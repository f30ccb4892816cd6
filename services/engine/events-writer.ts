/**
 * Writes events in the events stream's format (see `encodeEvents` in ./codec, which defines it)
 * straight into bytes: the same bytes, without building the positional arrays, the decimal
 * strings of amounts and the text first. Writing the stream was the largest single cost of the
 * engine per order, and most of what it allocated; here a batch of events costs one buffer,
 * outside the JS heap, which ioredis writes to the socket as it is.
 *
 * The writing functions take the buffer and a position and return the position after what they
 * wrote, so the position lives in a register rather than in an object field written back at
 * every byte. They do not check for room: an event is written after making room for a usual one,
 * and if the position it ends at is past the buffer (writes past the end of a typed array are
 * dropped), the buffer grows and the event is written again.
 */
// For the rare kinds, written by JSON.stringify: codec gives bigints their toJSON.
import './codec';
import type { ExchangeEvent, OrderView } from './core';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/** "00" to "99" as byte pairs: numbers are written two digits per division. */
const DIGIT_PAIRS = Buffer.from(
  Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''),
);

/**
 * The last time written and its digits: every event of a command carries the command's time,
 * and orders their creation and update times, mostly that same one.
 */
let lastTime = NaN; // never equal to a time: nothing cached
const lastTimeDigits = Buffer.alloc(16);
let lastTimeLength = 0;

/** Room made before each event: far more than any event of ours takes. */
const EVENT_ROOM = 2048;

const TAG_BALANCE = Buffer.from('["b",');
const TAG_DEPTH = Buffer.from('["d",');
const TAG_TRADE = Buffer.from('["t",');
const TAG_ORDER = Buffer.from('["o",');
const TAG_ACCEPTED = Buffer.from('["a",');
const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

export class EventsWriter {
  private buf: Buffer;
  private pos = 0;
  /** Events added since `begin`. */
  count = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(initialBytes, 2));
  }

  /** The events as one JSON array, byte for byte what `encodeEvents` gives, in a new buffer. */
  encode(events: readonly ExchangeEvent[]): Buffer {
    this.begin();
    for (let i = 0; i < events.length; i++) this.add(events[i]);
    return this.finish();
  }

  /** Starts an array that `add` appends to (the matching loop adds each event as it comes). */
  begin(): void {
    this.buf[0] = OPEN;
    this.pos = 1;
    this.count = 0;
  }

  add(e: ExchangeEvent): void {
    for (;;) {
      this.ensure(EVENT_ROOM);
      const b = this.buf;
      let p = this.pos;
      if (this.count > 0) b[p++] = COMMA;
      const end = write(b, p, e);
      if (end <= b.length) {
        this.pos = end;
        this.count++;
        return;
      }
      // It did not fit: grow, and write it again.
      this.ensure(end - this.pos + EVENT_ROOM);
    }
  }

  /** The array since `begin`, closed, in a new buffer (the last one may still be in flight). */
  finish(): Buffer {
    this.ensure(1);
    this.buf[this.pos++] = CLOSE;
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** At least `bytes` free after the position. */
  private ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.pos + bytes) size *= 2;
      const next = Buffer.allocUnsafeSlow(size);
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
  }
}

// Each writer below takes the buffer and the position and returns the position after what it
// wrote, or would have written: past the end of the buffer when it did not fit.

type Event<T extends ExchangeEvent['type']> = Extract<ExchangeEvent, { type: T }>;

function write(b: Buffer, p: number, e: ExchangeEvent): number {
  switch (e.type) {
    case 'balance':
      return balance(b, p, e);
    case 'depth':
      return depth(b, p, e);
    case 'trade':
      return trade(b, p, e);
    case 'order':
      return e.kind === 'accepted'
        ? accepted(b, p, e.seq, e.ts, e.reason, e.order)
        : orderChange(b, p, e.seq, e.ts, e.kind, e.reason, e.order);
    default:
      // The rare kinds are objects, written as JSON.stringify writes them.
      return text(b, p, JSON.stringify(e));
  }
}

/** Any text, UTF-8. */
function text(b: Buffer, p: number, s: string): number {
  const end = p + Buffer.byteLength(s);
  if (end <= b.length) b.write(s, p, 'utf8');
  return end;
}

function balance(b: Buffer, p: number, e: Event<'balance'>): number {
  p = bytes(b, p, TAG_BALANCE);
  p = num(b, p, e.seq);
  b[p++] = COMMA;
  p = time(b, p, e.ts);
  b[p++] = COMMA;
  p = str(b, p, e.userId);
  b[p++] = COMMA;
  p = str(b, p, e.asset);
  b[p++] = COMMA;
  p = amount(b, p, e.available);
  b[p++] = COMMA;
  p = amount(b, p, e.locked);
  b[p++] = CLOSE;
  return p;
}

function depth(b: Buffer, p: number, e: Event<'depth'>): number {
  p = bytes(b, p, TAG_DEPTH);
  p = num(b, p, e.seq);
  b[p++] = COMMA;
  p = time(b, p, e.ts);
  b[p++] = COMMA;
  p = str(b, p, e.market);
  b[p++] = COMMA;
  p = num(b, p, e.updateId);
  b[p++] = COMMA;
  p = levels(b, p, e.bids);
  b[p++] = COMMA;
  p = levels(b, p, e.asks);
  b[p++] = CLOSE;
  return p;
}

function levels(b: Buffer, p: number, list: readonly (readonly [number, number])[]): number {
  b[p++] = OPEN;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) b[p++] = COMMA;
    b[p++] = OPEN;
    p = num(b, p, list[i][0]);
    b[p++] = COMMA;
    p = num(b, p, list[i][1]);
    b[p++] = CLOSE;
  }
  b[p++] = CLOSE;
  return p;
}

function trade(b: Buffer, p: number, e: Event<'trade'>): number {
  const m = e.maker;
  const t = e.taker;
  p = bytes(b, p, TAG_TRADE);
  p = num(b, p, e.seq);
  b[p++] = COMMA;
  p = time(b, p, e.ts);
  b[p++] = COMMA;
  p = str(b, p, e.market);
  b[p++] = COMMA;
  p = num(b, p, e.tradeId);
  b[p++] = COMMA;
  p = num(b, p, e.price);
  b[p++] = COMMA;
  p = num(b, p, e.quantity);
  b[p++] = COMMA;
  p = amount(b, p, e.quoteAmount);
  b[p++] = COMMA;
  p = str(b, p, e.takerSide);
  b[p++] = COMMA;
  p = num(b, p, m.orderId);
  b[p++] = COMMA;
  p = str(b, p, m.userId);
  b[p++] = COMMA;
  p = amount(b, p, m.fee);
  b[p++] = COMMA;
  p = str(b, p, m.feeAsset);
  b[p++] = COMMA;
  p = num(b, p, t.orderId);
  b[p++] = COMMA;
  p = str(b, p, t.userId);
  b[p++] = COMMA;
  p = amount(b, p, t.fee);
  b[p++] = COMMA;
  p = str(b, p, t.feeAsset);
  b[p++] = CLOSE;
  return p;
}

function orderChange(
  b: Buffer,
  p: number,
  seq: number,
  ts: number,
  kind: string,
  reason: string | null,
  o: OrderView,
): number {
  p = bytes(b, p, TAG_ORDER);
  p = num(b, p, seq);
  b[p++] = COMMA;
  p = time(b, p, ts);
  b[p++] = COMMA;
  p = str(b, p, kind);
  b[p++] = COMMA;
  p = reason === null ? bytes(b, p, NULL) : str(b, p, reason);
  b[p++] = COMMA;
  p = num(b, p, o.orderId);
  b[p++] = COMMA;
  p = str(b, p, o.userId);
  b[p++] = COMMA;
  p = str(b, p, o.market);
  b[p++] = COMMA;
  p = str(b, p, o.status);
  b[p++] = COMMA;
  p = num(b, p, o.quantity);
  b[p++] = COMMA;
  p = num(b, p, o.filledQuantity);
  b[p++] = COMMA;
  p = amount(b, p, o.filledQuoteAmount);
  b[p++] = COMMA;
  p = amount(b, p, o.locked);
  b[p++] = COMMA;
  p = time(b, p, o.updatedAt);
  b[p++] = CLOSE;
  return p;
}

function accepted(
  b: Buffer,
  p: number,
  seq: number,
  ts: number,
  reason: string | null,
  o: OrderView,
): number {
  p = bytes(b, p, TAG_ACCEPTED);
  p = num(b, p, seq);
  b[p++] = COMMA;
  p = time(b, p, ts);
  b[p++] = COMMA;
  p = reason === null ? bytes(b, p, NULL) : str(b, p, reason);
  b[p++] = COMMA;
  p = num(b, p, o.orderId);
  b[p++] = COMMA;
  p = o.clientOrderId === null ? bytes(b, p, NULL) : str(b, p, o.clientOrderId);
  b[p++] = COMMA;
  p = str(b, p, o.userId);
  b[p++] = COMMA;
  p = str(b, p, o.market);
  b[p++] = COMMA;
  p = str(b, p, o.side);
  b[p++] = COMMA;
  p = str(b, p, o.type);
  b[p++] = COMMA;
  p = str(b, p, o.timeInForce);
  b[p++] = COMMA;
  p = bytes(b, p, o.postOnly ? TRUE : FALSE);
  b[p++] = COMMA;
  p = str(b, p, o.selfTradePrevention);
  b[p++] = COMMA;
  p = num(b, p, o.price);
  b[p++] = COMMA;
  p = num(b, p, o.quantity);
  b[p++] = COMMA;
  p = amount(b, p, o.quoteAmount);
  b[p++] = COMMA;
  p = num(b, p, o.filledQuantity);
  b[p++] = COMMA;
  p = amount(b, p, o.filledQuoteAmount);
  b[p++] = COMMA;
  p = str(b, p, o.status);
  b[p++] = COMMA;
  p = amount(b, p, o.locked);
  b[p++] = COMMA;
  p = time(b, p, o.createdAt);
  b[p++] = COMMA;
  p = time(b, p, o.updatedAt);
  b[p++] = CLOSE;
  return p;
}

function bytes(b: Buffer, p: number, src: Buffer): number {
  for (let i = 0; i < src.length; i++) b[p++] = src[i];
  return p;
}

/** A time (ms since the epoch, a safe integer) as {@link num} writes it, from a cache of one. */
function time(b: Buffer, p: number, n: number): number {
  if (n !== lastTime) {
    lastTimeLength = num(lastTimeDigits, 0, n);
    if (lastTimeLength > lastTimeDigits.length) {
      // Longer than the cache holds (no time of ours is): written as it is, not cached.
      lastTime = NaN;
      return num(b, p, n);
    }
    lastTime = n;
  }
  for (let i = 0; i < lastTimeLength; i++) b[p++] = lastTimeDigits[i];
  return p;
}

/** A number as JSON writes it; non-negative safe integers (all of ours) digit by digit. */
function num(b: Buffer, p: number, n: number): number {
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) return small(b, p, n);
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
    // Times in milliseconds and the like: the high part, then the low 8 digits padded.
    const high = Math.floor(n / 1e8);
    p = small(b, p, high);
    let low = n - high * 1e8;
    const end = p + 8;
    for (let i = end - 2; i >= p; i -= 2) {
      const q = (low / 100) | 0;
      const pair = (low - q * 100) * 2;
      b[i] = DIGIT_PAIRS[pair];
      b[i + 1] = DIGIT_PAIRS[pair + 1];
      low = q;
    }
    return end;
  }
  return text(b, p, JSON.stringify(n));
}

/** A non-negative integer below 2^31. */
function small(b: Buffer, p: number, n: number): number {
  let digits = 1;
  while (digits < 10 && n >= POWERS_OF_TEN[digits]) digits++;
  const end = p + digits;
  let i = end;
  while (n >= 100) {
    const q = (n / 100) | 0;
    const pair = (n - q * 100) * 2;
    b[--i] = DIGIT_PAIRS[pair + 1];
    b[--i] = DIGIT_PAIRS[pair];
    n = q;
  }
  if (n >= 10) {
    b[--i] = DIGIT_PAIRS[n * 2 + 1];
    b[--i] = DIGIT_PAIRS[n * 2];
  } else b[--i] = ZERO + n;
  return end;
}

/** An amount as a quoted decimal string of minor units. */
function amount(b: Buffer, p: number, x: bigint): number {
  // Number() rounds a bigint past 2^53 to at least 2^53: below that it is exact.
  const n = Number(x);
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
    b[p++] = QUOTE;
    p = num(b, p, n);
    b[p++] = QUOTE;
    return p;
  }
  // Past 2^53 (ETH in wei, say).
  return str(b, p, x.toString());
}

/** A JSON string; plain printable ASCII byte by byte, anything else through JSON.stringify. */
function str(b: Buffer, p: number, s: string): number {
  const start = p;
  b[p++] = QUOTE;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
      return text(b, start, JSON.stringify(s));
    }
    b[p++] = c;
  }
  b[p++] = QUOTE;
  return p;
}
