/**
 * The History service's reads from Postgres, each served by an index of migration 0002.
 * Numbers leave Postgres as plain decimal strings (trim_scale), times as Unix ms strings.
 * Inputs are already validated by the service.
 */
import type { PostgresManager } from '../lib/postgres-manager';
import type { Interval } from './intervals';

const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::bigint::text`;
const dec = (col: string) => `trim_scale(${col})::text`;
const fromMs = (param: string) =>
  `('epoch'::timestamptz + ${param}::bigint * interval '1 millisecond')`;
const DAY_MS = 86_400_000;

export interface KlineRow {
  open_time: string;
  close_time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quote_volume: string;
  trades: string;
}

/**
 * The columns of a {@link KlineRow}, as a select list over the candles table. The persister's
 * candle upsert returns the same list, so live klines and GetKlines format alike.
 */
export const KLINE_COLUMNS = `${ms('open_time')} AS open_time, ${ms('close_time')} AS close_time,
  ${dec('open')} AS open, ${dec('high')} AS high, ${dec('low')} AS low, ${dec('close')} AS close,
  ${dec('volume')} AS volume, ${dec('quote_volume')} AS quote_volume, trades::text AS trades`;

export interface OrderRow {
  order_id: string;
  client_order_id: string | null;
  user_id: string;
  market: string;
  side: string;
  type: string;
  time_in_force: string;
  post_only: boolean;
  self_trade_prevention: string;
  price: string | null;
  quantity: string | null;
  quote_quantity: string | null;
  filled_quantity: string;
  filled_quote_quantity: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface FillRow {
  trade_id: string;
  order_id: string;
  market: string;
  side: string;
  price: string;
  quantity: string;
  quote_quantity: string;
  fee: string;
  fee_asset: string;
  liquidity: string;
  ts: string;
}

export interface TradeRow {
  trade_id: string;
  market: string;
  price: string;
  quantity: string;
  quote_quantity: string;
  taker_side: string;
  ts: string;
}

export interface TickerRow {
  market: string;
  last: string | null;
  open: string | null;
  high: string | null;
  low: string | null;
  change: string | null;
  change_percent: string | null;
  volume: string;
  quote_volume: string;
  trades: string;
}

const ORDER_COLUMNS = `order_id::text, client_order_id, user_id::text, market, side, type,
  time_in_force, post_only, self_trade_prevention, ${dec('price')} AS price,
  ${dec('quantity')} AS quantity, ${dec('quote_quantity')} AS quote_quantity,
  ${dec('filled_quantity')} AS filled_quantity,
  ${dec('filled_quote_quantity')} AS filled_quote_quantity, status,
  ${ms('created_at')} AS created_at, ${ms('updated_at')} AS updated_at`;

function fillsSql(role: 'maker' | 'taker', where: string): string {
  const side =
    role === 'taker' ? 'taker_side' : `CASE taker_side WHEN 'buy' THEN 'sell' ELSE 'buy' END`;
  return `SELECT trade_id, ${role}_order_id AS order_id, market, ${side} AS side, price, quantity,
            quote_quantity, ${role}_fee AS fee, ${role}_fee_asset AS fee_asset,
            '${role}' AS liquidity, ts
          FROM trades WHERE ${where.replace(/ROLE/g, role)}`;
}

const FILL_OUT = `trade_id::text, order_id::text, market, side, ${dec('price')} AS price,
  ${dec('quantity')} AS quantity, ${dec('quote_quantity')} AS quote_quantity, ${dec('fee')} AS fee,
  fee_asset, liquidity, ${ms('ts')} AS ts`;

export class HistoryQueries {
  constructor(private readonly db: PostgresManager) {}

  async marketSymbols(): Promise<string[]> {
    const r = await this.db.query<{ symbol: string }>('SELECT symbol FROM markets ORDER BY symbol');
    return r.rows.map((row) => row.symbol);
  }

  /**
   * Candles oldest first; without a start, the most recent `limit`. They come back as one text
   * value (the KlineRow columns of each candle, space separated; no value holds a space) rather
   * than a row each: for 1,000 candles that takes the per-row protocol and row-object work off
   * node-postgres, about half of this call's time on the Node side.
   */
  async klines(
    market: string,
    interval: Interval,
    start: number | null,
    end: number | null,
    limit: number,
  ): Promise<KlineRow[]> {
    // Only the bounds that are given: an "$n IS NULL OR ..." clause keeps the planner off the
    // primary key's range scan.
    const values: unknown[] = [market, interval];
    let where = 'market = $1 AND interval = $2';
    if (start !== null) {
      values.push(start);
      where += ` AND open_time >= ${fromMs(`$${values.length}`)}`;
    }
    if (end !== null) {
      values.push(end);
      where += ` AND open_time <= ${fromMs(`$${values.length}`)}`;
    }
    values.push(limit);
    const order = start === null ? 'DESC' : 'ASC';
    const r = await this.db.query<{ k: string | null }>(
      `SELECT string_agg(concat_ws(' ', ${ms('open_time')}, ${ms('close_time')}, ${dec('open')},
                                   ${dec('high')}, ${dec('low')}, ${dec('close')}, ${dec('volume')},
                                   ${dec('quote_volume')}, trades), ' '
                         ORDER BY c.open_time) AS k
       FROM (SELECT * FROM candles WHERE ${where}
             ORDER BY candles.open_time ${order} LIMIT $${values.length}) c`,
      values,
    );
    const text = r.rows[0]?.k ?? null;
    if (text === null) return [];
    const f = text.split(' ');
    const rows = new Array<KlineRow>(f.length / 9);
    for (let i = 0, j = 0; j < f.length; i++, j += 9) {
      rows[i] = {
        open_time: f[j],
        close_time: f[j + 1],
        open: f[j + 2],
        high: f[j + 3],
        low: f[j + 4],
        close: f[j + 5],
        volume: f[j + 6],
        quote_volume: f[j + 7],
        trades: f[j + 8],
      };
    }
    return rows;
  }

  /** A user's orders newest first, after the cursor (created_at ms, order id). */
  async orderHistory(
    userId: string,
    market: string | null,
    after: [number, string] | null,
    limit: number,
  ): Promise<OrderRow[]> {
    const r = await this.db.query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM orders
       WHERE user_id = $1 AND ($2::text IS NULL OR market = $2)
         AND ($3::bigint IS NULL OR (created_at, order_id) < (${fromMs('$3')}, $4::bigint))
       ORDER BY orders.created_at DESC, orders.order_id DESC LIMIT $5`,
      [userId, market, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return r.rows;
  }

  async order(userId: string, orderId: string): Promise<OrderRow | undefined> {
    const r = await this.db.query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND user_id = $2`,
      [orderId, userId],
    );
    return r.rows[0];
  }

  /** The newest of a user's orders placed with this client order id. */
  async orderByClientId(userId: string, clientOrderId: string): Promise<OrderRow | undefined> {
    const r = await this.db.query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND client_order_id = $2
        ORDER BY created_at DESC, order_id DESC LIMIT 1`,
      [userId, clientOrderId],
    );
    return r.rows[0];
  }

  /** The fills of one order, oldest first. */
  async orderFills(orderId: string): Promise<FillRow[]> {
    const r = await this.db.query<FillRow>(
      `SELECT ${FILL_OUT} FROM (${fillsSql('maker', 'ROLE_order_id = $1')}
         UNION ALL ${fillsSql('taker', 'ROLE_order_id = $1')}) f
       ORDER BY f.ts, f.trade_id`,
      [orderId],
    );
    return r.rows;
  }

  /** A user's fills newest first, after the cursor (ts ms, market, trade id). */
  async userFills(
    userId: string,
    market: string | null,
    after: [number, string, string] | null,
    limit: number,
  ): Promise<FillRow[]> {
    const where = `ROLE_user_id = $1 AND ($2::text IS NULL OR market = $2)
      AND ($3::bigint IS NULL OR (ts, market, trade_id) < (${fromMs('$3')}, $4::text, $5::bigint))`;
    const r = await this.db.query<FillRow>(
      `SELECT ${FILL_OUT} FROM (${fillsSql('maker', where)} UNION ALL ${fillsSql('taker', where)}) f
       ORDER BY f.ts DESC, f.market DESC, f.trade_id DESC LIMIT $6`,
      [userId, market, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit],
    );
    return r.rows;
  }

  async marketTrades(market: string, limit: number): Promise<TradeRow[]> {
    const r = await this.db.query<TradeRow>(
      `SELECT trade_id::text, market, ${dec('price')} AS price, ${dec('quantity')} AS quantity,
              ${dec('quote_quantity')} AS quote_quantity, taker_side, ${ms('ts')} AS ts
       FROM trades WHERE market = $1 ORDER BY trades.trade_id DESC LIMIT $2`,
      [market, limit],
    );
    return r.rows;
  }

  /** Rolling 24h tickers as of `now` (Unix ms), sorted by market. */
  async tickers(market: string | null, now: number): Promise<TickerRow[]> {
    const r = await this.db.query<TickerRow>(
      `SELECT m.symbol AS market, ${dec('l.price')} AS last, ${dec('o')} AS open,
              ${dec('h')} AS high, ${dec('lo')} AS low, ${dec('l.price - o')} AS change,
              CASE WHEN o IS NULL OR o = 0 THEN '0'
                   ELSE trim_scale(round((l.price - o) / o * 100, 2))::text END AS change_percent,
              ${dec('coalesce(v, 0)')} AS volume, ${dec('coalesce(qv, 0)')} AS quote_volume,
              coalesce(n, 0)::text AS trades
       FROM markets m
       LEFT JOIN LATERAL (SELECT price FROM trades t WHERE t.market = m.symbol
                          ORDER BY trade_id DESC LIMIT 1) l ON true
       LEFT JOIN LATERAL (
         SELECT coalesce((array_agg(price ORDER BY trade_id))[1], l.price) AS o,
                coalesce(max(price), l.price) AS h, coalesce(min(price), l.price) AS lo,
                sum(quantity) AS v, sum(quote_quantity) AS qv, count(*) AS n
         FROM trades t
         WHERE t.market = m.symbol AND t.ts > ${fromMs('$2')} AND t.ts <= ${fromMs('$3')}) w
         ON true
       WHERE $1::text IS NULL OR m.symbol = $1
       ORDER BY m.symbol`,
      [market, now - DAY_MS, now],
    );
    return r.rows;
  }
}
