/**
 * Candles computed from scratch out of the trades table, in SQL, with the same buckets as the
 * persister's incremental upserts (`intervals.ts`). The two must give exactly the same rows:
 * `rebuildCandles` replaces the table with this computation (after a repair or a new interval),
 * and the tests compare it with what the persister maintained.
 */
import type pg from 'pg';
import { FIXED_MS, INTERVALS, bucketSql, type Interval } from './intervals';

function closeSql(interval: Interval, open: string): string {
  const fixed = FIXED_MS[interval];
  const length =
    fixed !== undefined ? `${fixed} milliseconds` : interval === '1w' ? '1 week' : '1 month';
  return `((((${open}) AT TIME ZONE 'UTC') + interval '${length}') AT TIME ZONE 'UTC' - interval '1 millisecond')`;
}

/**
 * SQL selecting every candle (all intervals) computed from `trades`, with the columns of the
 * candles table in its order. `$1` (text or null) restricts it to one market.
 */
export function candlesFromTradesSql(): string {
  return INTERVALS.map(
    (
      i,
    ) => `SELECT market, '${i}'::text AS interval, b AS open_time, ${closeSql(i, 'b')} AS close_time,
       (array_agg(price ORDER BY trade_id))[1] AS open, max(price) AS high, min(price) AS low,
       (array_agg(price ORDER BY trade_id DESC))[1] AS close, sum(quantity) AS volume,
       sum(quote_quantity) AS quote_volume, count(*)::bigint AS trades,
       min(trade_id) AS first_trade_id, max(trade_id) AS last_trade_id
     FROM (SELECT *, ${bucketSql(i, 'ts')} AS b FROM trades
           WHERE $1::text IS NULL OR market = $1::text) t
     GROUP BY market, b`,
  ).join('\nUNION ALL\n');
}

/** Replaces the candles (of one market, or all) with a rebuild from the trades. */
export async function rebuildCandles(
  client: pg.PoolClient,
  market: string | null = null,
): Promise<number> {
  await client.query('DELETE FROM candles WHERE $1::text IS NULL OR market = $1::text', [market]);
  const result = await client.query(
    `INSERT INTO candles (market, interval, open_time, close_time, open, high, low, close, volume,
                          quote_volume, trades, first_trade_id, last_trade_id)
     ${candlesFromTradesSql()}`,
    [market],
  );
  return result.rowCount ?? 0;
}

/**
 * Rows that differ between the candles table and a rebuild from trades (both directions);
 * empty when the incremental candles are exact. NUMERIC compares by value.
 */
export async function candleDifferences(
  db: Pick<pg.Pool, 'query'>,
  market: string | null = null,
): Promise<Record<string, unknown>[]> {
  const stored = `SELECT market, interval, open_time, close_time, open, high, low, close, volume,
                         quote_volume, trades, first_trade_id, last_trade_id
                  FROM candles WHERE $1::text IS NULL OR market = $1::text`;
  const rebuilt = candlesFromTradesSql();
  const result = await db.query(
    `(SELECT 'stored' AS side, * FROM ((${stored}) EXCEPT (${rebuilt})) a)
     UNION ALL
     (SELECT 'rebuilt' AS side, * FROM ((${rebuilt}) EXCEPT (${stored})) b)`,
    [market],
  );
  return result.rows;
}
