/**
 * Benchmark of the matching core against the npm package `nodejs-order-book`.
 *
 * For each book size (about 1,000 and about 100,000 resting orders) it generates one
 * deterministic mixed workload (see ./engine-core/workload.ts), runs it through the core and then
 * through the peer in the same process, and reports throughput (a block of operations timed as a
 * whole, no clock reads inside) and per-operation latency percentiles (a further block, each
 * operation timed on its own). One operation is one command: a limit order, a market order or a
 * cancel. The targets (2M ops/s and p99 under 2 µs at 1k resting orders, 5x the peer at
 * every size) are checked and reported, never enforced.
 *
 * Human-readable lines come first; the last line is one JSON object with the figures.
 *
 * Options: --sizes=1000,100000 --ops=500000 --latency-ops=200000 --warmup=100000
 *          --users=1000 --seed=20240601
 * Run with `node --expose-gc` so that each timed block starts after a full collection.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runCore } from './engine-core/core-run';
import { type RunResult, clockOverheadNs, collectGarbage } from './engine-core/measure';
import { runPeer } from './engine-core/peer-run';
import { OP_KINDS, generateWorkload } from './engine-core/workload';

/** The targets. */
const TARGET_OPS_PER_SEC_1K = 2_000_000;
const TARGET_P99_US = 2;
const TARGET_RATIO_TO_PEER = 5;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000' },
    ops: { type: 'string', default: '500000' },
    'latency-ops': { type: 'string', default: '200000' },
    warmup: { type: 'string', default: '100000' },
    users: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '20240601' },
  },
});

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const sizes = values.sizes.split(',').map((s) => positiveInt('sizes', s));
const throughputOps = positiveInt('ops', values.ops);
const latencyOps = positiveInt('latency-ops', values['latency-ops']);
const warmupOps = positiveInt('warmup', values.warmup);
const users = positiveInt('users', values.users);
const seed = positiveInt('seed', values.seed);

const round = (x: number, places: number): number => Number(x.toFixed(places));
const fmtOps = (x: number): string => `${(x / 1e6).toFixed(3)}M ops/s`;
const fmtLatency = (r: RunResult): string =>
  `p50 ${r.latency.p50Us.toFixed(2)} µs, p99 ${r.latency.p99Us.toFixed(2)} µs, ` +
  `p99.9 ${r.latency.p999Us.toFixed(2)} µs, max ${r.latency.maxUs.toFixed(0)} µs`;
const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;
const fmtByKind = (r: RunResult): string =>
  OP_KINDS.map(
    (kind, k) =>
      `${kind} p50 ${r.latencyByKind[k].p50Us.toFixed(2)} / p99 ${r.latencyByKind[k].p99Us.toFixed(2)}`,
  ).join('; ');
const byKindJson = (r: RunResult): Record<string, { p50Us: number; p99Us: number }> =>
  Object.fromEntries(
    OP_KINDS.map((kind, k) => [
      kind,
      { p50Us: round(r.latencyByKind[k].p50Us, 3), p99Us: round(r.latencyByKind[k].p99Us, 3) },
    ]),
  );
const yesNo = (ok: boolean): string => (ok ? 'met' : 'NOT met');

const overheadNs = clockOverheadNs();
const gcNote = (globalThis as { gc?: unknown }).gc === undefined ? ' (no --expose-gc)' : '';
console.log(
  `engine-core bench: node ${process.version}, ${cpus().length} cpus, seed ${seed}, ` +
    `${users} users; load average ${loadavg()[0].toFixed(2)}; ` +
    `clock read cost ${overheadNs} ns (subtracted from each latency sample)${gcNote}`,
);

const results: Record<string, unknown>[] = [];
const met = { opsPerSecAt1k: true, p99UsAt1k: true, ratioToPeer: true };
for (const restingOrders of sizes) {
  const genStart = process.hrtime.bigint();
  const workload = generateWorkload({
    seed: seed + restingOrders,
    restingOrders,
    users,
    warmupOps,
    throughputOps,
    latencyOps,
  });
  const genSeconds = Number(process.hrtime.bigint() - genStart) / 1e9;
  const mixed = workload.mix.reduce((a, b) => a + b, 0);
  const mix = OP_KINDS.map((kind, k) => `${kind} ${pct(workload.mix[k], mixed)}`).join(', ');
  console.log(
    `\n[${restingOrders} resting] workload: ${workload.prefillEnd} pre-fill + ${warmupOps} warm-up + ` +
      `${throughputOps} throughput + ${latencyOps} latency ops, generated in ${genSeconds.toFixed(1)} s; ` +
      `mix: ${mix}; at the end ` +
      `${workload.levelsAtEnd} price levels, longest queue ${workload.maxLevelOrdersAtEnd} orders`,
  );

  collectGarbage();
  const core = runCore(workload, overheadNs);
  console.log(
    `  core: ${fmtOps(core.opsPerSec)} (${core.ops} ops in ${core.seconds.toFixed(2)} s, ` +
      `cpu share ${core.cpuShare.toFixed(2)}); ` +
      `${fmtLatency(core)}; resting ${core.restingStart} -> ${core.restingEnd}; ` +
      `${core.trades ?? 0} trades; ${core.errors} refused`,
  );
  console.log(`    by kind, µs: ${fmtByKind(core)}`);
  collectGarbage();
  const peer = runPeer(workload, overheadNs);
  console.log(
    `  peer (nodejs-order-book): ${fmtOps(peer.opsPerSec)} (${peer.ops} ops in ${peer.seconds.toFixed(2)} s, ` +
      `cpu share ${peer.cpuShare.toFixed(2)}); ` +
      `${fmtLatency(peer)}; resting ${peer.restingStart} -> ${peer.restingEnd}; ` +
      `${peer.errors} refused or not found`,
  );
  console.log(`    by kind, µs: ${fmtByKind(peer)}`);
  const ratio = core.opsPerSec / peer.opsPerSec;
  const checks = [
    `${ratio.toFixed(2)}x the peer (target ${TARGET_RATIO_TO_PEER}x: ${yesNo(ratio >= TARGET_RATIO_TO_PEER)})`,
  ];
  met.ratioToPeer &&= ratio >= TARGET_RATIO_TO_PEER;
  if (restingOrders <= 1000) {
    met.opsPerSecAt1k &&= core.opsPerSec >= TARGET_OPS_PER_SEC_1K;
    met.p99UsAt1k &&= core.latency.p99Us < TARGET_P99_US;
    checks.push(
      `throughput target ${fmtOps(TARGET_OPS_PER_SEC_1K)}: ${yesNo(core.opsPerSec >= TARGET_OPS_PER_SEC_1K)}`,
      `p99 target < ${TARGET_P99_US} µs: ${yesNo(core.latency.p99Us < TARGET_P99_US)}`,
    );
  }
  console.log(`  core is ${checks.join('; ')}`);

  results.push({
    restingOrders,
    restingStart: core.restingStart,
    restingEnd: core.restingEnd,
    ops: core.ops,
    latencyOps: core.latency.samples,
    opsPerSec: Math.round(core.opsPerSec),
    cpuShare: round(core.cpuShare, 2),
    p50Us: round(core.latency.p50Us, 3),
    p99Us: round(core.latency.p99Us, 3),
    p999Us: round(core.latency.p999Us, 3),
    maxUs: round(core.latency.maxUs, 1),
    trades: core.trades,
    errors: core.errors,
    peerOpsPerSec: Math.round(peer.opsPerSec),
    peerCpuShare: round(peer.cpuShare, 2),
    peerP50Us: round(peer.latency.p50Us, 3),
    peerP99Us: round(peer.latency.p99Us, 3),
    peerP999Us: round(peer.latency.p999Us, 3),
    peerRestingStart: peer.restingStart,
    peerRestingEnd: peer.restingEnd,
    ratioToPeer: round(ratio, 3),
    byKind: byKindJson(core),
    peerByKind: byKindJson(peer),
  });
}

console.log(
  JSON.stringify({
    bench: 'engine-core',
    node: process.version,
    cpus: cpus().length,
    loadAvg1m: round(loadavg()[0], 2),
    seed,
    users,
    clockOverheadNs: overheadNs,
    targets: {
      opsPerSecAt1k: TARGET_OPS_PER_SEC_1K,
      p99Us: TARGET_P99_US,
      ratioToPeer: TARGET_RATIO_TO_PEER,
    },
    targetsMet: met,
    results,
  }),
);
