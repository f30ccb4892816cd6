/**
 * Every Redis key and pub/sub channel name, in one place. All carry the configured prefix so
 * that several stacks (or test runs) can share one Redis.
 */
export interface RedisKeys {
  /** Stream: the engine's input journal. */
  readonly commands: string;
  /** Stream: what the engine did, for the History persister. */
  readonly events: string;
  /** Consumer group of the History persister on {@link events}. */
  readonly historyGroup: string;
  /** Channel: depth diffs of a market. */
  depth(market: string): string;
  /** Channel: trades of a market. */
  trades(market: string): string;
  /** Channel: 24h ticker of a market. */
  ticker(market: string): string;
  /**
   * Channel: the candles of a market in one interval (`1m` ... `1M`), as the History persister
   * committed them.
   */
  kline(interval: string, market: string): string;
  /** Channel: a user's order and balance updates. */
  user(userId: string): string;
  /** Pattern matching every channel above (for PUBSUB CHANNELS). */
  readonly channels: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    commands: `${prefix}engine:commands`,
    events: `${prefix}engine:events`,
    historyGroup: 'history:persister',
    depth: (market) => `${prefix}md:depth:${market}`,
    trades: (market) => `${prefix}md:trade:${market}`,
    ticker: (market) => `${prefix}md:ticker:${market}`,
    kline: (interval, market) => `${prefix}md:kline:${interval}:${market}`,
    user: (userId) => `${prefix}user:${userId}`,
    channels: `${prefix}*`,
  };
}
