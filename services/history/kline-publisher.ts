/**
 * Live candles on Redis pub/sub, for the gateway's `kline.<interval>@MARKET` streams. After a
 * batch commits, the persister hands over the candles it touched, as the upsert left them in
 * Postgres; each (market, interval) channel gets one message: a JSON array of those candles,
 * oldest first, with the REST kline's field names (times and trade counts as numbers, prices and
 * volumes as the decimal strings GetKlines returns).
 *
 * Best effort, like the engine's market data: a failed publish is logged and nothing else. The
 * rows are written already, and a subscriber that missed a message gets the candle from GetKlines
 * or from the next update of it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from '../lib/redis-keys';
import type { CandleRow } from './batch-writer';

/** One candle on a kline channel. */
export interface KlineUpdate {
  readonly e: 'kline';
  readonly market: string;
  readonly interval: string;
  /** Start of the bucket, inclusive, Unix ms. */
  readonly openTime: number;
  /** End of the bucket, inclusive, Unix ms. */
  readonly closeTime: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  /** Traded quantity, in base units. */
  readonly volume: string;
  /** Traded amount, in quote units. */
  readonly quoteVolume: string;
  readonly trades: number;
}

export function klineUpdate(row: CandleRow): KlineUpdate {
  return {
    e: 'kline',
    market: row.market,
    interval: row.interval,
    openTime: Number(row.open_time),
    closeTime: Number(row.close_time),
    open: row.open,
    high: row.high,
    low: row.low,
    close: row.close,
    volume: row.volume,
    quoteVolume: row.quote_volume,
    trades: Number(row.trades),
  };
}

export class KlinePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  /** Publishes the candles in one pipeline. Never rejects: a failure is logged. */
  async publish(candles: readonly CandleRow[]): Promise<void> {
    if (candles.length === 0) return;
    const byChannel = new Map<string, KlineUpdate[]>();
    for (const row of candles) {
      const update = klineUpdate(row);
      const channel = this.keys.kline(update.interval, update.market);
      const list = byChannel.get(channel);
      if (list === undefined) byChannel.set(channel, [update]);
      else list.push(update);
    }
    const pipe = this.redis.pipeline();
    for (const [channel, updates] of byChannel) {
      updates.sort((a, b) => a.openTime - b.openTime);
      pipe.publish(channel, JSON.stringify(updates));
    }
    try {
      const replies = (await pipe.exec()) ?? [];
      const failed = replies.find(([err]) => err !== null);
      if (failed !== undefined) throw failed[0];
    } catch (err) {
      this.log.warn({ err, channels: byChannel.size }, 'kline publish failed');
    }
  }
}
