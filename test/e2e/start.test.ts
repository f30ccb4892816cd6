/**
 * `npm start`'s own path (scripts/start.sh) with the market maker on, in its own Redis prefix,
 * schema, ports and log directory: it reports ready, the book has depth on both sides, trades
 * happen and klines appear, all seen through REST; Ctrl-C (SIGINT) stops every service and the
 * script exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../support/ports';
import { isolate, type Isolation } from '../support/stack';

const ROOT = path.resolve(__dirname, '../..');

async function eventually<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean) {
  const until = Date.now() + 30_000;
  let last: T | undefined;
  while (Date.now() < until) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within 30 s (last: ${JSON.stringify(last)})`);
}

let iso: Isolation;
let child: ChildProcess | undefined;
let logDir = '';
const output: string[] = [];

afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child?.once('exit', r));
  }
  await iso?.cleanup();
  if (logDir !== '') fs.rmSync(logDir, { recursive: true, force: true });
});

it('starts a live exchange that Ctrl-C stops cleanly', async () => {
  iso = isolate('start');
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exchange-start-'));
  const [enginePort, historyPort, port] = [await freePort(), await freePort(), await freePort()];
  child = spawn('bash', ['scripts/start.sh'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...iso.env,
      LOG_LEVEL: 'info',
      ENGINE_PORT: String(enginePort),
      HISTORY_PORT: String(historyPort),
      PORT: String(port),
      LOG_DIR: logDir,
      MM_REFRESH_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child?.once('exit', (code) => resolve(code)),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child?.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      output.push(line);
      const m = /^exchange: ready at (\S+)/.exec(line);
      if (m !== null) resolve(m[1]);
    });
    createInterface({ input: child?.stderr as NodeJS.ReadableStream }).on('line', (l) =>
      output.push(l),
    );
    void exited.then((code) => reject(new Error(`start.sh exited ${code}:\n${output.join('\n')}`)));
  });
  const url = await ready;
  expect(url).toBe(`http://127.0.0.1:${port}`);
  const get = async (p: string) => {
    const res = await fetch(`${url}${p}`);
    return (await res.json()) as Record<string, unknown> & unknown[];
  };

  expect(await get('/api/v1/health')).toMatchObject({ status: 'ok' });
  const depth = await eventually(
    'depth on both sides of SOL_USDC',
    () => get('/api/v1/depth?market=SOL_USDC'),
    (d) => (d.bids as unknown[]).length > 0 && (d.asks as unknown[]).length > 0,
  );
  const bestBid = (depth.bids as string[][])[0][0];
  const bestAsk = (depth.asks as string[][])[0][0];
  expect(Number(bestBid)).toBeLessThan(Number(bestAsk));
  for (const market of ['BTC_USDC', 'ETH_USDC', 'SOL_USDC']) {
    await eventually(
      `trades in ${market}`,
      () => get(`/api/v1/trades?market=${market}&limit=5`),
      (t) => t.length > 0,
    );
  }
  const klines = await eventually(
    'klines of SOL_USDC',
    () => get('/api/v1/klines?market=SOL_USDC&interval=1m'),
    (k) => k.length > 0,
  );
  expect(klines[0]).toMatchObject({ trades: expect.any(Number), volume: expect.any(String) });

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('exchange: stopped');
  // Every service shut down on its own (gracefully), and nothing listens any more.
  for (const service of ['engine', 'history', 'gateway', 'market-maker']) {
    const log = fs.readFileSync(path.join(logDir, `${service}.log`), 'utf8');
    expect({ service, stopped: log.includes('"msg":"shutting down"') }).toEqual({
      service,
      stopped: true,
    });
  }
  await expect(fetch(`${url}/api/v1/health`)).rejects.toThrow();
});
