/**
 * End to end, in one run, on the whole stack as separate child processes (engine, history and
 * gateway on their own Redis prefix and Postgres schema, removed afterwards, even on failure):
 *
 * 1. REST order entry through gateway -> gRPC -> journal -> engine: two users trading against
 *    each other at one price. Saturation (autocannon) is the most answered per second at any of
 *    the connection counts in BENCH_CONNECTIONS: with too few connections a server with a longer
 *    path waits instead of working, with too many the generator's own queueing shows. Then
 *    paced, open loop (see e2e/paced-load.ts; each paced run first runs 2 s at its rate
 *    uncounted), at 60% of the ceiling (the target: REST must carry that rate with p99 under
 *    50 ms) and at 60% of REST's own saturation. The ceiling is a bare Express app
 *    (bench/e2e/express-ceiling.ts) served as `app.listen` serves it, measured the same way.
 * 2. Batched gRPC order entry (PlaceOrders) straight to the engine, with orders that trade
 *    with each other (on BTC_USDC, a book of their own).
 * 3. Market-data fan-out: WebSocket clients on trade@ and depth@SOL_USDC while matching orders
 *    go in through gRPC at a steady rate: updates delivered per second and trade-to-client delay.
 *    It starts once the stack is quiet after the order phases (History caught up, no process
 *    above 0.05 of a core for a second, 30 s at most): Postgres's vacuum and checkpoint after
 *    the gRPC phase took 0.1-0.15 of a core during the fan-out and added ~20 ms to its p99.
 * 4. A second reference for REST ("built"): the same bare Express app served by the HTTP server
 *    the gateway uses (gateway/http-server.ts, which spares Express its per-request change of
 *    prototype), at saturation, and REST paced at 60% of it (`restVsBuiltCeiling`,
 *    `restBuiltRateP99Ms`, `restTargetMetAgainstBuilt`). Last, so that its orders do not
 *    weigh on the phases before it.
 *
 * Each measured step also prints the cores every process used meanwhile (engine, history,
 * gateway, both Express apps, this bench, Redis). Prints human lines, then one JSON line (the
 * last line of stdout).
 *
 *   npm run bench:e2e
 *   BENCH_PHASES=rest BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:e2e
 *   (BENCH_ENGINE_NODE_ARGS, BENCH_HISTORY_NODE_ARGS, BENCH_EXPRESS_NODE_ARGS and
 *   BENCH_EXPRESS_BUILT_NODE_ARGS do the same for those processes)
 *   node --import tsx bench/e2e/profile-summary.ts /tmp/prof/<file>.cpuprofile
 *
 * Settings (environment): BENCH_PHASES (rest,grpc,ws,built), BENCH_REST_SECONDS (10),
 * BENCH_FIXED_SECONDS (10), BENCH_CONNECTIONS (64,256: saturation), BENCH_PACED_SOCKETS (64, for
 * the run at 60% of REST; the one at 60% of the ceiling uses the most of BENCH_CONNECTIONS),
 * BENCH_GRPC_ORDERS (40000), BENCH_WS_CLIENTS (1000), BENCH_WS_ORDERS_PER_SEC (1000),
 * BENCH_WS_SECONDS (10).
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { engineClient, type EngineApi } from '../test/support/engine-client';
import { openFanoutClients } from './e2e/fanout';
import { batchedEntry, grpcTraders, matchingOrders, steadyFeed } from './e2e/grpc-entry';
import { pacedRun } from './e2e/paced-load';
import { newTrader, orderRequests, restRun, type RestRun, type Trader } from './e2e/rest';
import { historyCaughtUp, startE2eStack, type E2eStack } from './e2e/stack';
import { CpuMeter } from './support/cpu-usage';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'rest,grpc,ws,built').split(','));
const REST_SECONDS = num('BENCH_REST_SECONDS', 10);
const FIXED_SECONDS = num('BENCH_FIXED_SECONDS', 10);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '64,256').split(',').map(Number);
const PACED_SOCKETS = num('BENCH_PACED_SOCKETS', 64);
const GRPC_ORDERS = num('BENCH_GRPC_ORDERS', 40_000);
const GRPC_BATCH = 500;
const GRPC_IN_FLIGHT = 4;
const GRPC_MARKET = 'BTC_USDC';
const WS_CLIENTS = num('BENCH_WS_CLIENTS', 1000);
const WS_ORDERS_PER_SEC = num('BENCH_WS_ORDERS_PER_SEC', 1000);
const WS_FEED_CALLS_PER_SEC = 20;
const WS_SECONDS = num('BENCH_WS_SECONDS', 10);
const WS_CONNECT_BATCH = 50;
const STREAMS = ['trade@SOL_USDC', 'depth@SOL_USDC'];
const QUIET_CORES = 0.05;
const QUIET_MAX_SECONDS = 30;
const FUNDS = { USDC: '1000000000', SOL: '10000000' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What every phase gets: the stack, a gRPC client, and where to put its figures. */
interface Run {
  readonly stack: E2eStack;
  readonly api: EngineApi;
  readonly out: Record<string, unknown>;
  /** Runs `fn`, then prints `report(result)` and the cores each process used meanwhile. */
  measured<T>(name: string, fn: () => Promise<T>, report: (r: T) => string): Promise<T>;
}

const restLine = (r: RestRun) =>
  `${String(r.ordersPerSec).padStart(6)} /s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  errors ${r.errors}` +
  (r.errorKinds === undefined ? '' : ` ${JSON.stringify(r.errorKinds)}`);

const best = (runs: RestRun[]) => runs.reduce((a, b) => (b.ordersPerSec > a.ordersPerSec ? b : a));

/** Two funded users whose orders trade with each other. */
const twoTraders = async (url: string): Promise<[Trader, Trader]> => [
  await newTrader(url, FUNDS),
  await newTrader(url, FUNDS),
];

/** The REST target against a reference: at least 60% of it, and p99 under 50 ms at that rate. */
const targetMet = (ratio: number, paced: RestRun) =>
  ratio >= 0.6 && paced.p99Ms < 50 && paced.errors === 0;

/**
 * REST paced at 60% of a reference's saturation, then the reference itself at that rate, both on
 * the most connections of the saturation runs. An open-loop client needs connections for the
 * requests in flight (rate x latency, Little's law): on 64 at ~3,800/s a request that takes
 * 17 ms or more leaves the next one waiting for a connection, which measures the client's
 * shortage rather than the server.
 */
async function pacedAgainst(
  { stack, measured }: Run,
  requests: ReturnType<typeof orderRequests>,
  reference: { url: string; name: string; of: string; saturation: RestRun },
): Promise<{ rate: number; sockets: number; rest: RestRun; reference: RestRun }> {
  const rate = Math.max(1, Math.round(0.6 * reference.saturation.ordersPerSec));
  const sockets = Math.max(...CONNECTIONS);
  const rest = await measured(
    `rest paced ${rate}/s (60% of ${reference.of}), ${sockets} conns`,
    () => pacedRun(stack.gatewayUrl, requests, rate, FIXED_SECONDS, sockets),
    restLine,
  );
  const paced = await measured(
    `${reference.name} paced ${rate}/s, ${sockets} conns`,
    () => pacedRun(reference.url, requests, rate, 5, sockets),
    restLine,
  );
  return { rate, sockets, rest, reference: paced };
}

async function restPhase(run: Run): Promise<void> {
  const { stack, out, measured } = run;
  const traders = await twoTraders(stack.gatewayUrl);
  // Warm both servers up (JIT, connections) before anything counts.
  await restRun(stack.ceilingUrl, traders, { connections: 16, seconds: 2 });
  await restRun(stack.gatewayUrl, traders, { connections: 16, seconds: 2 });
  const idle = await measured(
    'rest 1 connection',
    () => restRun(stack.gatewayUrl, traders, { connections: 1, seconds: 3 }),
    restLine,
  );
  const ceilings: RestRun[] = [];
  const rests: RestRun[] = [];
  for (const connections of CONNECTIONS) {
    const load = { connections, seconds: REST_SECONDS };
    ceilings.push(
      await measured(
        `express saturated, ${connections} conns`,
        () => restRun(stack.ceilingUrl, traders, load),
        restLine,
      ),
    );
    rests.push(
      await measured(
        `rest saturated, ${connections} conns`,
        () => restRun(stack.gatewayUrl, traders, load),
        restLine,
      ),
    );
  }
  const ceiling = best(ceilings);
  const rest = best(rests);
  const requests = orderRequests(traders[0], traders[1]);
  // The target: REST carries 60% of the ceiling's rate with p99 under 50 ms.
  const {
    rate,
    sockets,
    rest: fixed,
    reference: ceilingFixed,
  } = await pacedAgainst(run, requests, {
    url: stack.ceilingUrl,
    name: 'express',
    of: 'the ceiling',
    saturation: ceiling,
  });
  // What REST does with headroom: 60% of its own saturation.
  const ownRate = Math.max(1, Math.round(0.6 * rest.ordersPerSec));
  const own = await measured(
    `rest paced ${ownRate}/s (60% of REST), ${PACED_SOCKETS} conns`,
    () => pacedRun(stack.gatewayUrl, requests, ownRate, FIXED_SECONDS, PACED_SOCKETS),
    restLine,
  );
  const restVsCeiling = +(rest.ordersPerSec / ceiling.ordersPerSec).toFixed(3);
  Object.assign(out, {
    restOrdersPerSec: rest.ordersPerSec,
    restP50Ms: rest.p50Ms,
    restP99Ms: rest.p99Ms,
    restErrors: rest.errors,
    restFixedRate: rate,
    restFixedOrdersPerSec: fixed.ordersPerSec,
    restFixedP50Ms: fixed.p50Ms,
    restFixedP99Ms: fixed.p99Ms,
    restFixedErrors: fixed.errors,
    ...(fixed.errorKinds === undefined ? {} : { restFixedErrorKinds: fixed.errorKinds }),
    restFixedConnections: sockets,
    restOwnRate: ownRate,
    restOwnRateP50Ms: own.p50Ms,
    restOwnRateP99Ms: own.p99Ms,
    restSaturationByConnections: CONNECTIONS.map((connections, i) => ({
      connections,
      restPerSec: rests[i].ordersPerSec,
      restP99Ms: rests[i].p99Ms,
      expressPerSec: ceilings[i].ordersPerSec,
    })),
    restOneConnectionP50Ms: idle.p50Ms,
    restOneConnectionP99Ms: idle.p99Ms,
    restOneConnectionPerSec: idle.ordersPerSec,
    expressCeilingPerSec: ceiling.ordersPerSec,
    expressCeilingP99Ms: ceiling.p99Ms,
    expressFixedP99Ms: ceilingFixed.p99Ms,
    restVsCeiling,
    restTargetMet: targetMet(restVsCeiling, fixed),
  });
}

async function grpcPhase({ api, out, measured }: Run, users: [string, string]): Promise<void> {
  // Its own market: on SOL_USDC every order would meet the REST phase's leftovers at the same
  // price instead of its pair (each trade then updates an old order's row in Postgres).
  await batchedEntry(api, matchingOrders(users, 5000, GRPC_MARKET), GRPC_BATCH, 2);
  const grpc = await measured(
    `grpc PlaceOrders x${GRPC_BATCH} on ${GRPC_MARKET}`,
    () =>
      batchedEntry(
        api,
        matchingOrders(users, GRPC_ORDERS, GRPC_MARKET),
        GRPC_BATCH,
        GRPC_IN_FLIGHT,
      ),
    (g) =>
      `${String(g.ordersPerSec).padStart(6)} orders/s  per batch p50 ${g.p50Ms} ms  p99 ${g.p99Ms} ms  rejected ${g.rejected}`,
  );
  Object.assign(out, {
    grpcOrdersPerSec: grpc.ordersPerSec,
    grpcP50Ms: grpc.p50Ms,
    grpcP99Ms: grpc.p99Ms,
    grpcLatencyIs: `PlaceOrders round trip (batch of ${GRPC_BATCH}, ${GRPC_IN_FLIGHT} in flight)`,
    grpcRejected: grpc.rejected,
    grpcTargetMet: grpc.ordersPerSec >= 50_000,
  });
}

async function wsPhase({ stack, api, out, measured }: Run, users: [string, string]) {
  const wsUrl = `${stack.gatewayUrl.replace('http', 'ws')}/ws`;
  const t = performance.now();
  const clients = await openFanoutClients(wsUrl, STREAMS, WS_CLIENTS, WS_CONNECT_BATCH);
  console.log(`${WS_CLIENTS} clients subscribed in ${(performance.now() - t).toFixed(0)} ms`);
  const feed = steadyFeed(api, users, WS_ORDERS_PER_SEC, WS_FEED_CALLS_PER_SEC);
  try {
    // The engine publishes only channels with subscribers (refreshed every 250 ms): start
    // counting once every client has had something.
    const deadline = Date.now() + 20_000;
    while (clients.reached < clients.size) {
      if (Date.now() > deadline) {
        throw new Error(`only ${clients.reached} of ${clients.size} clients got market data`);
      }
      await sleep(50);
    }
    clients.reset();
    const placedBefore = feed.placed;
    // How late this process's own event loop runs: the clients' delays include it.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const t0 = performance.now();
    const figures = await measured(
      'ws fan-out',
      async () => {
        await sleep(WS_SECONDS * 1000);
        const seconds = (performance.now() - t0) / 1000;
        loopDelay.disable();
        return {
          wsClients: clients.size,
          wsDeliveriesPerSec: Math.round(clients.deliveries / seconds),
          wsFramesPerSec: Math.round(clients.frames / seconds),
          wsP50Ms: clients.tradeLatency.percentile(50),
          wsP99Ms: clients.tradeLatency.percentile(99),
          wsTrades: clients.tradeLatency.count,
          wsOrdersPerSec: Math.round((feed.placed - placedBefore) / seconds),
          wsClosed: clients.closed,
          wsFeedFailedCalls: feed.failedCalls,
          wsBenchLoopDelayP99Ms: +(loopDelay.percentile(99) / 1e6).toFixed(1),
        };
      },
      (f) =>
        `${f.wsDeliveriesPerSec} deliveries/s (${f.wsFramesPerSec} frames/s) to ${f.wsClients} clients, ${f.wsOrdersPerSec} orders/s in; trade-to-client p50 ${f.wsP50Ms} ms  p99 ${f.wsP99Ms} ms; ${f.wsClosed} cut off; bench event-loop delay p99 ${f.wsBenchLoopDelayP99Ms} ms`,
    );
    Object.assign(out, figures, {
      wsTargetMet:
        figures.wsDeliveriesPerSec >= 200_000 && figures.wsP99Ms < 50 && figures.wsClosed === 0,
    });
  } finally {
    feed.stop();
    clients.close();
  }
}

/**
 * The second reference: the bare route on the gateway's HTTP server (gateway/http-server.ts), at
 * saturation, and REST paced at 60% of it. Last, so that its orders (REST near its own
 * saturation there) deepen neither the book nor History's backlog before the other phases.
 */
async function builtPhase(run: Run): Promise<void> {
  const { stack, out, measured } = run;
  const traders = await twoTraders(stack.gatewayUrl);
  await restRun(stack.builtCeilingUrl, traders, { connections: 16, seconds: 2 });
  // Alone, the gateway has not served an order yet: warm it up as the REST phase does.
  if (!PHASES.has('rest'))
    await restRun(stack.gatewayUrl, traders, { connections: 16, seconds: 2 });
  const runs: RestRun[] = [];
  for (const connections of CONNECTIONS) {
    runs.push(
      await measured(
        `express on the gateway's server saturated, ${connections} conns`,
        () => restRun(stack.builtCeilingUrl, traders, { connections, seconds: REST_SECONDS }),
        restLine,
      ),
    );
  }
  const ceiling = best(runs);
  const paced = await pacedAgainst(run, orderRequests(traders[0], traders[1]), {
    url: stack.builtCeilingUrl,
    name: "express on the gateway's server",
    of: "express on the gateway's server",
    saturation: ceiling,
  });
  const fixed = paced.rest;
  // REST's saturation comes from the REST phase, when it ran.
  const restPerSec = typeof out.restOrdersPerSec === 'number' ? out.restOrdersPerSec : undefined;
  const ratio =
    restPerSec === undefined ? undefined : +(restPerSec / ceiling.ordersPerSec).toFixed(3);
  Object.assign(out, {
    expressBuiltCeilingPerSec: ceiling.ordersPerSec,
    expressBuiltByConnections: CONNECTIONS.map((connections, i) => ({
      connections,
      perSec: runs[i].ordersPerSec,
    })),
    expressBuiltFixedP99Ms: paced.reference.p99Ms,
    restBuiltRate: paced.rate,
    restBuiltRateP50Ms: fixed.p50Ms,
    restBuiltRateP99Ms: fixed.p99Ms,
    restBuiltRateErrors: fixed.errors,
    ...(fixed.errorKinds === undefined ? {} : { restBuiltRateErrorKinds: fixed.errorKinds }),
    ...(ratio === undefined
      ? {}
      : { restVsBuiltCeiling: ratio, restTargetMetAgainstBuilt: targetMet(ratio, fixed) }),
  });
}

/**
 * Waits until History has persisted everything and no process of the stack uses more than
 * QUIET_CORES over a second (Postgres vacuums and checkpoints after the order phases), at most
 * QUIET_MAX_SECONDS: the fan-out is measured on a quiet stack, not on the earlier phases' tail.
 */
async function quietStack(stack: E2eStack, meter: CpuMeter): Promise<number> {
  const started = performance.now();
  await historyCaughtUp(stack);
  while ((performance.now() - started) / 1000 < QUIET_MAX_SECONDS) {
    const before = await meter.sample();
    await sleep(1000);
    const cores = CpuMeter.cores(before, await meter.sample(), 1);
    const busy = Object.entries(cores).filter(([name, c]) => name !== 'bench' && c > QUIET_CORES);
    if (busy.length === 0) break;
  }
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const load = loadavg().map((l) => +l.toFixed(2));
  console.log(`load average at start: ${load.join(' ')}`);
  const stack = await startE2eStack();
  const interrupted = (signal: string) => {
    console.error(`${signal}: stopping the stack`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const out: Record<string, unknown> = { bench: 'e2e', node: process.version, loadAvg: load };
  const cores: Record<string, Record<string, number>> = {};
  const api = engineClient(stack.engineAddr);
  const meter = new CpuMeter(stack.env.REDIS_URL, () => stack.pids);
  const run: Run = {
    stack,
    api,
    out,
    async measured(name, fn, report) {
      const before = await meter.sample();
      const t = performance.now();
      const result = await fn();
      cores[name] = CpuMeter.cores(before, await meter.sample(), (performance.now() - t) / 1000);
      console.log(`${name.padEnd(26)} ${report(result)}`);
      const used = Object.entries(cores[name]).map(([k, v]) => `${k} ${v}`);
      console.log(`${''.padEnd(26)} cores: ${used.join(', ')}`);
      return result;
    },
  };
  try {
    if (PHASES.has('rest')) await restPhase(run);
    const users = await grpcTraders(api);
    if (PHASES.has('grpc')) {
      // The REST phase leaves History a backlog of events to persist: start on a quiet stack.
      const waited = await historyCaughtUp(stack);
      console.log(`${'history caught up'.padEnd(26)} after ${waited.toFixed(1)} s`);
      out.historyCatchUpBeforeGrpcSeconds = +waited.toFixed(1);
      await grpcPhase(run, users);
    }
    if (PHASES.has('ws')) {
      if (PHASES.has('rest') || PHASES.has('grpc')) {
        const waited = await quietStack(stack, meter);
        console.log(`${'stack quiet'.padEnd(26)} after ${waited.toFixed(1)} s`);
        out.quietBeforeWsSeconds = +waited.toFixed(1);
      }
      await wsPhase(run, users);
    }
    if (PHASES.has('built')) {
      // REST's saturation, which the second reference's ratio uses, was measured on a fresh
      // stack: measure the reference on a quiet one too (Postgres's vacuum and checkpoint after
      // the order phases take a tenth of a core or more).
      if (PHASES.size > 1) {
        const waited = await quietStack(stack, meter);
        console.log(`${'stack quiet'.padEnd(26)} after ${waited.toFixed(1)} s`);
        out.quietBeforeBuiltSeconds = +waited.toFixed(1);
      }
      await builtPhase(run);
    }
  } finally {
    api.close();
    meter.close();
    await stack.stop();
  }
  out.cores = cores;
  out.seconds = Math.round((performance.now() - startedAt) / 1000);
  out.loadAvgEnd = loadavg().map((l) => +l.toFixed(2));
  console.log(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
