/**
 * Order entry through gRPC with the Redis journal, end to end: unary PlaceOrder with many calls
 * in flight, batched PlaceOrders, and the OrderEntry stream; then the journal's replay speed
 * after a kill -9. The engine runs as a child process on its own Redis prefix and schema.
 * Prints human lines, then one JSON line.
 *
 *   npm run bench:grpc
 *
 * Settings (environment): BENCH_MODES (unary,batched,streaming: the ones to run), BENCH_ORDERS
 * (40000 for unary and streaming), BENCH_BATCHED_ORDERS (150000), BENCH_BATCH (150 orders per
 * PlaceOrders call), BENCH_IN_FLIGHT (2 calls), BENCH_STREAM_WINDOW (4000 orders in flight on
 * the stream). Batched entry keeps 300 orders in flight by default: the latency of a call is the
 * time its orders wait behind the ones ahead of them, so a bot that wants both throughput and a
 * low tail keeps a few calls of a few hundred orders going (docs/performance.md has other
 * shapes). The batched run is long enough (about 1,000 calls) for its p99 to be more than the
 * few slowest calls. Each mode also reports the engine's CPU time per order (from /proc), which
 * the load of the rest of the machine moves much less than orders/s.
 */
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../gen/exchange/v1/engine';
import { engineClient, type EngineApi } from '../test/support/engine-client';
import {
  benchEnv,
  cleanupBenchEnv,
  startEngineProcess,
  stopEngineProcess,
} from './support/engine-process';
import { sendInBatches } from './support/batched-entry';
import { sendOnStream } from './support/stream-entry';
import { processCpuSeconds } from './support/cpu-usage';
import { percentile } from './support/latency';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 40_000);
const BATCHED_ORDERS = Number(process.env.BENCH_BATCHED_ORDERS ?? 150_000);
const MODES = new Set((process.env.BENCH_MODES ?? 'unary,batched,streaming').split(','));
const BATCH = Number(process.env.BENCH_BATCH ?? 150);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 2);
const STREAM_WINDOW = Number(process.env.BENCH_STREAM_WINDOW ?? 4000);
const USERS = 8;
/** Issue 3's targets: batched (or streaming) entry, and the journal's replay. */
const TARGETS = { batchedOrdersPerSec: 50_000, batchedP99Ms: 20, replayCommandsPerSec: 200_000 };

/** The engine child's pid, for its CPU time per order. */
let enginePid: number | undefined;
const engineCpu = () => (enginePid === undefined ? undefined : processCpuSeconds(enginePid));

function summary(
  name: string,
  count: number,
  ms: number,
  latencies: number[],
  cpuStart: number | undefined,
  report = true,
) {
  latencies.sort((a, b) => a - b);
  const cpuEnd = engineCpu();
  const result = {
    ordersPerSec: Math.round((count / ms) * 1000),
    p50Ms: +percentile(latencies, 50).toFixed(3),
    p99Ms: +percentile(latencies, 99).toFixed(3),
    orders: count,
    engineCpuUsPerOrder:
      cpuStart === undefined || cpuEnd === undefined
        ? undefined
        : Math.round(((cpuEnd - cpuStart) / count) * 1e6 * 10) / 10,
  };
  if (!report) return result;
  console.log(
    `${name.padEnd(10)} ${String(result.ordersPerSec).padStart(8)} orders/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  engine CPU ${result.engineCpuUsPerOrder ?? '?'} µs/order`,
  );
  return result;
}

/** n/100 as a decimal string, without floating point. */
const hundredths = (n: number) => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;

/** Deterministic orders from `users` around a mid of 100 USDC: about a third cross. */
function makeOrders(users: string[], n: number): PlaceOrderRequest[] {
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const orders: PlaceOrderRequest[] = [];
  for (let i = 0; i < n; i++) {
    const buy = rnd() < 0.5;
    const offset = Math.floor(rnd() * 60) - 20; // cents; negative offsets cross
    const cents = 10_000 + (buy ? -offset : offset);
    orders.push({
      userId: users[i % users.length],
      market: 'SOL_USDC',
      side: buy ? Side.SIDE_BUY : Side.SIDE_SELL,
      type: OrderType.ORDER_TYPE_LIMIT,
      price: hundredths(cents),
      quantity: hundredths(2 + Math.floor(rnd() * 100)),
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      postOnly: false,
      selfTradePrevention: SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_TAKER,
    });
  }
  return orders;
}

async function unary(api: EngineApi, orders: PlaceOrderRequest[], inFlight: number) {
  const latencies: number[] = [];
  let next = 0;
  const cpuStart = engineCpu();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < orders.length) {
        const order = orders[next++];
        const t = performance.now();
        await api.placeOrder(order);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return summary('unary', orders.length, performance.now() - start, latencies, cpuStart);
}

async function batched(
  api: EngineApi,
  orders: PlaceOrderRequest[],
  batch: number,
  inFlight: number,
  report = true,
) {
  const cpuStart = engineCpu();
  const { ms, calls } = await sendInBatches(api, orders, batch, inFlight);
  // Every order of a call waited as long as its call.
  const latencies = calls.flatMap((c) => Array<number>(c.orders).fill(c.ms));
  return summary('batched', orders.length, ms, latencies, cpuStart, report);
}

async function streaming(api: EngineApi, orders: PlaceOrderRequest[], window: number) {
  const cpuStart = engineCpu();
  const { ms, latencies, errors } = await sendOnStream(api, orders, window);
  if (errors > 0) console.log(`streaming: ${errors} orders refused`);
  return summary('streaming', orders.length, ms, latencies, cpuStart);
}

interface Session {
  readonly env: Record<string, string>;
  readonly engine: Awaited<ReturnType<typeof startEngineProcess>>;
  readonly api: EngineApi;
  readonly users: string[];
}

const REPLAY_ORDERS = 100_000;
/** A profiled engine must stop with SIGTERM to write its profile. */
const PROFILING = /--(cpu|heap)-prof/.test(process.env.BENCH_ENGINE_NODE_ARGS ?? '');
const running = new Set<Session>();
process.on('exit', () => {
  for (const s of running) s.engine.child.kill('SIGKILL');
});

/**
 * An engine of its own (fresh prefix and schema) with funded users, warmed up: each mode is
 * measured on the same starting state, whatever ran before it.
 */
async function freshSession(): Promise<Session> {
  const env = benchEnv('grpc', {
    SNAPSHOT_EVERY_COMMANDS: '10000000',
    SNAPSHOT_EVERY_SECONDS: '100000',
    LOG_LEVEL: 'info',
  });
  const engine = await startEngineProcess(env);
  const api = engineClient(`127.0.0.1:${engine.port}`);
  const session: Session = { env, engine, api, users: [] };
  running.add(session);
  enginePid = engine.child.pid;
  for (let i = 0; i < USERS; i++) {
    const { userId } = await api.createUser({});
    await api.deposit({ userId, asset: 'USDC', amount: '1000000000', idempotencyKey: '' });
    await api.deposit({ userId, asset: 'SOL', amount: '10000000', idempotencyKey: '' });
    session.users.push(userId);
  }
  await batched(api, makeOrders(session.users, 5000), 500, 2, false);
  return session;
}

async function endSession(s: Session): Promise<void> {
  s.api.close();
  await stopEngineProcess(s.engine, PROFILING ? 'SIGTERM' : 'SIGKILL');
  running.delete(s);
  await cleanupBenchEnv(s.env);
}

async function inSession<T>(run: (s: Session) => Promise<T>): Promise<T> {
  const s = await freshSession();
  try {
    return await run(s);
  } finally {
    await endSession(s);
  }
}

async function main() {
  const results = {
    unary: MODES.has('unary')
      ? await inSession((s) => unary(s.api, makeOrders(s.users, Math.min(ORDERS, 20_000)), 128))
      : undefined,
    batched: MODES.has('batched')
      ? await inSession((s) =>
          batched(s.api, makeOrders(s.users, BATCHED_ORDERS), BATCH, IN_FLIGHT),
        )
      : undefined,
    streaming: MODES.has('streaming')
      ? await inSession((s) => streaming(s.api, makeOrders(s.users, ORDERS), STREAM_WINDOW))
      : undefined,
  };

  // Replay: a journal of REPLAY_ORDERS orders that no snapshot covers, kill -9, restart, and
  // read the recovery figures. (Profiled, the engine snapshots on the way out: no figure then.)
  const s = await freshSession();
  await batched(s.api, makeOrders(s.users, REPLAY_ORDERS), 500, 4, false);
  s.api.close();
  await stopEngineProcess(s.engine, PROFILING ? 'SIGTERM' : 'SIGKILL');
  const restarted = await startEngineProcess(s.env);
  const replay = restarted.recovery;
  const replayPerSec = Math.round((replay.replayedCommands / replay.ms) * 1000);
  console.log(
    `replay     ${replay.replayedCommands} commands in ${replay.ms.toFixed(0)} ms = ${replayPerSec} commands/s`,
  );
  await stopEngineProcess(restarted);
  running.delete(s);
  await cleanupBenchEnv(s.env);

  console.log(
    JSON.stringify({
      bench: 'grpc',
      node: process.version,
      unaryOrdersPerSec: results.unary?.ordersPerSec,
      unaryP50Ms: results.unary?.p50Ms,
      unaryP99Ms: results.unary?.p99Ms,
      batchedOrdersPerSec: results.batched?.ordersPerSec,
      batchedP50Ms: results.batched?.p50Ms,
      batchedP99Ms: results.batched?.p99Ms,
      batchedShape: `${BATCH} orders per call, ${IN_FLIGHT} calls in flight`,
      streamingOrdersPerSec: results.streaming?.ordersPerSec,
      streamingP50Ms: results.streaming?.p50Ms,
      streamingP99Ms: results.streaming?.p99Ms,
      engineCpuUsPerOrder: {
        unary: results.unary?.engineCpuUsPerOrder,
        batched: results.batched?.engineCpuUsPerOrder,
        streaming: results.streaming?.engineCpuUsPerOrder,
      },
      replayCommandsPerSec: replayPerSec,
      replayedCommands: replay.replayedCommands,
      targets: TARGETS,
      targetsMet: {
        batchedOrdersPerSec:
          results.batched === undefined
            ? undefined
            : results.batched.ordersPerSec >= TARGETS.batchedOrdersPerSec,
        batchedP99Ms:
          results.batched === undefined ? undefined : results.batched.p99Ms < TARGETS.batchedP99Ms,
        replayCommandsPerSec: replayPerSec >= TARGETS.replayCommandsPerSec,
      },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
