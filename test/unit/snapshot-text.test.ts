/**
 * A snapshot written in chunks is exactly the text of one JSON.stringify, and the event loop gets
 * turns while a large one is written.
 */
import { captureSnapshot, toSnapshot, type ExchangeCore } from '../../services/engine/core';
import { snapshotText } from '../../services/engine/snapshot-text';
import { Harness } from './core/harness';

/** A core with `n` resting orders (and a few users and markets). */
function withOrders(n: number): ExchangeCore {
  const h = new Harness();
  const users = [1, 2, 3].map(() => h.user({ USDC: '100000000', SOL: '1000000' }));
  for (let i = 0; i < n; i++) {
    const buy = i % 2 === 0;
    h.ok(
      h.placeCmd(users[i % 3], {
        side: buy ? 'buy' : 'sell',
        price: buy ? `${90 + (i % 7)}.00` : `${110 + (i % 7)}.00`,
        quantity: '0.10',
        clientOrderId: i % 5 === 0 ? `c-${i}` : undefined,
      }),
    );
  }
  return h.core;
}

describe('snapshotText', () => {
  it('writes exactly what JSON.stringify writes', async () => {
    for (const n of [0, 1, 999, 1000, 1001, 4999, 5000, 5001, 12_345]) {
      const core = withOrders(n);
      const snapshot = toSnapshot(core);
      expect(snapshot.orders).toHaveLength(n);
      expect(await snapshotText(captureSnapshot(core))).toBe(JSON.stringify(snapshot));
    }
  });

  it('lets other work run between chunks', async () => {
    // Something else that wants a turn of the event loop as often as it can get one.
    const turnsDuring = async (core: ExchangeCore) => {
      const capture = captureSnapshot(core);
      let turns = 0;
      let done = false;
      const other = () => {
        if (done) return;
        turns++;
        setImmediate(other);
      };
      setImmediate(other);
      await snapshotText(capture);
      done = true;
      return turns;
    };
    // Twenty chunks of 1,000 orders: the other work ran between them.
    expect(await turnsDuring(withOrders(20_000))).toBeGreaterThanOrEqual(19);
    // One chunk: written in one go.
    expect(await turnsDuring(withOrders(100))).toBe(0);
  });
});
