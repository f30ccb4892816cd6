/**
 * The CLI as people run it (`node --import tsx services/cli/cli.ts ...`, a child process) against a
 * real in-process engine: its JSON output, and the exit code and message of a refused call. The
 * child runs asynchronously: a blocking spawn would stall the engine serving it in this process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { OrderType, Side } from '../../gen/exchange/v1/common';
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { createLogger } from '../../services/lib/logger';
import { engineClient, type EngineApi } from '../support/engine-client';
import { funded, limitOrder } from '../support/fixtures';
import { engineConfig, isolate, type Isolation } from '../support/stack';

const REPO_ROOT = path.resolve(__dirname, '../..');

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let iso: Isolation;
let engine: EngineHandle;
let api: EngineApi;

function cli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'services/cli/cli.ts', ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ENGINE_ADDR: `127.0.0.1:${engine.port}` },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  iso = isolate('cli');
  engine = await startEngine(engineConfig(iso), createLogger('engine-test', 'silent'));
  api = engineClient(`127.0.0.1:${engine.port}`);
});

afterAll(async () => {
  api.close();
  try {
    await engine.stop();
  } finally {
    await iso.cleanup();
  }
});

describe('cli', () => {
  it('prints the markets as JSON', async () => {
    const run = await cli('markets');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const { markets } = JSON.parse(run.stdout) as { markets: { symbol: string }[] };
    expect(markets.map((m) => m.symbol)).toEqual(['BTC_USDC', 'ETH_USDC', 'SOL_USDC']);
    expect(markets[2]).toMatchObject({
      symbol: 'SOL_USDC',
      baseAsset: { symbol: 'SOL', decimals: 9 },
      tickSize: '0.01',
    });
  });

  it('prints a market depth as JSON', async () => {
    const seller = await funded(api, { SOL: '5' });
    await api.placeOrder(limitOrder(seller, Side.SIDE_SELL, '151.5', '2'));
    const run = await cli('depth', 'SOL_USDC');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({
      market: 'SOL_USDC',
      asks: [{ price: '151.5', quantity: '2' }],
    });
  });

  it('places an order that shows up in the open orders', async () => {
    const buyer = await funded(api, { USDC: '1000' });
    const placed = await cli('place', buyer, 'SOL_USDC', 'buy', 'limit', '1', '140');
    expect(placed).toMatchObject({ code: 0, stderr: '' });
    const { order } = JSON.parse(placed.stdout) as { order: { orderId: string; type: string } };
    expect(order.type).toBe('ORDER_TYPE_LIMIT');
    const open = await api.getOpenOrders({ userId: buyer, market: 'SOL_USDC' });
    expect(open.orders.map((o) => [o.orderId, o.type])).toEqual([
      [order.orderId, OrderType.ORDER_TYPE_LIMIT],
    ]);
  });

  it('exits 1 with the status and the error code for an unknown market', async () => {
    const run = await cli('depth', 'FOO_BAR');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: NOT_FOUND: UNKNOWN_MARKET: /);
  });

  it('exits 2 with the usage for an unknown command', async () => {
    const run = await cli('frobnicate');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: unknown command frobnicate\nusage: /);
  });
});
