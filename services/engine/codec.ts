/**
 * How commands and events are written to Redis: JSON, with bigints as decimal strings. Commands
 * are decoded back exactly (their bigint fields are known); events stay JSON for their readers
 * (the History persister parses the amounts it needs).
 */
import type { CommandBody, ExchangeEvent } from './core';

/** The only bigint fields of any command. */
const BIGINT_FIELDS = new Set(['amount', 'quoteAmount']);

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function encodeCommands(commands: readonly CommandBody[]): string {
  return JSON.stringify(commands, replacer);
}

export function decodeCommands(text: string): CommandBody[] {
  return JSON.parse(text, (key, value: unknown) =>
    BIGINT_FIELDS.has(key) && typeof value === 'string' && /^-?\d+$/.test(value)
      ? BigInt(value)
      : value,
  ) as CommandBody[];
}

export function encodeEvents(events: readonly ExchangeEvent[]): string {
  return JSON.stringify(events, replacer);
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

/** Compares two stream ids. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}
