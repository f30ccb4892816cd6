/**
 * Writes events in the events stream's format (see `encodeEvents` in ./codec, which defines it)
 * straight into bytes: the same bytes, without building the positional arrays, the decimal
 * strings of amounts and the text first. Writing the stream was the largest single cost of the
 * engine per order, and most of what it allocated; here a batch of events costs one buffer,
 * outside the JS heap, which ioredis writes to the socket as it is.
 */
import type { ExchangeEvent, OrderView } from './core';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * Room for one event's fixed part: tags, punctuation, numbers and amounts. Whatever writes text of
 * its own length (strings, levels, raw text) makes sure this much is still left after it.
 */
const EVENT_ROOM = 512;

export class EventsWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** The events as one JSON array, byte for byte what `encodeEvents` gives, in a new buffer. */
  encode(events: readonly ExchangeEvent[]): Buffer {
    this.begin();
    for (let i = 0; i < events.length; i++) this.add(events[i]);
    return this.finish();
  }

  /** Events added since `begin`. */
  count = 0;

  /** Starts an array that `add` appends to (the matching loop adds each event as it comes). */
  begin(): void {
    this.pos = 0;
    this.count = 0;
    this.ensure(2);
    this.buf[this.pos++] = OPEN;
  }

  add(e: ExchangeEvent): void {
    this.ensure(EVENT_ROOM);
    if (this.count++ > 0) this.buf[this.pos++] = COMMA;
    this.event(e);
  }

  /** The array since `begin`, closed, in a new buffer (the last one may still be in flight). */
  finish(): Buffer {
    this.ensure(1);
    this.buf[this.pos++] = CLOSE;
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private event(e: ExchangeEvent): void {
    switch (e.type) {
      case 'balance':
        this.ascii('["b",');
        this.head(e.seq, e.ts);
        this.string(e.userId);
        this.comma();
        this.string(e.asset);
        this.comma();
        this.amount(e.available);
        this.comma();
        this.amount(e.locked);
        this.close();
        return;
      case 'depth':
        this.ascii('["d",');
        this.head(e.seq, e.ts);
        this.string(e.market);
        this.comma();
        this.number(e.updateId);
        this.comma();
        this.levels(e.bids);
        this.comma();
        this.levels(e.asks);
        this.close();
        return;
      case 'trade': {
        const m = e.maker;
        const t = e.taker;
        this.ascii('["t",');
        this.head(e.seq, e.ts);
        this.string(e.market);
        this.comma();
        this.number(e.tradeId);
        this.comma();
        this.number(e.price);
        this.comma();
        this.number(e.quantity);
        this.comma();
        this.amount(e.quoteAmount);
        this.comma();
        this.string(e.takerSide);
        this.comma();
        this.number(m.orderId);
        this.comma();
        this.string(m.userId);
        this.comma();
        this.amount(m.fee);
        this.comma();
        this.string(m.feeAsset);
        this.comma();
        this.number(t.orderId);
        this.comma();
        this.string(t.userId);
        this.comma();
        this.amount(t.fee);
        this.comma();
        this.string(t.feeAsset);
        this.close();
        return;
      }
      case 'order':
        if (e.kind === 'accepted') this.accepted(e.seq, e.ts, e.reason, e.order);
        else this.orderChange(e.seq, e.ts, e.kind, e.reason, e.order);
        return;
      default:
        // The rare kinds are objects, written as JSON.stringify writes them.
        this.raw(JSON.stringify(e));
    }
  }

  private orderChange(
    seq: number,
    ts: number,
    kind: string,
    reason: string | null,
    o: OrderView,
  ): void {
    this.ascii('["o",');
    this.head(seq, ts);
    this.string(kind);
    this.comma();
    this.nullableString(reason);
    this.comma();
    this.number(o.orderId);
    this.comma();
    this.string(o.userId);
    this.comma();
    this.string(o.market);
    this.comma();
    this.string(o.status);
    this.comma();
    this.number(o.quantity);
    this.comma();
    this.number(o.filledQuantity);
    this.comma();
    this.amount(o.filledQuoteAmount);
    this.comma();
    this.amount(o.locked);
    this.comma();
    this.number(o.updatedAt);
    this.close();
  }

  private accepted(seq: number, ts: number, reason: string | null, o: OrderView): void {
    this.ascii('["a",');
    this.head(seq, ts);
    this.nullableString(reason);
    this.comma();
    this.number(o.orderId);
    this.comma();
    this.nullableString(o.clientOrderId);
    this.comma();
    this.string(o.userId);
    this.comma();
    this.string(o.market);
    this.comma();
    this.string(o.side);
    this.comma();
    this.string(o.type);
    this.comma();
    this.string(o.timeInForce);
    this.comma();
    this.ascii(o.postOnly ? 'true' : 'false');
    this.comma();
    this.string(o.selfTradePrevention);
    this.comma();
    this.number(o.price);
    this.comma();
    this.number(o.quantity);
    this.comma();
    this.amount(o.quoteAmount);
    this.comma();
    this.number(o.filledQuantity);
    this.comma();
    this.amount(o.filledQuoteAmount);
    this.comma();
    this.string(o.status);
    this.comma();
    this.amount(o.locked);
    this.comma();
    this.number(o.createdAt);
    this.comma();
    this.number(o.updatedAt);
    this.close();
  }

  /** `seq,ts,` */
  private head(seq: number, ts: number): void {
    this.number(seq);
    this.comma();
    this.number(ts);
    this.comma();
  }

  private levels(levels: readonly (readonly [number, number])[]): void {
    this.ensure(2 + levels.length * 40 + EVENT_ROOM);
    const buf = this.buf;
    buf[this.pos++] = OPEN;
    for (let i = 0; i < levels.length; i++) {
      if (i > 0) buf[this.pos++] = COMMA;
      buf[this.pos++] = OPEN;
      this.number(levels[i][0]);
      buf[this.pos++] = COMMA;
      this.number(levels[i][1]);
      buf[this.pos++] = CLOSE;
    }
    buf[this.pos++] = CLOSE;
  }

  private comma(): void {
    this.buf[this.pos++] = COMMA;
  }

  private close(): void {
    this.buf[this.pos++] = CLOSE;
  }

  /** A number as JSON writes it; non-negative safe integers (all of ours) digit by digit. */
  private number(n: number): void {
    if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
      this.small(n);
    } else if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
      // Times in milliseconds and the like: the high part, then the low 8 digits padded.
      const high = Math.floor(n / 1e8);
      this.small(high);
      let low = n - high * 1e8;
      const buf = this.buf;
      const end = this.pos + 8;
      for (let p = end - 1; p >= this.pos; p--) {
        const q = (low / 10) | 0;
        buf[p] = ZERO + (low - q * 10);
        low = q;
      }
      this.pos = end;
    } else {
      this.raw(JSON.stringify(n));
    }
  }

  /** A non-negative integer below 2^31. */
  private small(n: number): void {
    let digits = 1;
    while (digits < 10 && n >= POWERS_OF_TEN[digits]) digits++;
    const buf = this.buf;
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = (n / 10) | 0;
      buf[--p] = ZERO + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** An amount as a quoted decimal string of minor units. */
  private amount(x: bigint): void {
    // Number() rounds a bigint past 2^53 to at least 2^53: below that it is exact.
    const n = Number(x);
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
      this.buf[this.pos++] = QUOTE;
      this.number(n);
      this.buf[this.pos++] = QUOTE;
    } else {
      this.string(x.toString());
    }
  }

  private nullableString(s: string | null): void {
    if (s === null) this.ascii('null');
    else this.string(s);
  }

  /** A JSON string; plain printable ASCII byte by byte, anything else through JSON.stringify. */
  private string(s: string): void {
    const n = s.length;
    this.ensure(n + 2 + EVENT_ROOM);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.pos = start;
        this.raw(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /** ASCII text known to need no escaping (punctuation, literals). */
  private ascii(s: string): void {
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i);
  }

  /** Any text, UTF-8. */
  private raw(s: string): void {
    this.ensure(Buffer.byteLength(s) + EVENT_ROOM);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
