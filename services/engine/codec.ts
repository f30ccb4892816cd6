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
 */
export function encodeEvents(events: readonly ExchangeEvent[]): string {
  const wire = new Array<unknown>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.type === 'order' && e.kind !== 'accepted') {
      const o = e.order;
      wire[i] = {
        type: e.type,
        seq: e.seq,
        ts: e.ts,
        kind: e.kind,
        reason: e.reason,
        order: {
          orderId: o.orderId,
          userId: o.userId,
          market: o.market,
          status: o.status,
          quantity: o.quantity,
          filledQuantity: o.filledQuantity,
          filledQuoteAmount: o.filledQuoteAmount,
          locked: o.locked,
          updatedAt: o.updatedAt,
        },
      };
    } else {
      wire[i] = e;
    }
  }
  return JSON.stringify(wire);
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
