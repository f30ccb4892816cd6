/**
 * How commands and events are written to Redis: JSON, with bigints as decimal strings. Commands
 * are decoded back exactly (their bigint fields are known); events stay JSON for their readers
 * (the History persister parses the amounts it needs).
 */
import type { CommandBody, ExchangeEvent } from './core';

/** The only bigint fields of any command. */
const BIGINT_FIELDS = ['amount', 'quoteAmount'] as const;

/*
 * Events are encoded on the hot path, many thousands a second. A JSON.stringify replacer runs
 * for every key and costs about twice the encoding itself, so bigints get a toJSON instead: the
 * engine process writes every bigint it puts in JSON as a decimal string (the alternative,
 * JSON.stringify throwing on a bigint, serves no one here).
 */
const bigintProto = BigInt.prototype as unknown as { toJSON?: (this: bigint) => string };
bigintProto.toJSON ??= function (this: bigint) {
  return this.toString();
};

export function encodeCommands(commands: readonly CommandBody[]): string {
  return JSON.stringify(commands);
}

export function decodeCommands(text: string): CommandBody[] {
  const commands = JSON.parse(text) as Record<string, unknown>[];
  for (const c of commands) {
    for (const field of BIGINT_FIELDS) {
      const value = c[field];
      if (typeof value === 'string') c[field] = BigInt(value);
    }
  }
  return commands as unknown as CommandBody[];
}

/**
 * Events as one JSON array. An order's static fields (side, type, price, time in force, ...) are
 * written with its `accepted` event only; later order events carry what changes (status, filled,
 * quantity, locked, updatedAt) and the order's id, user and market.
 *
 * The text is exactly what `JSON.stringify` makes of those objects (key order included; a test
 * holds the two equal), written by hand for the four kinds that make up nearly all of the stream:
 * it is the engine's largest cost per order, and generic stringification calls `toJSON` for
 * every bigint. Market and asset symbols, enum values and client order ids are checked by the
 * core to need no escaping; user ids go through `JSON.stringify`.
 */
export function encodeEvents(events: readonly ExchangeEvent[]): string {
  let out = '[';
  for (let i = 0; i < events.length; i++) {
    if (i > 0) out += ',';
    out += encodeEvent(events[i]);
  }
  return out + ']';
}

function encodeEvent(e: ExchangeEvent): string {
  switch (e.type) {
    case 'balance':
      return `{"type":"balance","seq":${e.seq},"ts":${e.ts},"userId":${JSON.stringify(e.userId)},"asset":"${e.asset}","available":"${e.available}","locked":"${e.locked}"}`;
    case 'depth':
      return `{"type":"depth","seq":${e.seq},"ts":${e.ts},"market":"${e.market}","updateId":${e.updateId},"bids":${levels(e.bids)},"asks":${levels(e.asks)}}`;
    case 'trade': {
      const m = e.maker;
      const t = e.taker;
      return `{"type":"trade","seq":${e.seq},"ts":${e.ts},"market":"${e.market}","tradeId":${e.tradeId},"price":${e.price},"quantity":${e.quantity},"quoteAmount":"${e.quoteAmount}","takerSide":"${e.takerSide}","maker":{"orderId":${m.orderId},"userId":${JSON.stringify(m.userId)},"fee":"${m.fee}","feeAsset":"${m.feeAsset}"},"taker":{"orderId":${t.orderId},"userId":${JSON.stringify(t.userId)},"fee":"${t.fee}","feeAsset":"${t.feeAsset}"}}`;
    }
    case 'order': {
      const o = e.order;
      const head = `{"type":"order","seq":${e.seq},"ts":${e.ts},"kind":"${e.kind}"`;
      const reason = e.reason === null ? 'null' : `"${e.reason}"`;
      if (e.kind !== 'accepted') {
        return `${head},"reason":${reason},"order":{"orderId":${o.orderId},"userId":${JSON.stringify(o.userId)},"market":"${o.market}","status":"${o.status}","quantity":${o.quantity},"filledQuantity":${o.filledQuantity},"filledQuoteAmount":"${o.filledQuoteAmount}","locked":"${o.locked}","updatedAt":${o.updatedAt}}}`;
      }
      const clientOrderId = o.clientOrderId === null ? 'null' : `"${o.clientOrderId}"`;
      return `${head},"order":{"orderId":${o.orderId},"clientOrderId":${clientOrderId},"userId":${JSON.stringify(o.userId)},"market":"${o.market}","side":"${o.side}","type":"${o.type}","timeInForce":"${o.timeInForce}","postOnly":${o.postOnly},"selfTradePrevention":"${o.selfTradePrevention}","price":${o.price},"quantity":${o.quantity},"quoteAmount":"${o.quoteAmount}","filledQuantity":${o.filledQuantity},"filledQuoteAmount":"${o.filledQuoteAmount}","status":"${o.status}","locked":"${o.locked}","createdAt":${o.createdAt},"updatedAt":${o.updatedAt}},"reason":${reason}}`;
    }
    default:
      return JSON.stringify(e);
  }
}

function levels(list: readonly (readonly [number, number])[]): string {
  if (list.length === 0) return '[]';
  let out = `[[${list[0][0]},${list[0][1]}]`;
  for (let i = 1; i < list.length; i++) out += `,[${list[i][0]},${list[i][1]}]`;
  return out + ']';
}

/** Events as their readers see them: every bigint is a decimal string. */
export type EncodedEvent = { [K in keyof ExchangeEvent]: unknown } & {
  type: ExchangeEvent['type'];
  seq: number;
  ts: number;
};

export function decodeEvents(text: string): EncodedEvent[] {
  return JSON.parse(text) as EncodedEvent[];
}

/** The Unix milliseconds of a Redis stream id ("1700000000000-3"). */
export function streamIdTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
