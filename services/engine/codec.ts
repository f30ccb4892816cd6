/**
 * How commands and events are written to Redis: JSON, with bigints as decimal strings. Commands
 * are objects, decoded back exactly (their bigint fields are known); the common events are
 * positional arrays, decoded by `decodeEvents` into objects for their readers.
 */
import type { CommandBody, ExchangeEvent } from './core';

/** The only bigint fields of any command. */
const BIGINT_FIELDS = ['amount', 'quoteAmount'] as const;

/*
 * Commands and the rare events written as objects carry bigints. A JSON.stringify replacer runs
 * for every key and costs about twice the encoding itself, so bigints get a toJSON instead: the
 * engine process writes every bigint it puts in JSON as a decimal string (the alternative,
 * JSON.stringify throwing on a bigint, serves no one here). The positional events convert their
 * amounts themselves.
 */
const bigintProto = BigInt.prototype as unknown as { toJSON?: (this: bigint) => string };
bigintProto.toJSON ??= function (this: bigint) {
  return this.toString();
};

/**
 * Commands as one JSON array. Orders, nearly all of the journal, are positional arrays tagged
 * "p" (fields in the order of {@link placeOrderFromWire}, null for absent): half the bytes of
 * the object, and parsed in about half the time, which is a fifth of a replay. Every other
 * command is its object. Journals written before hold only objects, and still decode; an engine
 * from before this format cannot read a journal written after it (roll back only past a snapshot
 * that covers the journal).
 */
export function encodeCommands(commands: readonly CommandBody[]): string {
  const wire = new Array<unknown>(commands.length);
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    wire[i] = c.type === 'place_order' && !hasNull(c) ? placeOrderToWire(c) : c;
  }
  return JSON.stringify(wire);
}

type PlaceOrderBody = Extract<CommandBody, { type: 'place_order' }>;

/** Positional fields write absent as null, so an order with a null field stays an object. */
function hasNull(c: PlaceOrderBody): boolean {
  const n = c as unknown as Record<string, unknown>;
  return (
    n.price === null ||
    n.quantity === null ||
    n.quoteAmount === null ||
    n.timeInForce === null ||
    n.postOnly === null ||
    n.selfTradePrevention === null ||
    n.clientOrderId === null
  );
}

function placeOrderToWire(c: PlaceOrderBody): unknown[] {
  return [
    'p',
    c.userId,
    c.market,
    c.side,
    c.orderType,
    c.price ?? null,
    c.quantity ?? null,
    // A bigint as its decimal string; anything else (a caller's mistake) as it is, which the core
    // refuses after decoding exactly as it would the object's.
    c.quoteAmount ?? null,
    c.timeInForce ?? null,
    c.postOnly ?? null,
    c.selfTradePrevention ?? null,
    c.clientOrderId ?? null,
  ];
}

function placeOrderFromWire(w: unknown[]): CommandBody {
  const quoteAmount = w[7];
  return {
    type: 'place_order',
    userId: w[1] as string,
    market: w[2] as string,
    side: w[3] as PlaceOrderBody['side'],
    orderType: w[4] as PlaceOrderBody['orderType'],
    price: (w[5] ?? undefined) as number | undefined,
    quantity: (w[6] ?? undefined) as number | undefined,
    quoteAmount: (typeof quoteAmount === 'string'
      ? BigInt(quoteAmount)
      : (quoteAmount ?? undefined)) as bigint | undefined,
    timeInForce: (w[8] ?? undefined) as PlaceOrderBody['timeInForce'],
    postOnly: (w[9] ?? undefined) as boolean | undefined,
    selfTradePrevention: (w[10] ?? undefined) as PlaceOrderBody['selfTradePrevention'],
    clientOrderId: (w[11] ?? undefined) as string | undefined,
  };
}

export function decodeCommands(text: string): CommandBody[] {
  const wire = JSON.parse(text) as unknown[];
  const commands = new Array<CommandBody>(wire.length);
  for (let i = 0; i < wire.length; i++) {
    const w = wire[i];
    if (Array.isArray(w)) {
      if (w[0] !== 'p') throw new Error(`unknown command tag ${JSON.stringify(w[0])}`);
      commands[i] = placeOrderFromWire(w);
      continue;
    }
    const c = w as Record<string, unknown>;
    for (const field of BIGINT_FIELDS) {
      const value = c[field];
      if (typeof value === 'string') c[field] = BigInt(value);
    }
    commands[i] = c as unknown as CommandBody;
  }
  return commands;
}

/**
 * Events as one JSON array. The five kinds that make up nearly all of the stream are positional
 * arrays, tagged by their first element (fields in the order of {@link decodeEvents}); the rare
 * others (users, transfers, markets, assets, rejections) are objects with a `type`. An order's
 * static fields (side, type, price, time in force, ...) are written with its `accepted` event
 * only; later order events carry what changes and the order's id, user and market. Amounts are
 * decimal strings of minor units.
 *
 * Positional arrays are less than half the bytes of the same events as objects, and writing the
 * stream (building the text, then Redis copying it) is one of the engine's largest costs per
 * order. This function defines the format; the engine writes the same bytes with `EventsWriter`
 * (./events-writer), straight into a buffer outside the JS heap, which cut its scavenges by a
 * fifth. (Building the text by hand with template strings measured faster alone but slower in
 * the engine, where every number became a string to collect.)
 */
/**
 * The format of the events stream's `e` field, written beside it as `v`. Readers refuse a format
 * they do not know (an entry without `v` is the earlier object format, which `decodeEvents` still
 * reads), so an engine upgraded before its History service stops persisting loudly instead of
 * skipping events.
 */
export const EVENTS_FORMAT = '2';

export function encodeEvents(events: readonly ExchangeEvent[]): string {
  const wire = new Array<unknown>(events.length);
  for (let i = 0; i < events.length; i++) wire[i] = toWire(events[i]);
  return JSON.stringify(wire);
}

function toWire(e: ExchangeEvent): unknown {
  switch (e.type) {
    case 'balance':
      return ['b', e.seq, e.ts, e.userId, e.asset, e.available.toString(), e.locked.toString()];
    case 'depth':
      return ['d', e.seq, e.ts, e.market, e.updateId, e.bids, e.asks];
    case 'trade': {
      const m = e.maker;
      const t = e.taker;
      return [
        't',
        e.seq,
        e.ts,
        e.market,
        e.tradeId,
        e.price,
        e.quantity,
        e.quoteAmount.toString(),
        e.takerSide,
        m.orderId,
        m.userId,
        m.fee.toString(),
        m.feeAsset,
        t.orderId,
        t.userId,
        t.fee.toString(),
        t.feeAsset,
      ];
    }
    case 'order': {
      const o = e.order;
      if (e.kind !== 'accepted') {
        return [
          'o',
          e.seq,
          e.ts,
          e.kind,
          e.reason,
          o.orderId,
          o.userId,
          o.market,
          o.status,
          o.quantity,
          o.filledQuantity,
          o.filledQuoteAmount.toString(),
          o.locked.toString(),
          o.updatedAt,
        ];
      }
      return [
        'a',
        e.seq,
        e.ts,
        e.reason,
        o.orderId,
        o.clientOrderId,
        o.userId,
        o.market,
        o.side,
        o.type,
        o.timeInForce,
        o.postOnly,
        o.selfTradePrevention,
        o.price,
        o.quantity,
        o.quoteAmount.toString(),
        o.filledQuantity,
        o.filledQuoteAmount.toString(),
        o.status,
        o.locked.toString(),
        o.createdAt,
        o.updatedAt,
      ];
    }
    default:
      return e;
  }
}

/**
 * Events as their readers see them: objects shaped like the core's events, every bigint a
 * decimal string, and later order events' `order` holding only what the wire carries.
 */
export type EncodedEvent = Record<string, unknown> & {
  type: ExchangeEvent['type'];
  seq: number;
  ts: number;
};

export function decodeEvents(text: string): EncodedEvent[] {
  const wire = JSON.parse(text) as unknown[];
  const out = new Array<EncodedEvent>(wire.length);
  for (let i = 0; i < wire.length; i++) out[i] = decodeEvent(wire[i]);
  return out;
}

/** One event of the wire (a tagged array or an object) as its object. */
export function decodeEvent(w: unknown): EncodedEvent {
  if (!Array.isArray(w)) return w as EncodedEvent;
  const a = w as unknown[];
  switch (a[0]) {
    case 'b':
      return {
        type: 'balance',
        seq: a[1] as number,
        ts: a[2] as number,
        userId: a[3],
        asset: a[4],
        available: a[5],
        locked: a[6],
      };
    case 'd':
      return {
        type: 'depth',
        seq: a[1] as number,
        ts: a[2] as number,
        market: a[3],
        updateId: a[4],
        bids: a[5],
        asks: a[6],
      };
    case 't':
      return {
        type: 'trade',
        seq: a[1] as number,
        ts: a[2] as number,
        market: a[3],
        tradeId: a[4],
        price: a[5],
        quantity: a[6],
        quoteAmount: a[7],
        takerSide: a[8],
        maker: { orderId: a[9], userId: a[10], fee: a[11], feeAsset: a[12] },
        taker: { orderId: a[13], userId: a[14], fee: a[15], feeAsset: a[16] },
      };
    case 'o':
      return {
        type: 'order',
        seq: a[1] as number,
        ts: a[2] as number,
        kind: a[3],
        reason: a[4],
        order: {
          orderId: a[5],
          userId: a[6],
          market: a[7],
          status: a[8],
          quantity: a[9],
          filledQuantity: a[10],
          filledQuoteAmount: a[11],
          locked: a[12],
          updatedAt: a[13],
        },
      };
    case 'a':
      return {
        type: 'order',
        seq: a[1] as number,
        ts: a[2] as number,
        kind: 'accepted',
        reason: a[3],
        order: {
          orderId: a[4],
          clientOrderId: a[5],
          userId: a[6],
          market: a[7],
          side: a[8],
          type: a[9],
          timeInForce: a[10],
          postOnly: a[11],
          selfTradePrevention: a[12],
          price: a[13],
          quantity: a[14],
          quoteAmount: a[15],
          filledQuantity: a[16],
          filledQuoteAmount: a[17],
          status: a[18],
          locked: a[19],
          createdAt: a[20],
          updatedAt: a[21],
        },
      };
    default:
      throw new Error(`unknown event tag ${JSON.stringify(a[0])}`);
  }
}

/** The Unix milliseconds of a Redis stream id ("1700000000000-3"). */
export function streamIdTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
