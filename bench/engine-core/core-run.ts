/**
 * Runs a workload through the matching core, in-process: setup, pre-fill and warm-up untimed,
 * then the throughput block timed as a whole and the latency block timed one command at a time.
 * Each operation is one `core.apply`, which checks the user's balance on every order it places.
 */
import { type ExchangeCore, createDefaultCore } from '../../services/engine/core';
import { type RunResult, collectGarbage, summarize } from './measure';
import { MARKET, OP_KINDS, type Workload } from './workload';

export function runCore(workload: Workload, clockOverheadNs: number): RunResult {
  const core: ExchangeCore = createDefaultCore();
  for (const cmd of workload.setup) {
    const out = core.apply(cmd);
    if (out.error !== null) throw out.error;
  }
  const ops = workload.ops;
  let errors = 0;
  for (let i = 0; i < workload.warmupEnd; i++) {
    if (core.apply(ops[i]).error !== null) errors++;
  }
  if (errors > 0) throw new Error(`the core refused ${errors} pre-fill or warm-up commands`);

  const market = core.market(MARKET);
  const restingStart = core.orders.size;
  const tradesBefore = market.tradeSeq;
  collectGarbage();

  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = workload.warmupEnd; i < workload.throughputEnd; i++) {
    if (core.apply(ops[i]).error !== null) errors++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const trades = market.tradeSeq - tradesBefore;
  collectGarbage();

  const samples = new Float64Array(ops.length - workload.throughputEnd);
  for (let i = workload.throughputEnd, k = 0; i < ops.length; i++, k++) {
    const t0 = process.hrtime.bigint();
    const out = core.apply(ops[i]);
    samples[k] = Number(process.hrtime.bigint() - t0);
    if (out.error !== null) errors++;
  }

  const kinds = workload.kinds.subarray(workload.throughputEnd);
  const latency = summarize(samples, kinds, OP_KINDS.length, clockOverheadNs);
  const count = workload.throughputEnd - workload.warmupEnd;
  return {
    ops: count,
    seconds,
    opsPerSec: count / seconds,
    cpuShare: (cpu.user + cpu.system) / 1e6 / seconds,
    latency: latency.all,
    latencyByKind: latency.byKind,
    restingStart,
    restingEnd: core.orders.size,
    errors,
    trades,
  };
}
