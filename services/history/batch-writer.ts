/**
 * Turns a batch of engine events (as read from the events stream: bigints are decimal strings,
 * order events other than `accepted` carry only what changes) into rows, and writes them with
 * one bulk statement per table inside the caller's transaction. Candles are aggregated per
 * batch and upserted once per touched bucket; the upsert returns each touched candle's new
 * state, for the kline channels.
 *
 * The ledger gets, besides the changes of total balances, one lock row per order event that
 * changed what the order holds locked (`OrderView.locked`): the difference from the order's
 * previous event. For an order accepted in the same batch that is known here; for an older
 * order the previous amount (and the order's side, which says the asset) is `orders.locked` in
 * Postgres, so those rows are computed by a statement that runs before the orders update.
 *
 * Inserts carry no ON CONFLICT: the caller writes only events above the high-water mark it
 * holds locked in the same transaction, so a row that exists already is a bug to surface, and
 * the speculative insertion ON CONFLICT needs cost about a third of each insert. The plain
 * inserts (new orders, trades, ledger rows) go in with COPY, which costs Postgres about a
 * quarter less per row than INSERT ... SELECT FROM unnest(...), and costs this process less to
 * build (one text, no array literals).
 */
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { decodeEvent, type EncodedEvent } from '../engine/codec';
import { arrayColumns, copyRows } from './sql-text';
import { KLINE_COLUMNS, type KlineRow } from './history-queries';
import { bucketEnd, bucketStart, INTERVALS } from './intervals';
import type { MarketSpecs } from './market-specs';

/* The wire shapes this writer reads (see services/engine/codec.ts). */
interface WireOrder {
  orderId: number;
  userId: string;
  market: string;
  status: string;
  quantity: number;
  filledQuantity: number;
  filledQuoteAmount: string;
  updatedAt: number;
  /** Minor units the order still holds (quote for buys, base for sells). */
  locked: string;
  clientOrderId?: string | null;
  side?: string;
  type?: string;
  timeInForce?: string;
  postOnly?: boolean;
  selfTradePrevention?: string;
  price?: number;
  quoteAmount?: string;
  createdAt?: number;
}
interface WireParty {
  orderId: number;
  userId: string;
  fee: string;
  feeAsset: string;
}
export type Wire = EncodedEvent;

interface OrderRow {
  accepted: boolean;
  o: WireOrder;
  reason: string | null;
  seq: number;
  /** `o` is this row's own copy (merged into), not an event's object. */
  owned: boolean;
}

/** What an order accepted in this batch holds locked, as of its latest event. */
interface KnownLock {
  readonly asset: string;
  locked: bigint;
}

interface CandleAcc {
  market: string;
  interval: string;
  open: number;
  openPrice: number;
  high: number;
  low: number;
  closePrice: number;
  /** Lots. */
  volume: number;
  quote: bigint;
  trades: number;
  firstTradeId: number;
  lastTradeId: number;
}

/** A statement whose result rows {@link PreparedBatch.writeTo} hands back. */
export type StatementTag = 'candles';

/** Where {@link writeEvents} puts its statements: a {@link PreparedBatch}. */
export interface SqlSink {
  query(text: string, values?: unknown[], tag?: StatementTag): Promise<unknown>;
  /** `COPY <table> (<columns>) FROM STDIN` of `data`, rows in COPY's text format. */
  copy(sql: string, data: string): Promise<void>;
}

/** A candle as the upsert left it, formatted as GetKlines formats it. */
export interface CandleRow extends KlineRow {
  market: string;
  interval: string;
}

/** What writing a batch changed, for what is published once it commits. */
export interface WrittenBatch {
  /** Every candle the batch touched, in its state after the batch. */
  readonly candles: readonly CandleRow[];
}

/**
 * A batch turned into its statements without touching Postgres, so the persister can prepare
 * the next batch while the previous one commits.
 */
export class PreparedBatch implements SqlSink {
  readonly statements: {
    text: string;
    values: unknown[];
    tag?: StatementTag;
    /** The rows of a COPY statement. */
    copy?: string;
  }[] = [];

  query(text: string, values: unknown[] = [], tag?: StatementTag): Promise<unknown> {
    this.statements.push({ text, values, tag });
    return Promise.resolve();
  }

  copy(sql: string, data: string): Promise<void> {
    this.statements.push({ text: sql, values: [], copy: data });
    return Promise.resolve();
  }

  /** Runs the statements in order on `client` (a transaction's). */
  async writeTo(client: ClientBase): Promise<WrittenBatch> {
    const candles: CandleRow[] = [];
    for (const s of this.statements) {
      if (s.copy !== undefined) {
        await copyIn(client, s.text, s.copy);
        continue;
      }
      const result = await client.query(s.text, s.values);
      if (s.tag === 'candles') candles.push(...(result.rows as CandleRow[]));
    }
    return { candles };
  }
}

/** Streams `data` into a `COPY ... FROM STDIN`; rejects with Postgres's error if it fails. */
function copyIn(client: ClientBase, sql: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(data);
  });
}

/**
 * `balance` and `depth` events, as the engine's codec writes them (arrays tagged "b" and "d"):
 * nothing of theirs is kept (balances follow from the ledger), and they are most of the stream.
 * The patterns spell out every field, so they only ever match whole events.
 */
const UNUSED_EVENTS =
  /\["b",\d+,\d+,"(?:[^"\\]|\\.)*","[A-Z0-9]+","\d+","\d+"\]|\["d",\d+,\d+,"[A-Z0-9_]+",\d+,\[(?:\[\d+,\d+\],?)*\],\[(?:\[\d+,\d+\],?)*\]\]/g;

/**
 * The events of one stream entry that the writer uses, in order, as objects. The others are cut
 * out of the text before it is parsed (parsing them was a fifth of the persister's CPU); one
 * that does not match the pattern is decoded and then ignored by {@link writeEvents}, so this is
 * only faster, never different.
 */
export function decodeUsedEvents(text: string): Wire[] {
  const all = JSON.parse(text.replace(UNUSED_EVENTS, '0')) as unknown[];
  const used: Wire[] = [];
  for (const e of all) if (e !== 0) used.push(decodeEvent(e));
  return used;
}

export async function prepareEvents(
  specs: MarketSpecs,
  events: readonly Wire[],
): Promise<PreparedBatch> {
  const batch = new PreparedBatch();
  await writeEvents(batch, specs, events);
  return batch;
}

/** What one batch held. */
export interface BatchStats {
  readonly events: number;
  readonly trades: number;
  readonly orders: number;
}

export async function writeEvents(
  client: SqlSink,
  specs: MarketSpecs,
  events: readonly Wire[],
): Promise<BatchStats> {
  const assets: [string, number][] = [];
  const markets: unknown[][] = [];
  const users: [string, number][] = [];
  const orders = new Map<number, OrderRow>();
  const trades: unknown[][] = [];
  const ledger: unknown[][] = [];
  /** Candles of the 1m interval by market and minute, and each market's latest one. */
  const minutes = new Map<string, CandleAcc>();
  const lastMinute = new Map<string, CandleAcc>();
  /** Orders accepted in this batch: side (so asset) and locked are known. */
  const known = new Map<number, KnownLock>();
  /** Orders accepted before this batch: locked (minor units) as of their latest event here. */
  const older = new Map<number, bigint>();
  /** Order events of older orders: seq, order id, locked now and before (null: in Postgres), ts. */
  const olderLocks: unknown[][] = [];

  for (const e of events) {
    switch (e.type) {
      case 'asset_added': {
        const a = e.asset as { symbol: string; decimals: number };
        specs.addAsset(a.symbol, a.decimals);
        assets.push([a.symbol, a.decimals]);
        break;
      }
      case 'market_added': {
        const m = e.market as Record<string, string>;
        specs.addMarket(m.symbol, m.base, m.quote, m.tickSize, m.lotSize);
        markets.push([
          m.symbol,
          m.base,
          m.quote,
          m.tickSize,
          m.lotSize,
          m.minQuantity,
          m.minNotional,
          m.makerFee,
          m.takerFee,
          e.ts,
        ]);
        break;
      }
      case 'user_created':
        users.push([e.userId as string, e.ts]);
        break;
      case 'deposit':
      case 'withdrawal': {
        const asset = e.asset as string;
        const amount = BigInt(e.amount as string);
        ledger.push([
          e.seq,
          0,
          e.userId,
          asset,
          e.type,
          specs.amount(asset, e.type === 'deposit' ? amount : -amount),
          null,
          null,
          null,
          e.ts,
        ]);
        break;
      }
      case 'order': {
        const o = e.order as WireOrder;
        const reason = (e.reason as string | null) ?? null;
        const prev = orders.get(o.orderId);
        if (e.kind === 'accepted' || prev === undefined) {
          orders.set(o.orderId, {
            accepted: e.kind === 'accepted',
            o,
            reason,
            seq: e.seq,
            owned: false,
          });
        } else {
          // The first merge copies (the events stay as read: a batch may be prepared again).
          if (prev.owned) Object.assign(prev.o, o);
          else prev.o = { ...prev.o, ...o };
          prev.owned = true;
          prev.reason = reason ?? prev.reason;
          prev.seq = e.seq;
        }
        // The lock row: what the order holds now minus what it held at its previous event.
        const locked = BigInt(o.locked);
        const lock = known.get(o.orderId);
        if (e.kind === 'accepted') {
          const m = specs.market(o.market);
          const asset = o.side === 'buy' ? m.quote : m.base;
          known.set(o.orderId, { asset, locked });
          if (locked !== 0n) ledger.push(lockRow(specs, e, o, asset, locked));
        } else if (lock !== undefined) {
          const delta = locked - lock.locked;
          lock.locked = locked;
          if (delta !== 0n) ledger.push(lockRow(specs, e, o, lock.asset, delta));
        } else {
          const before = older.get(o.orderId);
          older.set(o.orderId, locked);
          if (before !== locked) {
            olderLocks.push([e.seq, o.orderId, String(locked), before ?? null, e.ts]);
          }
        }
        break;
      }
      case 'trade': {
        const m = specs.market(e.market as string);
        const maker = e.maker as WireParty;
        const taker = e.taker as WireParty;
        const price = e.price as number;
        const lots = e.quantity as number;
        const quoteMinor = BigInt(e.quoteAmount as string);
        const tradeId = e.tradeId as number;
        trades.push([
          m.symbol,
          tradeId,
          specs.price(m, price),
          specs.quantity(m, lots),
          specs.amount(m.quote, quoteMinor),
          e.takerSide,
          maker.orderId,
          maker.userId,
          specs.amount(maker.feeAsset, BigInt(maker.fee)),
          maker.feeAsset,
          taker.orderId,
          taker.userId,
          specs.amount(taker.feeAsset, BigInt(taker.fee)),
          taker.feeAsset,
          e.seq,
          e.ts,
        ]);
        // Settlement: the buyer pays quote and receives base, the seller the reverse; each pays
        // its fee out of what it received.
        const buyer = e.takerSide === 'buy' ? taker : maker;
        const seller = e.takerSide === 'buy' ? maker : taker;
        const baseMinor = BigInt(lots) * m.lotMinor;
        const legs: [WireParty, string, bigint, string][] = [
          [buyer, m.base, baseMinor, 'trade'],
          [buyer, m.quote, -quoteMinor, 'trade'],
          [buyer, buyer.feeAsset, -BigInt(buyer.fee), 'fee'],
          [seller, m.base, -baseMinor, 'trade'],
          [seller, m.quote, quoteMinor, 'trade'],
          [seller, seller.feeAsset, -BigInt(seller.fee), 'fee'],
        ];
        let idx = 0;
        for (const [party, asset, amount, kind] of legs) {
          if (amount === 0n) continue;
          ledger.push([
            e.seq,
            idx++,
            party.userId,
            asset,
            kind,
            specs.amount(asset, amount),
            m.symbol,
            tradeId,
            party.orderId,
            e.ts,
          ]);
        }
        // One accumulator per market and minute here; the other intervals are merged from the
        // minutes once the batch is read (a minute lies within one bucket of every interval).
        const minute = bucketStart('1m', e.ts);
        let c = lastMinute.get(m.symbol);
        if (c === undefined || c.open !== minute) {
          const key = `${m.symbol}|${minute}`;
          c = minutes.get(key);
          if (c === undefined) {
            c = newCandle(m.symbol, '1m', minute, price, lots, quoteMinor, tradeId);
            minutes.set(key, c);
          } else {
            addTrade(c, price, lots, quoteMinor, tradeId);
          }
          lastMinute.set(m.symbol, c);
        } else {
          addTrade(c, price, lots, quoteMinor, tradeId);
        }
        break;
      }
      default:
        // balance, depth, order_rejected: nothing to keep (balances follow from the ledger).
        break;
    }
  }

  if (assets.length > 0) {
    await client.query(
      `INSERT INTO assets (symbol, decimals)
       SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT DO NOTHING`,
      arrayColumns(assets, 'tn'),
    );
  }
  if (markets.length > 0) {
    await client.query(
      `INSERT INTO markets (symbol, base, quote, tick_size, lot_size, min_quantity, min_notional,
                            maker_fee, taker_fee, created_at)
       SELECT s, b, q, t, l, mq, mn, mf, tf, ${ts('c')}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[],
                   $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::bigint[])
            AS u(s, b, q, t, l, mq, mn, mf, tf, c)
       ON CONFLICT DO NOTHING`,
      arrayColumns(markets, 'tttnnnnnnn'),
    );
  }
  if (users.length > 0) {
    await client.query(
      `INSERT INTO users (user_id, created_at)
       SELECT id, ${ts('c')} FROM unnest($1::bigint[], $2::bigint[]) AS u(id, c)
       ON CONFLICT DO NOTHING`,
      arrayColumns(users, 'nn'),
    );
  }
  if (olderLocks.length > 0) {
    // Before the orders update, which moves orders.locked on. An older order's first event here
    // is compared with orders.locked (before = null), its later ones with the event before.
    // Amounts arrive in minor units of an asset only the order's side tells.
    await client.query(
      `WITH unit AS (SELECT symbol, ('1e-' || decimals)::numeric AS unit FROM assets)
       INSERT INTO ledger (seq, idx, user_id, asset, kind, amount, market, order_id, ts)
       SELECT d.seq, 0, o.user_id, a.symbol, CASE WHEN x.amt > 0 THEN 'lock' ELSE 'unlock' END,
              x.amt, o.market, o.order_id, ${ts('d.t')}
       FROM unnest($1::bigint[], $2::bigint[], $3::numeric[], $4::numeric[], $5::bigint[])
              AS d(seq, id, now, before, t)
       JOIN orders o ON o.order_id = d.id
       JOIN markets m ON m.symbol = o.market
       JOIN unit a ON a.symbol = CASE o.side WHEN 'buy' THEN m.quote ELSE m.base END
       CROSS JOIN LATERAL (
         SELECT trim_scale(d.now * a.unit - coalesce(d.before * a.unit, o.locked)) AS amt) x
       WHERE x.amt <> 0`,
      arrayColumns(olderLocks, 'nnnnn'),
    );
  }
  await writeOrders(client, specs, orders);
  if (trades.length > 0) {
    await client.copy(
      `COPY trades (market, trade_id, price, quantity, quote_quantity, taker_side, maker_order_id,
                    maker_user_id, maker_fee, maker_fee_asset, taker_order_id, taker_user_id,
                    taker_fee, taker_fee_asset, seq, ts) FROM STDIN`,
      copyRows(trades, 'tnnnntnnntnnntnz'),
    );
  }
  if (ledger.length > 0) {
    await client.copy(
      'COPY ledger (seq, idx, user_id, asset, kind, amount, market, trade_id, order_id, ts) FROM STDIN',
      copyRows(ledger, 'nnnttntnnz'),
    );
  }
  if (minutes.size > 0) await upsertCandles(client, specs, candlesOf(minutes.values()));
  return { events: events.length, trades: trades.length, orders: orders.size };
}

async function writeOrders(
  client: SqlSink,
  specs: MarketSpecs,
  orders: Map<number, OrderRow>,
): Promise<void> {
  const inserts: unknown[][] = [];
  const updates: unknown[][] = [];
  for (const { accepted, o, reason, seq } of orders.values()) {
    const m = specs.market(o.market);
    const quantity = o.quantity > 0 ? specs.quantity(m, o.quantity) : null;
    const filled = specs.quantity(m, o.filledQuantity);
    const filledQuote = specs.amount(m.quote, BigInt(o.filledQuoteAmount));
    if (accepted) {
      const quoteAmount = BigInt(o.quoteAmount ?? '0');
      inserts.push([
        o.orderId,
        o.clientOrderId ?? null,
        o.userId,
        o.market,
        o.side,
        o.type,
        o.timeInForce,
        o.postOnly ?? false,
        o.selfTradePrevention,
        o.type === 'limit' ? specs.price(m, o.price ?? 0) : null,
        quantity,
        quoteAmount > 0n ? specs.amount(m.quote, quoteAmount) : null,
        filled,
        filledQuote,
        o.status,
        reason,
        o.createdAt,
        o.updatedAt,
        seq,
        specs.amount(o.side === 'buy' ? m.quote : m.base, BigInt(o.locked)),
      ]);
    } else {
      updates.push([
        o.orderId,
        quantity,
        filled,
        filledQuote,
        o.status,
        reason,
        o.updatedAt,
        seq,
        o.locked,
      ]);
    }
  }
  if (inserts.length > 0) {
    await client.copy(
      `COPY orders (order_id, client_order_id, user_id, market, side, type, time_in_force,
                    post_only, self_trade_prevention, price, quantity, quote_quantity,
                    filled_quantity, filled_quote_quantity, status, close_reason, created_at,
                    updated_at, last_seq, locked) FROM STDIN`,
      copyRows(inserts, 'ntnttttbtnnnnnttzznn'),
    );
  }
  if (updates.length > 0) {
    // Only ever forward: an update older than the row (a redelivery) changes nothing. locked
    // arrives in minor units of the asset the order's side names.
    await client.query(
      `WITH unit AS (
         SELECT m.symbol, ('1e-' || b.decimals)::numeric AS base, ('1e-' || q.decimals)::numeric AS quote
         FROM markets m JOIN assets b ON b.symbol = m.base JOIN assets q ON q.symbol = m.quote)
       UPDATE orders o
       SET quantity = u.q, filled_quantity = u.fq, filled_quote_quantity = u.fqq, status = u.st,
           close_reason = coalesce(u.r, o.close_reason), updated_at = ${ts('u.up')},
           last_seq = u.seq,
           locked = trim_scale(u.l * CASE o.side WHEN 'buy' THEN unit.quote ELSE unit.base END)
       FROM unnest($1::bigint[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[],
                   $6::text[], $7::bigint[], $8::bigint[], $9::numeric[])
              AS u(id, q, fq, fqq, st, r, up, seq, l),
            unit
       WHERE o.order_id = u.id AND unit.symbol = o.market AND o.last_seq < u.seq`,
      arrayColumns(updates, 'nnnnttnnn'),
    );
  }
}

async function upsertCandles(
  client: SqlSink,
  specs: MarketSpecs,
  candles: readonly CandleAcc[],
): Promise<void> {
  const rows = candles.map((c) => {
    const m = specs.market(c.market);
    return [
      c.market,
      c.interval,
      c.open,
      bucketEnd(c.interval as never, c.open),
      specs.price(m, c.openPrice),
      specs.price(m, c.high),
      specs.price(m, c.low),
      specs.price(m, c.closePrice),
      specs.quantity(m, c.volume),
      specs.amount(m.quote, c.quote),
      c.trades,
      c.firstTradeId,
      c.lastTradeId,
    ];
  });
  await client.query(
    `INSERT INTO candles AS c (market, interval, open_time, close_time, open, high, low, close,
                               volume, quote_volume, trades, first_trade_id, last_trade_id)
     SELECT m, i, ${ts('ot')}, ${ts('ct')}, o, h, l, cl, v, qv, n, ft, lt
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::numeric[],
                 $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[],
                 $11::bigint[], $12::bigint[], $13::bigint[])
          AS u(m, i, ot, ct, o, h, l, cl, v, qv, n, ft, lt)
     ON CONFLICT (market, interval, open_time) DO UPDATE SET
       open = CASE WHEN EXCLUDED.first_trade_id < c.first_trade_id THEN EXCLUDED.open ELSE c.open END,
       close = CASE WHEN EXCLUDED.last_trade_id > c.last_trade_id THEN EXCLUDED.close ELSE c.close END,
       high = GREATEST(c.high, EXCLUDED.high),
       low = LEAST(c.low, EXCLUDED.low),
       volume = c.volume + EXCLUDED.volume,
       quote_volume = c.quote_volume + EXCLUDED.quote_volume,
       trades = c.trades + EXCLUDED.trades,
       first_trade_id = LEAST(c.first_trade_id, EXCLUDED.first_trade_id),
       last_trade_id = GREATEST(c.last_trade_id, EXCLUDED.last_trade_id)
     RETURNING market, interval, ${KLINE_COLUMNS}`,
    arrayColumns(rows, 'ttnnnnnnnnnnn'),
    'candles',
  );
}

function newCandle(
  market: string,
  interval: string,
  open: number,
  price: number,
  lots: number,
  quote: bigint,
  tradeId: number,
): CandleAcc {
  return {
    market,
    interval,
    open,
    openPrice: price,
    high: price,
    low: price,
    closePrice: price,
    volume: lots,
    quote,
    trades: 1,
    firstTradeId: tradeId,
    lastTradeId: tradeId,
  };
}

function addTrade(c: CandleAcc, price: number, lots: number, quote: bigint, tradeId: number): void {
  if (price > c.high) c.high = price;
  if (price < c.low) c.low = price;
  if (tradeId < c.firstTradeId) {
    c.firstTradeId = tradeId;
    c.openPrice = price;
  }
  if (tradeId > c.lastTradeId) {
    c.lastTradeId = tradeId;
    c.closePrice = price;
  }
  c.volume += lots;
  c.quote += quote;
  c.trades++;
}

/** The batch's candles of every interval, from its 1m candles. */
function candlesOf(minutes: Iterable<CandleAcc>): CandleAcc[] {
  const out = new Map<string, CandleAcc>();
  for (const m of minutes) {
    for (const interval of INTERVALS) {
      if (interval === '1m') {
        out.set(`${m.market}|1m|${m.open}`, m);
        continue;
      }
      const open = bucketStart(interval, m.open);
      const key = `${m.market}|${interval}|${open}`;
      const c = out.get(key);
      if (c === undefined) {
        out.set(key, { ...m, interval, open });
        continue;
      }
      if (m.high > c.high) c.high = m.high;
      if (m.low < c.low) c.low = m.low;
      if (m.firstTradeId < c.firstTradeId) {
        c.firstTradeId = m.firstTradeId;
        c.openPrice = m.openPrice;
      }
      if (m.lastTradeId > c.lastTradeId) {
        c.lastTradeId = m.lastTradeId;
        c.closePrice = m.closePrice;
      }
      c.volume += m.volume;
      c.quote += m.quote;
      c.trades += m.trades;
    }
  }
  return [...out.values()];
}

/** A lock row of an order event: `delta` minor units of `asset` into (> 0) or out of locked. */
function lockRow(
  specs: MarketSpecs,
  e: Wire,
  o: WireOrder,
  asset: string,
  delta: bigint,
): unknown[] {
  const kind = delta > 0n ? 'lock' : 'unlock';
  return [
    e.seq,
    0,
    o.userId,
    asset,
    kind,
    specs.amount(asset, delta),
    o.market,
    null,
    o.orderId,
    e.ts,
  ];
}

/** SQL: the timestamptz of a Unix-ms column, exactly. */
function ts(column: string): string {
  return `('epoch'::timestamptz + ${column} * interval '1 millisecond')`;
}
