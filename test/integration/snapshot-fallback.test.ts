/**
 * A snapshot that does not restore: the engine starts from the one before it and the journal
 * after that one (which the loop keeps for this), and ends up in the same state; with no usable
 * snapshot it refuses to start rather than start empty.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { Side } from '../../gen/exchange/v1/common';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { createLogger } from '../../services/lib/logger';
import { engineClient, type EngineApi } from '../support/engine-client';
import { funded, limitOrder } from '../support/fixtures';
import {
  engineConfig,
  isolate,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type Isolation,
} from '../support/stack';

const log = createLogger('snapshot-fallback-test', 'silent');

let iso: Isolation;
let db: pg.Client;
let engine: EngineHandle | undefined;
let api: EngineApi | undefined;

const config = () =>
  engineConfig(iso, {
    SNAPSHOT_EVERY_COMMANDS: '10',
    SNAPSHOT_EVERY_SECONDS: '3600',
    JOURNAL_TRIM: 'true',
  });

async function start(): Promise<EngineApi> {
  engine = await startEngine(config(), log);
  api = engineClient(`127.0.0.1:${engine.port}`);
  return api;
}

async function stop(): Promise<void> {
  api?.close();
  api = undefined;
  await engine?.stop();
  engine = undefined;
}

const snapshots = async () =>
  (
    await db.query<{ id: string; stream_id: string }>(
      `SELECT id::text, stream_id FROM "${iso.schema}".engine_snapshots
        ORDER BY command_seq DESC, id DESC`,
    )
  ).rows;

/** What a restart must give back: every user's balances and open orders. */
async function stateOf(a: EngineApi, users: string[]) {
  return Promise.all(
    users.map(async (userId) => ({
      balances: (await a.getBalances({ userId })).balances,
      open: (await a.getOpenOrders({ userId })).orders.map((o) => [o.orderId, o.price, o.quantity]),
    })),
  );
}

beforeEach(async () => {
  iso = isolate('snapfall');
  db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
});

afterEach(async () => {
  try {
    await stop();
    await db.end();
  } finally {
    await iso.cleanup();
  }
});

describe('Engine recovery when the newest snapshot does not restore', () => {
  it('starts from the snapshot before it and the journal after that one', async () => {
    const a = await start();
    const users = [await funded(a, { USDC: '100000' }), await funded(a, { SOL: '1000' })];
    // Enough commands for several snapshots (one per 10 commands); some of them trade.
    for (let i = 0; i < 30; i++) {
      await a.placeOrder(limitOrder(users[0], Side.SIDE_BUY, String(100 + (i % 5)), '1'));
      if (i % 3 === 0) await a.placeOrder(limitOrder(users[1], Side.SIDE_SELL, '102', '2'));
    }
    const expected = await stateOf(a, users);
    await stop(); // a last snapshot on the way out
    const before = await snapshots();
    expect(before.length).toBeGreaterThanOrEqual(2);

    // The newest one's text is damaged.
    await db.query(`UPDATE "${iso.schema}".engine_snapshots SET state = '{"cut' WHERE id = $1`, [
      before[0].id,
    ]);
    const again = await start();
    expect(engine?.recovery).toMatchObject({ fromSnapshot: true, skippedSnapshots: 1 });
    expect(engine?.recovery.replayedCommands).toBeGreaterThan(0);
    expect(await stateOf(again, users)).toEqual(expected);
    expect(expected[0].open.length).toBeGreaterThan(0);
    await stop();

    // The replay wrote no event twice and skipped none: the events stream's seqs run on.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const entries = await redis.xrange(`${iso.prefix}engine:events`, '-', '+');
      const ranges = entries.map(([, fields]) => {
        const field = (name: string) => Number(fields[fields.indexOf(name) + 1]);
        return [field('first'), field('last')];
      });
      expect(ranges[0][0]).toBe(1);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1] + 1);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses to start when no snapshot it could replay from restores', async () => {
    const a = await start();
    const user = await funded(a, { USDC: '1000' });
    for (let i = 0; i < 25; i++) await a.placeOrder(limitOrder(user, Side.SIDE_BUY, '10', '1'));
    await stop();
    expect((await snapshots()).length).toBeGreaterThanOrEqual(2);
    await db.query(`UPDATE "${iso.schema}".engine_snapshots SET state = '{"cut'`);
    await expect(startEngine(config(), log)).rejects.toThrow(/no stored snapshot can be restored/);
  });
});
