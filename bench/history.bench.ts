/**
 * History benchmarks, on the real Redis and Postgres (own key prefix and schema, dropped after):
 *
 * 1. Persister throughput: real engine events (the core run on the engine benchmark's workload,
 *    encoded as the matching loop encodes them, ~engine-sized batches) are preloaded into the
 *    events stream and drained; then the same volume is produced at a fixed rate while the lag
 *    is sampled.
 * 2. Klines: a year of 1m candles for one market, then GetKlines for 1,000 candles through gRPC
 *    at random start times; latency percentiles.
 *
 * Prints human-readable lines, then one JSON line.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import pg from 'pg';
import { HistoryServiceClient, type GetKlinesResponse } from '../gen/exchange/v1/history';
import { encodeEvents } from '../services/engine/codec';
import { ExchangeCore, genesisCommands, type ExchangeEvent } from '../services/engine/core';
import { startHistory } from '../services/history/history-server';
import { historyConfigSchema } from '../services/lib/config';
import { createLogger } from '../services/lib/logger';
import { redisKeys } from '../services/lib/redis-keys';
import { generateWorkload } from './engine-core/workload';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/exchange_test';
const COMMANDS_PER_ENTRY = Number(process.env.BENCH_COMMANDS_PER_ENTRY ?? 64);
const OPS = Number(process.env.BENCH_OPS ?? 60_000);
const RATE = Number(process.env.BENCH_RATE ?? 50_000);
const KLINE_QUERIES = Number(process.env.BENCH_KLINE_QUERIES ?? 2000);

/** Engine events of a realistic run, grouped into stream entries as the loop writes them. */
function eventEntries(): { entries: string[][]; events: number } {
  const workload = generateWorkload({
    seed: 7,
    restingOrders: 1000,
    users: 200,
    warmupOps: 0,
    throughputOps: OPS,
    latencyOps: 0,
  });
  const core = new ExchangeCore();
  const commands = [...genesisCommands(1, workload.setup[0]?.ts ?? 0), ...workload.setup];
  let seq = commands.length;
  for (const op of workload.ops) commands.push({ ...op, seq: ++seq });
  const entries: string[][] = [];
  let events = 0;
  for (let i = 0; i < commands.length; i += COMMANDS_PER_ENTRY) {
    const batch: ExchangeEvent[] = [];
    for (const cmd of commands.slice(i, i + COMMANDS_PER_ENTRY)) {
      for (const e of core.apply(cmd).events) batch.push(e);
    }
    if (batch.length === 0) continue;
    events += batch.length;
    entries.push([
      'first',
      String(batch[0].seq),
      'last',
      String(batch[batch.length - 1].seq),
      'e',
      encodeEvents(batch),
    ]);
  }
  return { entries, events };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const prefix = `bench:history_${id}:`;
  const schema = `bench_history_${id}`;
  const log = createLogger('history-bench', 'warn');
  const config = historyConfigSchema.parse({
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    HISTORY_HOST: '127.0.0.1',
    HISTORY_PORT: '0',
    HISTORY_LINGER_MS: process.env.HISTORY_LINGER_MS,
    LOG_LEVEL: 'warn',
  });
  const redis = new Redis(REDIS_URL);
  const key = redisKeys(prefix).events;
  const { entries, events } = eventEntries();
  console.log(`generated ${events} events in ${entries.length} entries`);

  const history = await startHistory(config, log, { count: 50 });
  const result: Record<string, unknown> = {};
  try {
    const waitCaughtUp = async (lastSeq: number, sample?: (lag: number) => void) => {
      for (;;) {
        const lag = await history.persister.lag();
        sample?.(lag.events);
        if (lag.caughtUp && lag.persistedSeq >= lastSeq) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    // 1a. Drain a preloaded stream (the persister's maximum rate).
    const half = Math.floor(entries.length / 2);
    const lastSeqOf = (e: string[]) => Number(e[3]);
    {
      const pipe = redis.pipeline();
      for (const e of entries.slice(0, half)) pipe.xadd(key, '*', ...e);
      await pipe.exec();
      const drained = entries
        .slice(0, half)
        .reduce((n, e) => n + lastSeqOf(e) - Number(e[1]) + 1, 0);
      const t0 = performance.now();
      await waitCaughtUp(lastSeqOf(entries[half - 1]));
      const seconds = (performance.now() - t0) / 1000;
      result.persisterDrainEventsPerSecond = Math.round(drained / seconds);
      console.log(`drain: ${drained} events in ${seconds.toFixed(2)} s`);
    }
    // 1b. Produce at a fixed rate; the lag must stay bounded.
    {
      const rest = entries.slice(half);
      let maxLag = 0;
      let produced = 0;
      const t0 = performance.now();
      const sampler = (async () => {
        for (;;) {
          const lag = await history.persister.lag();
          maxLag = Math.max(maxLag, lag.events);
          if (produced === rest.length && lag.caughtUp) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      let sent = 0;
      for (const e of rest) {
        sent += lastSeqOf(e) - Number(e[1]) + 1;
        const due = t0 + (sent / RATE) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await redis.xadd(key, '*', ...e);
        produced++;
      }
      const produceSeconds = (performance.now() - t0) / 1000;
      await sampler;
      const totalSeconds = (performance.now() - t0) / 1000;
      result.pacedRateEventsPerSecond = Math.round(sent / produceSeconds);
      result.pacedMaxLagEvents = maxLag;
      result.pacedCatchUpAfterProducerMs = Math.round((totalSeconds - produceSeconds) * 1000);
      console.log(
        `paced: ${sent} events at ${result.pacedRateEventsPerSecond}/s, max lag ${maxLag} events`,
      );
    }

    // 2. A year of 1m candles, then GetKlines for 1,000 candles.
    const year0 = Date.UTC(2024, 0, 1);
    await history.db.query(
      `INSERT INTO candles (market, interval, open_time, close_time, open, high, low, close,
                            volume, quote_volume, trades, first_trade_id, last_trade_id)
       SELECT 'BENCH_USDC', '1m', t, t + interval '59.999 seconds', 100, 101, 99, 100.5, 10, 1000,
              5, n * 5 + 1, n * 5 + 5
       FROM generate_series(0, 525599) AS n,
            LATERAL (SELECT 'epoch'::timestamptz + ($1::bigint + n::bigint * 60000) * interval '1 millisecond' AS t) x
       ON CONFLICT DO NOTHING`,
      [year0],
    );
    await history.db.query(
      `INSERT INTO markets (symbol, base, quote, tick_size, lot_size, min_quantity, min_notional,
                            maker_fee, taker_fee, created_at)
       VALUES ('BENCH_USDC', 'SOL', 'USDC', 0.01, 0.01, 0.01, 1, 0.001, 0.002, now())`,
    );
    await history.db.query('ANALYZE candles');
    console.log('a year of 1m candles inserted');
    const client = new HistoryServiceClient(
      `127.0.0.1:${history.port}`,
      grpc.credentials.createInsecure(),
    );
    const klines = (start: number) =>
      new Promise<GetKlinesResponse>((resolve, reject) =>
        client.getKlines(
          { market: 'BENCH_USDC', interval: '1m', startTime: String(start), limit: 1000 },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    const span = 525_600 - 1000;
    for (let i = 0; i < 100; i++) await klines(year0 + Math.floor(Math.random() * span) * 60_000);
    const times: number[] = [];
    for (let i = 0; i < KLINE_QUERIES; i++) {
      const start = year0 + Math.floor(Math.random() * span) * 60_000;
      const t = performance.now();
      const res = await klines(start);
      times.push(performance.now() - t);
      if (res.klines.length !== 1000)
        throw new Error(`expected 1000 candles, got ${res.klines.length}`);
    }
    client.close();
    times.sort((a, b) => a - b);
    result.klines1000P50Ms = Number(percentile(times, 50).toFixed(2));
    result.klines1000P99Ms = Number(percentile(times, 99).toFixed(2));
    console.log(
      `klines (1000 of a year of 1m): p50 ${result.klines1000P50Ms} ms, p99 ${result.klines1000P99Ms} ms`,
    );
  } finally {
    await history.stop();
    const scan = async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    };
    await scan();
    redis.disconnect();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  console.log(JSON.stringify({ bench: 'history', events, ...result }));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
