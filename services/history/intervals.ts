/**
 * Candle intervals and their buckets, in UTC. Fixed intervals are aligned to the Unix epoch
 * (3d too, as the big exchanges do); 1w starts on Monday 00:00 UTC; 1M is the calendar month.
 * The SQL rebuild (`candles.ts`) buckets the same way; the two must agree exactly.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-05, the first Monday after the epoch. */
const FIRST_MONDAY = 4 * DAY;

export const INTERVALS = [
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;

export type Interval = (typeof INTERVALS)[number];

/** Length in ms of the fixed intervals (all but 1w and 1M). */
export const FIXED_MS: Partial<Record<Interval, number>> = {
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '4h': 4 * HOUR,
  '6h': 6 * HOUR,
  '8h': 8 * HOUR,
  '12h': 12 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
};

export function isInterval(text: string): text is Interval {
  return (INTERVALS as readonly string[]).includes(text);
}

/** Open time (Unix ms) of the bucket holding `ts`. */
export function bucketStart(interval: Interval, ts: number): number {
  const fixed = FIXED_MS[interval];
  if (fixed !== undefined) return Math.floor(ts / fixed) * fixed;
  if (interval === '1w') return Math.floor((ts - FIRST_MONDAY) / WEEK) * WEEK + FIRST_MONDAY;
  const d = new Date(ts);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Close time (inclusive, Unix ms) of the bucket that opens at `open`. */
export function bucketEnd(interval: Interval, open: number): number {
  const fixed = FIXED_MS[interval];
  if (fixed !== undefined) return open + fixed - 1;
  if (interval === '1w') return open + WEEK - 1;
  const d = new Date(open);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - 1;
}

/** SQL expression: the bucket's open time of the timestamptz expression `ts`. */
export function bucketSql(interval: Interval, ts: string): string {
  const fixed = FIXED_MS[interval];
  if (fixed !== undefined) {
    return `('epoch'::timestamptz + floor(extract(epoch from ${ts}) * 1000 / ${fixed}) * ${fixed} * interval '1 millisecond')`;
  }
  const unit = interval === '1w' ? 'week' : 'month';
  return `(date_trunc('${unit}', ${ts} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
}
