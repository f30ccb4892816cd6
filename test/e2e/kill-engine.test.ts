/**
 * The engine killed with SIGKILL while the market maker (over gRPC) and a REST client (through
 * the gateway) trade, then started again: every order the REST client got a 201 for is still
 * known, the restarted engine holds exactly the state of a clean replay of its journal, and
 * that state conserves money (Σ balances + fees = deposits − withdrawals, locks = open orders).
 */
import { startGateway, type GatewayHandle } from '../../gateway/server';
import { MarketMaker } from '../../services/bots/market-maker';
import { balanceToProto } from '../../services/engine/proto-mapping';
import { startHistory, type HistoryHandle } from '../../services/history/history-server';
import { gatewayConfigSchema, historyConfigSchema } from '../../services/lib/config';
import { engineClient, type EngineApi } from '../../services/lib/grpc/clients';
import { createLogger } from '../../services/lib/logger';
import { redisKeys } from '../../services/lib/redis-keys';
import { conservationProblems, replayJournal } from '../support/conservation';
import { EngineProcess } from '../support/engine-process';
import { freePort } from '../support/ports';
import { isolate, TEST_REDIS_URL, type Isolation } from '../support/stack';

const log = createLogger('kill-test', 'silent');
/** Acknowledged REST orders before the kill, and again after the restart. */
const ACKS_PER_PHASE = 60;

let iso: Isolation;
let engine: EngineProcess | undefined;
let history: HistoryHandle | undefined;
let gateway: GatewayHandle | undefined;
let api: EngineApi | undefined;
let maker: MarketMaker | undefined;

afterAll(async () => {
  await maker?.stop().catch(() => undefined);
  api?.close();
  await gateway?.stop();
  await history?.stop();
  await engine?.dispose();
  await iso?.cleanup();
});

it('keeps every acknowledged order and conserves money across a SIGKILL of the engine', async () => {
  iso = isolate('kill');
  const enginePort = await freePort();
  const engineEnv = {
    ...iso.env,
    LOG_LEVEL: 'info',
    ENGINE_HOST: '127.0.0.1',
    ENGINE_PORT: String(enginePort),
    // Keep the whole journal so the test can replay it from the start.
    JOURNAL_TRIM: 'false',
    SNAPSHOT_EVERY_COMMANDS: '300',
  };
  engine = EngineProcess.spawn(engineEnv);
  await engine.serving;
  history = await startHistory(
    historyConfigSchema.parse({ ...iso.env, HISTORY_HOST: '127.0.0.1', HISTORY_PORT: '0' }),
    log,
  );
  gateway = await startGateway(
    gatewayConfigSchema.parse({
      ...iso.env,
      HOST: '127.0.0.1',
      PORT: '0',
      ENGINE_ADDR: `127.0.0.1:${enginePort}`,
      HISTORY_ADDR: `127.0.0.1:${history.port}`,
      RATE_LIMIT_PER_SEC: '100000',
      RATE_LIMIT_NEW_USER_PER_MIN: '100000',
    }),
    log,
  );
  const url = `http://127.0.0.1:${gateway.port}`;
  api = engineClient(`127.0.0.1:${enginePort}`, 2_000);
  maker = new MarketMaker({ engine: api, log, refreshMs: 100, levels: 3, seed: 7 });
  maker.start();

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { orderId?: string; order?: { orderId: string } },
    };
  };
  const keys: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${url}/api/v1/user/new`, { method: 'POST' });
    const { apiKey } = (await res.json()) as { apiKey: string };
    for (const [asset, amount] of [
      ['USDC', '100000'],
      ['SOL', '500'],
    ]) {
      expect((await call('POST', '/api/v1/user/deposit', apiKey, { asset, amount })).status).toBe(
        200,
      );
    }
    keys.push(apiKey);
  }

  // Two REST traders: alternating small buys and sells around the maker's price, some resting.
  const acked: { key: string; orderId: string }[] = [];
  let failures = 0;
  let running = true;
  const trader = async (key: string, t: number) => {
    for (let n = 0; running; n++) {
      const side = (n + t) % 2 === 0 ? 'buy' : 'sell';
      const price = side === 'buy' ? `${148 + (n % 4)}` : `${149 + (n % 4)}`;
      try {
        const res = await call('POST', '/api/v1/order', key, {
          market: 'SOL_USDC',
          side,
          type: 'limit',
          price,
          quantity: '0.1',
        });
        if (res.status === 201) acked.push({ key, orderId: res.body.order?.orderId ?? '' });
        else failures++;
      } catch {
        failures++;
      }
    }
  };
  const traders = keys.map((k, i) => trader(k, i));
  const until = async (count: number) => {
    const deadline = Date.now() + 60_000;
    while (acked.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${acked.length} orders acknowledged`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  await until(ACKS_PER_PHASE);
  engine.kill('SIGKILL');
  expect((await engine.exited).signal).toBe('SIGKILL');
  const ackedAtKill = acked.length;
  engine = EngineProcess.spawn(engineEnv);
  await engine.serving;
  await until(ackedAtKill + ACKS_PER_PHASE);
  running = false;
  await Promise.all(traders);
  await maker.stop();
  // The kill came under load: calls failed while the engine was down. They were never
  // acknowledged (not in `acked`); the engine may or may not have applied them.
  expect(failures).toBeGreaterThan(0);

  // Every acknowledged order is known (from the engine, or from history once persisted).
  const deadline = Date.now() + 20_000;
  let missing = acked;
  while (missing.length > 0 && Date.now() < deadline) {
    const next: typeof acked = [];
    for (const a of missing) {
      const res = await call('GET', `/api/v1/order?orderId=${a.orderId}`, a.key);
      if (res.status !== 200 || res.body.orderId !== a.orderId) next.push(a);
    }
    missing = next;
    if (missing.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect(missing).toEqual([]);

  // The restarted engine equals a clean replay of its whole journal, which conserves money.
  const clean = await replayJournal(TEST_REDIS_URL, redisKeys(iso.prefix).commands);
  expect(conservationProblems(clean)).toEqual([]);
  const users = [...clean.sheet.accounts.keys()];
  expect(users.length).toBeGreaterThanOrEqual(4);
  for (const userId of users) {
    const live = await api.getBalances({ userId: String(userId) });
    expect({ userId, balances: live.balances }).toEqual({
      userId,
      balances: clean.balances(userId).map((b) => balanceToProto(clean, b)),
    });
  }
});
