/**
 * The money invariant of the design, checked on a core: for every asset, Σ users (available +
 * locked) + fees = deposits − withdrawals exactly; nothing negative; each user's locked equals
 * what their open orders can still spend. Also: a fresh core fed an engine's whole journal.
 */
import { Redis } from 'ioredis';
import { decodeCommands, streamIdTime } from '../../services/engine/codec';
import { type Command, ExchangeCore } from '../../services/engine/core';

/** Every breach of the invariant in `core` (empty when it holds). */
export function conservationProblems(core: ExchangeCore): string[] {
  const sheet = core.sheet;
  const problems: string[] = [];
  const held = sheet.assets.map(() => 0n);
  for (const account of sheet.accounts.values()) {
    const lockedByOrders = sheet.assets.map(() => 0n);
    for (const order of core.openOrders(account.userId)) {
      const market = core.market(order.market);
      lockedByOrders[(order.side === 'buy' ? market.quote : market.base).index] += order.locked;
    }
    for (const asset of sheet.assets) {
      const available = account.available[asset.index];
      const locked = account.locked[asset.index];
      if (available < 0n || locked < 0n)
        problems.push(`user ${account.userId} ${asset.symbol}: ${available} + ${locked} locked`);
      if (locked !== lockedByOrders[asset.index])
        problems.push(
          `user ${account.userId} ${asset.symbol}: ${locked} locked, orders hold ${lockedByOrders[asset.index]}`,
        );
      held[asset.index] += available + locked;
    }
  }
  for (const asset of sheet.assets) {
    const i = asset.index;
    if (sheet.fees[i] < 0n) problems.push(`${asset.symbol} fees ${sheet.fees[i]}`);
    if (held[i] + sheet.fees[i] !== sheet.deposited[i] - sheet.withdrawn[i])
      problems.push(
        `${asset.symbol}: held ${held[i]} + fees ${sheet.fees[i]} != deposited ${sheet.deposited[i]} - withdrawn ${sheet.withdrawn[i]}`,
      );
  }
  return problems;
}

/**
 * A fresh core fed a command stream from its first entry exactly as the engine feeds it (seq =
 * position from 1, ts = the entry's time). The engine must run with JOURNAL_TRIM=false.
 */
export async function replayJournal(redisUrl: string, stream: string): Promise<ExchangeCore> {
  const redis = new Redis(redisUrl);
  const core = new ExchangeCore();
  try {
    let start = '-';
    for (;;) {
      const batch = await redis.xrange(stream, start, '+', 'COUNT', 2000);
      for (const [id, flat] of batch) {
        let c = '[]';
        for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === 'c') c = flat[i + 1];
        for (const command of decodeCommands(c)) {
          core.apply({ ...command, seq: core.lastCommandSeq + 1, ts: streamIdTime(id) } as Command);
        }
      }
      if (batch.length < 2000) return core;
      start = `(${batch[batch.length - 1][0]}`;
    }
  } finally {
    redis.disconnect();
  }
}
