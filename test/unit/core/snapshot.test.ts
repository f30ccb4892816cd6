import {
  type Command,
  type ExchangeCore,
  type ExchangeEvent,
  fromSnapshot,
  toSnapshot,
} from '../../../services/engine/core';
import { big, type CommandBody, Harness } from './harness';
import { randomCommands } from './random-commands';

const USERS = 12;

function setUp(): Harness {
  const h = new Harness();
  for (let i = 0; i < USERS; i++) {
    h.user({ USDC: '10000000', SOL: '100000', BTC: '100', ETH: '5000' });
  }
  return h;
}

function feed(core: ExchangeCore, bodies: CommandBody[], firstSeq: number): ExchangeEvent[] {
  const events: ExchangeEvent[] = [];
  bodies.forEach((body, i) => {
    const outcome = core.apply({
      ...body,
      seq: firstSeq + i,
      ts: 1_700_000_000_000 + firstSeq + i,
    } as Command);
    events.push(...outcome.events);
  });
  return events;
}

describe('snapshot', () => {
  it.each([1, 2, 3])(
    'round trip after N commands equals an uninterrupted run (seed %i)',
    (seed) => {
      const first = randomCommands(seed, 3000, USERS);
      const next = randomCommands(seed + 1000, 3000, USERS);

      const uninterrupted = setUp();
      const start = uninterrupted.seq + 1;
      feed(uninterrupted.core, first, start);
      const expectedEvents = feed(uninterrupted.core, next, start + first.length);

      const interrupted = setUp();
      feed(interrupted.core, first, start);
      // Through JSON text, as it is stored.
      const text = JSON.stringify(toSnapshot(interrupted.core));
      const restored = fromSnapshot(JSON.parse(text));
      expect(toSnapshot(restored)).toEqual(toSnapshot(interrupted.core));
      const events = feed(restored, next, start + first.length);

      expect(JSON.stringify(events, big)).toBe(JSON.stringify(expectedEvents, big));
      expect(toSnapshot(restored)).toEqual(toSnapshot(uninterrupted.core));
      // The workload did real work: trades happened and orders rest on the books.
      expect(expectedEvents.filter((e) => e.type === 'trade').length).toBeGreaterThan(100);
      expect(toSnapshot(restored).orders.length).toBeGreaterThan(10);
    },
  );

  it('restores queries: depth, open orders, balances, api key lookups', () => {
    const h = setUp();
    feed(h.core, randomCommands(7, 2000, USERS), h.seq + 1);
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(h.core))));
    for (const market of ['SOL_USDC', 'BTC_USDC', 'ETH_USDC']) {
      expect(restored.depth(market, 50)).toEqual(h.core.depth(market, 50));
    }
    for (let u = 1; u <= USERS; u++) {
      expect(restored.openOrders(String(u))).toEqual(h.core.openOrders(String(u)));
      expect(restored.balances(String(u))).toEqual(h.core.balances(String(u)));
    }
    expect(restored.userIdForKeyHash('hash-101')).toBe(h.core.userIdForKeyHash('hash-101'));
    expect(restored.lastCommandSeq).toBe(h.core.lastCommandSeq);
  });

  it('refuses a snapshot of another version', () => {
    const snapshot = { ...toSnapshot(new Harness().core), version: 99 };
    expect(() => fromSnapshot(snapshot)).toThrow(/version 99/);
  });
});
