/**
 * Live market data out of the engine, on Redis pub/sub (best effort: a subscriber that misses a
 * message detects it from the depth update ids and resyncs from GetDepth).
 *
 * Per batch of applied commands: one depth diff per market that changed (levels merged, with
 * firstUpdateId/lastUpdateId), every trade, one 24h ticker per market that traded, and each
 * user's order, fill and balance updates on that user's channel. Each channel gets one message
 * per batch: a JSON array of its updates, in order, with the REST API's field names and decimal
 * strings.
 */
import type { ChainableCommander } from 'ioredis';
import {
  type ExchangeCore,
  type ExchangeEvent,
  formatScaled,
  type Market,
  type OrderView,
  stepsToDecimal,
} from './core';
import type { RedisKeys } from '../lib/redis-keys';

const DAY_MS = 24 * 60 * 60 * 1000;
/** User channel names kept (the cache starts over when full). */
const MAX_CACHED_CHANNELS = 100_000;
const MINUTE_MS = 60 * 1000;

interface MinuteBucket {
  minute: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: bigint;
  trades: number;
}

/** Rolling 24h statistics of one market in one-minute buckets (in memory; reset on restart). */
export class TickerWindow {
  private readonly buckets: MinuteBucket[] = [];

  add(ts: number, price: number, lots: number, quote: bigint): void {
    const minute = Math.floor(ts / MINUTE_MS);
    let last = this.buckets[this.buckets.length - 1];
    if (last === undefined || last.minute < minute) {
      last = {
        minute,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0,
        quoteVolume: 0n,
        trades: 0,
      };
      this.buckets.push(last);
    }
    if (price > last.high) last.high = price;
    if (price < last.low) last.low = price;
    last.close = price;
    last.volume += lots;
    last.quoteVolume += quote;
    last.trades++;
    const oldest = minute - DAY_MS / MINUTE_MS;
    while (this.buckets.length > 0 && this.buckets[0].minute <= oldest) this.buckets.shift();
  }

  /** The 24h ticker as of `now`, or undefined without trades in the window. */
  stats(now: number) {
    const from = Math.floor((now - DAY_MS) / MINUTE_MS);
    const live = this.buckets.filter((b) => b.minute > from);
    if (live.length === 0) return undefined;
    let high = live[0].high;
    let low = live[0].low;
    let volume = 0;
    let quoteVolume = 0n;
    let trades = 0;
    for (const b of live) {
      if (b.high > high) high = b.high;
      if (b.low < low) low = b.low;
      volume += b.volume;
      quoteVolume += b.quoteVolume;
      trades += b.trades;
    }
    return {
      open: live[0].open,
      high,
      low,
      last: live[live.length - 1].close,
      volume,
      quoteVolume,
      trades,
      openTime: now - DAY_MS,
      closeTime: now,
    };
  }
}

export function orderJson(m: Market, o: OrderView) {
  return {
    orderId: String(o.orderId),
    clientOrderId: o.clientOrderId,
    market: o.market,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    price: o.type === 'limit' ? stepsToDecimal(o.price, m.tick) : null,
    quantity: o.quantity > 0 ? stepsToDecimal(o.quantity, m.lot) : null,
    quoteQuantity: o.quoteAmount > 0n ? formatScaled(o.quoteAmount, m.quote.decimals) : null,
    filledQuantity: stepsToDecimal(o.filledQuantity, m.lot),
    filledQuoteQuantity: formatScaled(o.filledQuoteAmount, m.quote.decimals),
    status: o.status,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}

export class MarketDataPublisher {
  private readonly tickers = new Map<string, TickerWindow>();
  /**
   * Channels someone is subscribed to (refreshed from PUBSUB CHANNELS by the loop). Messages for
   * other channels are not even built: formatting every user's updates costs more than matching.
   * Null: not known yet, publish everything.
   */
  private listening: Set<string> | null = null;
  /** Whether any user channel has a subscriber (most events are some user's). */
  private anyUserListening = true;
  /** Channel names by user id: building one for every event was an allocation per event. */
  private readonly userChannels = new Map<string, string>();

  setListening(channels: readonly string[]): void {
    this.listening = new Set(channels);
    const userPrefix = this.keys.user('');
    this.anyUserListening = channels.some((c) => c.startsWith(userPrefix));
  }

  private readonly marketChannels = new Map<
    string,
    { depth: string; trades: string; ticker: string }
  >();

  private channelsOf(market: string): { depth: string; trades: string; ticker: string } {
    let c = this.marketChannels.get(market);
    if (c === undefined) {
      c = {
        depth: this.keys.depth(market),
        trades: this.keys.trades(market),
        ticker: this.keys.ticker(market),
      };
      this.marketChannels.set(market, c);
    }
    return c;
  }

  private userChannel(userId: string): string {
    let channel = this.userChannels.get(userId);
    if (channel === undefined) {
      channel = this.keys.user(userId);
      if (this.userChannels.size >= MAX_CACHED_CHANNELS) this.userChannels.clear();
      this.userChannels.set(userId, channel);
    }
    return channel;
  }

  /** Whether a user's channel has a subscriber: its name only if any user channel has one. */
  private wantedUser(userId: string): boolean {
    if (this.listening === null) return true;
    return this.anyUserListening && this.listening.has(this.userChannel(userId));
  }

  constructor(
    private readonly core: ExchangeCore,
    private readonly keys: RedisKeys,
  ) {}

  // The batch being gathered: one message per channel per batch, a JSON array of that channel's
  // updates in order; depth merged per market; the markets that traded, for their tickers.
  private readonly out = new Map<string, string[]>();
  private readonly depth = new Map<
    string,
    {
      first: number;
      last: number;
      ts: number;
      bids: Map<number, number>;
      asks: Map<number, number>;
    }
  >();
  private readonly traded = new Map<string, number>();

  private send(channel: string, json: string): void {
    const list = this.out.get(channel);
    if (list === undefined) this.out.set(channel, [json]);
    else list.push(json);
  }

  private wanted(channel: string): boolean {
    return this.listening === null || this.listening.has(channel);
  }

  /**
   * Gathers the market data of one command's events into the batch that `flush` sends. The
   * matching loop adds each command's events as it applies it, so they need not live until the
   * batch ends.
   */
  add(events: readonly ExchangeEvent[]): void {
    const depth = this.depth;
    const traded = this.traded;
    for (const e of events) {
      switch (e.type) {
        case 'depth': {
          if (!this.wanted(this.channelsOf(e.market).depth)) break;
          let d = depth.get(e.market);
          if (d === undefined) {
            d = { first: e.updateId, last: e.updateId, ts: e.ts, bids: new Map(), asks: new Map() };
            depth.set(e.market, d);
          }
          d.last = e.updateId;
          d.ts = e.ts;
          for (const [p, q] of e.bids) d.bids.set(p, q);
          for (const [p, q] of e.asks) d.asks.set(p, q);
          break;
        }
        case 'trade': {
          const m = this.core.market(e.market);
          this.ticker(e.market).add(e.ts, e.price, e.quantity, e.quoteAmount);
          traded.set(e.market, e.ts);
          const tradeChannel = this.channelsOf(e.market).trades;
          const wantTrade = this.wanted(tradeChannel);
          if (!wantTrade && !this.wantedUser(e.maker.userId) && !this.wantedUser(e.taker.userId))
            break;
          const price = stepsToDecimal(e.price, m.tick);
          const quantity = stepsToDecimal(e.quantity, m.lot);
          const quoteQuantity = formatScaled(e.quoteAmount, m.quote.decimals);
          if (wantTrade) {
            this.send(
              tradeChannel,
              JSON.stringify({
                e: 'trade',
                market: e.market,
                tradeId: String(e.tradeId),
                price,
                quantity,
                quoteQuantity,
                takerSide: e.takerSide,
                ts: e.ts,
              }),
            );
          }
          for (const [party, liquidity, side] of [
            [e.maker, 'maker', e.takerSide === 'buy' ? 'sell' : 'buy'],
            [e.taker, 'taker', e.takerSide],
          ] as const) {
            if (!this.wantedUser(party.userId)) continue;
            const feeDecimals =
              party.feeAsset === m.base.symbol ? m.base.decimals : m.quote.decimals;
            this.send(
              this.userChannel(party.userId),
              JSON.stringify({
                e: 'fill',
                market: e.market,
                orderId: String(party.orderId),
                tradeId: String(e.tradeId),
                side,
                price,
                quantity,
                quoteQuantity,
                fee: formatScaled(party.fee, feeDecimals),
                feeAsset: party.feeAsset,
                liquidity,
                ts: e.ts,
              }),
            );
          }
          break;
        }
        case 'order':
          if (!this.wantedUser(e.order.userId)) break;
          this.send(
            this.userChannel(e.order.userId),
            JSON.stringify({
              e: 'order',
              kind: e.kind,
              reason: e.reason,
              order: orderJson(this.core.market(e.order.market), e.order),
              ts: e.ts,
            }),
          );
          break;
        case 'balance': {
          if (!this.wantedUser(e.userId)) break;
          const decimals = this.decimals(e.asset);
          this.send(
            this.userChannel(e.userId),
            JSON.stringify({
              e: 'balance',
              asset: e.asset,
              available: formatScaled(e.available, decimals),
              locked: formatScaled(e.locked, decimals),
              ts: e.ts,
            }),
          );
          break;
        }
        default:
          break;
      }
    }
  }

  /**
   * Queues the messages of the batch gathered since the last flush on `pipe` (the caller
   * executes it).
   */
  flush(pipe: ChainableCommander): void {
    const out = this.out;
    try {
      for (const [market, d] of this.depth) {
        const m = this.core.market(market);
        const levels = (side: Map<number, number>) =>
          [...side].map(([p, q]) => [stepsToDecimal(p, m.tick), stepsToDecimal(q, m.lot)]);
        this.send(
          this.channelsOf(market).depth,
          JSON.stringify({
            e: 'depth',
            market,
            firstUpdateId: d.first,
            lastUpdateId: d.last,
            bids: levels(d.bids),
            asks: levels(d.asks),
            ts: d.ts,
          }),
        );
      }
      for (const [market, ts] of this.traded) {
        const channel = this.channelsOf(market).ticker;
        if (!this.wanted(channel)) continue;
        const json = this.tickerJson(market, ts);
        if (json !== undefined) this.send(channel, JSON.stringify(json));
      }
      for (const [channel, messages] of out) pipe.publish(channel, `[${messages.join(',')}]`);
    } finally {
      // Whatever happened, the next batch starts empty.
      out.clear();
      this.depth.clear();
      this.traded.clear();
    }
  }

  /** The 24h ticker of a market as of `now` (undefined before its first trade since start). */
  tickerJson(market: string, now: number) {
    const stats = this.tickers.get(market)?.stats(now);
    if (stats === undefined) return undefined;
    const m = this.core.market(market);
    const change = stats.last - stats.open;
    return {
      e: 'ticker',
      market,
      last: stepsToDecimal(stats.last, m.tick),
      open: stepsToDecimal(stats.open, m.tick),
      high: stepsToDecimal(stats.high, m.tick),
      low: stepsToDecimal(stats.low, m.tick),
      change: change < 0 ? `-${stepsToDecimal(-change, m.tick)}` : stepsToDecimal(change, m.tick),
      changePercent: formatScaled((BigInt(change) * 10_000n) / BigInt(stats.open), 2),
      volume: stepsToDecimal(stats.volume, m.lot),
      quoteVolume: formatScaled(stats.quoteVolume, m.quote.decimals),
      trades: stats.trades,
      openTime: stats.openTime,
      closeTime: stats.closeTime,
    };
  }

  private ticker(market: string): TickerWindow {
    let t = this.tickers.get(market);
    if (t === undefined) {
      t = new TickerWindow();
      this.tickers.set(market, t);
    }
    return t;
  }

  private decimals(asset: string): number {
    return this.core.asset(asset).decimals;
  }
}
