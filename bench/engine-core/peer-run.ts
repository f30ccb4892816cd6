/**
 * Runs the same workload through the npm package `nodejs-order-book`, the benchmark's peer.
 *
 * The core's commands are translated before timing into the peer's calls: `limit` with the id the
 * core gave the order (as a string), `market` by base quantity, `cancel` by id. Prices and sizes
 * stay integer ticks and lots. Each order carries its user as `accountId` with EXPIRE_TAKER, the
 * peer's match for the core's default self-trade prevention (cancel taker). The peer keeps no
 * balances, so it does less work per order than the core.
 */
import {
  type LimitOrderOptions,
  type MarketOrderOptions,
  OrderBook,
  SelfTradePreventionMode,
  Side,
} from 'nodejs-order-book';
import type { Command } from '../../services/engine/core';
import { type RunResult, collectGarbage, summarize } from './measure';
import { OP_KINDS, type Workload } from './workload';

type PeerOp =
  | { readonly kind: 'limit'; readonly options: LimitOrderOptions }
  | { readonly kind: 'market'; readonly options: MarketOrderOptions }
  | { readonly kind: 'cancel'; readonly id: string };

function toPeerOp(cmd: Command, orderId: number): PeerOp {
  if (cmd.type === 'cancel_order') return { kind: 'cancel', id: String(cmd.orderId) };
  if (cmd.type !== 'place_order' || cmd.quantity === undefined) {
    throw new Error(`the peer cannot run a ${cmd.type} command`);
  }
  const side = cmd.side === 'buy' ? Side.BUY : Side.SELL;
  const common = {
    side,
    size: cmd.quantity,
    accountId: cmd.userId,
    stpMode: SelfTradePreventionMode.EXPIRE_TAKER,
  };
  if (cmd.orderType === 'market') return { kind: 'market', options: common };
  return {
    kind: 'limit',
    options: { ...common, id: String(orderId), price: cmd.price as number },
  };
}

/** True when the peer refused the operation or did not find the order to cancel. */
function applyPeerOp(book: OrderBook, op: PeerOp): boolean {
  switch (op.kind) {
    case 'limit':
      return book.limit(op.options).err !== null;
    case 'market':
      return book.market(op.options).err !== null;
    case 'cancel':
      return book.cancel(op.id) === undefined;
  }
}

function restingCount(book: OrderBook): number {
  const snapshot = book.snapshot();
  let n = 0;
  for (const level of snapshot.bids) n += level.orders.length;
  for (const level of snapshot.asks) n += level.orders.length;
  return n;
}

export function runPeer(workload: Workload, clockOverheadNs: number): RunResult {
  const ops: PeerOp[] = workload.ops.map((cmd, i) => toPeerOp(cmd, workload.orderIds[i]));
  const book = new OrderBook();
  for (let i = 0; i < workload.warmupEnd; i++) applyPeerOp(book, ops[i]);

  const restingStart = restingCount(book);
  collectGarbage();
  let errors = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = workload.warmupEnd; i < workload.throughputEnd; i++) {
    if (applyPeerOp(book, ops[i])) errors++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  collectGarbage();

  const samples = new Float64Array(ops.length - workload.throughputEnd);
  for (let i = workload.throughputEnd, k = 0; i < ops.length; i++, k++) {
    const t0 = process.hrtime.bigint();
    const failed = applyPeerOp(book, ops[i]);
    samples[k] = Number(process.hrtime.bigint() - t0);
    if (failed) errors++;
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
    restingEnd: restingCount(book),
    errors,
    trades: null,
  };
}
