/**
 * Crash recovery of the Engine service, for real: a child engine process under concurrent load
 * from several users is killed with SIGKILL at random points and started again, many times.
 * After every restart, before the load resumes, the engine must hold exactly the state of a clean
 * run over its own journal (a fresh core fed the whole command stream): every acknowledged
 * command is in the journal once and in the state, nothing is applied twice, every stored
 * snapshot and every event written equals the clean run's, and money is conserved. The run ends
 * with a graceful SIGTERM under load: exit 0 and a final snapshot equal to the clean run.
 *
 * RECOVERY_KILLS sets the number of kills under load (default 10; never fewer than 10 in CI);
 * RECOVERY_SEED replays the same random choices (the timing of a run is its own);
 * RECOVERY_VERBOSE prints a one-line summary of the run.
 */
import { randomInt } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  OrderStatus,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
  type Order,
} from '../../gen/exchange/v1/common';
import type { PlaceOrderRequest } from '../../gen/exchange/v1/engine';
import {
  decodeCommands,
  decodeEvents,
  encodeEvents,
  streamIdTime,
} from '../../services/engine/codec';
import {
  type Command,
  type CommandBody,
  ERROR_CODES,
  ExchangeCore,
  formatScaled,
  parseScaled,
  toSnapshot,
} from '../../services/engine/core';
import { balanceToProto, levelsToProto, orderToProto } from '../../services/engine/proto-mapping';
import { CommandJournal } from '../../services/engine/command-journal';
import { errorCodeOf } from '../../services/lib/grpc/status';
import { redisKeys } from '../../services/lib/redis-keys';
import { engineClient, type EngineApi } from '../support/engine-client';
import { EngineProcess, describeExit } from '../support/engine-process';
import { conservationProblems } from '../support/conservation';
import { TEST_DATABASE_URL, TEST_REDIS_URL, isolate, type Isolation } from '../support/stack';
import { prng, type Random } from '../support/prng';

const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const KILLS = killCount(process.env.RECOVERY_KILLS);
const SEED = seed(process.env.RECOVERY_SEED);

const USERS = 5;
const TRADERS_PER_USER = 2;
/** A kill under load comes after a uniformly random number of acknowledged calls, 1 to this. */
const MAX_ACKS_BEFORE_KILL = 500;
/** Chance that a restart is itself killed at a random moment of starting up. */
const STARTUP_KILL_CHANCE = 0.2;
/** Longest wait before such a kill (a start takes about 1-2 s, mostly loading TypeScript). */
const MAX_STARTUP_KILL_MS = 1500;
const SNAPSHOT_EVERY_COMMANDS = 200;
const MAX_DEPTH = 5000;
/** Acknowledged transfers sent again after each restart. */
const RESENT_TRANSFERS = 3;
/** Orders a trader remembers as targets for cancel and amend. */
const REMEMBERED_ORDERS = 40;

function killCount(text: string | undefined): number {
  const n = Number(text ?? '10');
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`RECOVERY_KILLS must be a positive integer, got ${text}`);
  return IN_CI ? Math.max(n, 10) : n;
}

function seed(text: string | undefined): number {
  if (text === undefined) return randomInt(2 ** 31);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`RECOVERY_SEED must be an integer, got ${text}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

const between = (rnd: Random, lo: number, hi: number): number =>
  lo + Math.floor(rnd() * (hi - lo + 1));

const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)];

// ---------------------------------------------------------------------------------------------
// What the clients were told

/** How a call ended, as far as the client can know. */
type Attempt<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

interface Transfer {
  readonly type: 'deposit' | 'withdraw';
  readonly userId: string;
  readonly asset: string;
  readonly amount: string;
  readonly idempotencyKey: string;
  /** `unknown` until a retry with the same key after the restart settles it. */
  outcome: 'applied' | 'refused' | 'unknown';
}

/** Everything the engine acknowledged, keyed by `userId/clientOrderId` or `userId/key`. */
class Ledger {
  /** Accepted orders: their order id. */
  readonly placed = new Map<string, string>();
  /** Refused orders: the error code. */
  readonly rejected = new Map<string, string>();
  /** Order ids of acknowledged cancels. */
  readonly cancelled: string[] = [];
  readonly amended: { readonly orderId: string; readonly quantity: string }[] = [];
  readonly transfers = new Map<string, Transfer>();
  unknown = 0;
}

const ref = (userId: string, id: string): string => `${userId}/${id}`;

/** One stretch of load against one engine process, ended by `onEnd` after `endAt` acks. */
class LoadPhase {
  over = false;
  acks = 0;
  failure: Error | undefined;

  constructor(
    private readonly endAt: number,
    private readonly onEnd: () => void,
  ) {}

  acknowledged(): void {
    if (++this.acks === this.endAt) this.end();
  }

  end(): void {
    if (this.over) return;
    this.over = true;
    this.onEnd();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.end();
  }
}

/**
 * Classifies a call: an answer (or a domain refusal) is an acknowledgement; a transport failure
 * once the phase is over (the engine was killed) is an unknown outcome; anything else fails.
 */
async function attempt<T>(phase: LoadPhase, what: string, call: Promise<T>): Promise<Attempt<T>> {
  try {
    const value = await call;
    phase.acknowledged();
    return { kind: 'ok', value };
  } catch (err) {
    const e = err as ServiceError;
    if (typeof e.code !== 'number') throw err;
    const code = errorCodeOf(e);
    if (Object.hasOwn(ERROR_CODES, code)) {
      phase.acknowledged();
      return { kind: 'refused', code };
    }
    if (phase.over) return { kind: 'unknown' };
    throw new Error(`${what} failed while the engine was up: ${code}: ${e.details}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The load

interface MarketPlan {
  readonly symbol: string;
  /** Mid price in ticks (both markets tick 0.01). */
  readonly midTicks: number;
  /** Decimals of the lot size: quantity = lots × 10^-lotScale. */
  readonly lotScale: number;
  readonly minLots: number;
  readonly maxLots: number;
}

const MARKETS: readonly MarketPlan[] = [
  { symbol: 'SOL_USDC', midTicks: 10_000, lotScale: 2, minLots: 2, maxLots: 300 },
  { symbol: 'BTC_USDC', midTicks: 3_000_000, lotScale: 5, minLots: 4, maxLots: 400 },
];
const SPREAD_TICKS = 15;
const FUNDING: Record<string, string> = { USDC: '1000000', SOL: '50000', BTC: '50' };
const TRANSFER_ASSETS = ['USDC', 'SOL', 'BTC'] as const;
const STPS = [
  SelfTradePrevention.SELF_TRADE_PREVENTION_UNSPECIFIED,
  SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_MAKER,
  SelfTradePrevention.SELF_TRADE_PREVENTION_CANCEL_BOTH,
];

interface OwnOrder {
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly market: MarketPlan;
  lots: number;
}

interface PlannedOrder {
  readonly request: PlaceOrderRequest;
  readonly market: MarketPlan;
  readonly lots: number;
}

/** One client of one user: places, cancels, amends, deposits and withdraws, one call at a time. */
class Trader {
  private readonly own: OwnOrder[] = [];
  private next = 0;

  constructor(
    readonly userId: string,
    private readonly name: string,
    private readonly rnd: Random,
    private readonly ledger: Ledger,
  ) {}

  async run(api: EngineApi, phase: LoadPhase): Promise<void> {
    while (!phase.over) {
      const r = this.rnd();
      if (r < 0.4) await this.place(api, phase, this.limitOrder());
      else if (r < 0.5) await this.place(api, phase, this.marketOrder());
      else if (r < 0.62) await this.cancel(api, phase);
      else if (r < 0.68) await this.amend(api, phase);
      else if (r < 0.8) await this.placeBatch(api, phase);
      else if (r < 0.9) await this.transfer(api, phase, 'deposit');
      else if (r < 0.98) await this.transfer(api, phase, 'withdraw');
      else await this.cancelAll(api, phase);
    }
  }

  private clientOrderId(): string {
    return `${this.name}-o${++this.next}`;
  }

  private limitOrder(): PlannedOrder {
    const rnd = this.rnd;
    const market = pick(rnd, MARKETS);
    const lots = between(rnd, market.minLots, market.maxLots);
    const roll = rnd();
    return {
      market,
      lots,
      request: {
        userId: this.userId,
        market: market.symbol,
        side: rnd() < 0.5 ? Side.SIDE_BUY : Side.SIDE_SELL,
        type: OrderType.ORDER_TYPE_LIMIT,
        price: formatScaled(BigInt(market.midTicks + between(rnd, -SPREAD_TICKS, SPREAD_TICKS)), 2),
        quantity: formatScaled(BigInt(lots), market.lotScale),
        timeInForce:
          roll < 0.1
            ? TimeInForce.TIME_IN_FORCE_IOC
            : roll < 0.15
              ? TimeInForce.TIME_IN_FORCE_FOK
              : TimeInForce.TIME_IN_FORCE_GTC,
        postOnly: roll > 0.93,
        selfTradePrevention: pick(rnd, STPS),
        clientOrderId: this.clientOrderId(),
      },
    };
  }

  private marketOrder(): PlannedOrder {
    const rnd = this.rnd;
    const market = pick(rnd, MARKETS);
    const lots = between(rnd, market.minLots, market.maxLots);
    const side = rnd() < 0.5 ? Side.SIDE_BUY : Side.SIDE_SELL;
    const byQuote = side === Side.SIDE_BUY && rnd() < 0.6;
    return {
      market,
      lots,
      request: {
        userId: this.userId,
        market: market.symbol,
        side,
        type: OrderType.ORDER_TYPE_MARKET,
        quantity: byQuote ? undefined : formatScaled(BigInt(lots), market.lotScale),
        quoteQuantity: byQuote ? formatScaled(BigInt(between(rnd, 200, 20_000)), 2) : undefined,
        timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
        postOnly: false,
        selfTradePrevention: pick(rnd, STPS),
        clientOrderId: this.clientOrderId(),
      },
    };
  }

  private async place(api: EngineApi, phase: LoadPhase, plan: PlannedOrder): Promise<void> {
    const result = await attempt(phase, 'PlaceOrder', api.placeOrder(plan.request));
    if (result.kind === 'ok') this.placed(plan, result.value.order);
    else if (result.kind === 'refused') this.refused(plan, result.code);
    else this.ledger.unknown++;
  }

  private async placeBatch(api: EngineApi, phase: LoadPhase): Promise<void> {
    const plans = Array.from({ length: between(this.rnd, 2, 8) }, () => this.limitOrder());
    const result = await attempt(
      phase,
      'PlaceOrders',
      api.placeOrders({ orders: plans.map((p) => p.request) }),
    );
    if (result.kind === 'unknown') {
      this.ledger.unknown += plans.length;
      return;
    }
    if (result.kind === 'refused') throw new Error(`PlaceOrders refused: ${result.code}`);
    result.value.results.forEach((r, i) => {
      if (r.result?.$case === 'placed') this.placed(plans[i], r.result.value.order);
      else if (r.result?.$case === 'error' && Object.hasOwn(ERROR_CODES, r.result.value.code))
        this.refused(plans[i], r.result.value.code);
      else if (phase.over) this.ledger.unknown++;
      else throw new Error(`PlaceOrders item failed while the engine was up: ${JSON.stringify(r)}`);
    });
  }

  private placed(plan: PlannedOrder, order: Order | undefined): void {
    const clientOrderId = plan.request.clientOrderId as string;
    if (order?.clientOrderId !== clientOrderId)
      throw new Error(`order ${clientOrderId} answered as ${JSON.stringify(order)}`);
    this.ledger.placed.set(ref(this.userId, clientOrderId), order.orderId);
    if (
      order.status === OrderStatus.ORDER_STATUS_NEW ||
      order.status === OrderStatus.ORDER_STATUS_PARTIALLY_FILLED
    ) {
      this.own.push({
        orderId: order.orderId,
        clientOrderId,
        market: plan.market,
        lots: plan.lots,
      });
      if (this.own.length > REMEMBERED_ORDERS) this.own.shift();
    }
  }

  private refused(plan: PlannedOrder, code: string): void {
    this.ledger.rejected.set(ref(this.userId, plan.request.clientOrderId as string), code);
  }

  private async cancel(api: EngineApi, phase: LoadPhase): Promise<void> {
    if (this.own.length === 0) return this.place(api, phase, this.limitOrder());
    const [target] = this.own.splice(Math.floor(this.rnd() * this.own.length), 1);
    const result = await attempt(
      phase,
      'CancelOrder',
      api.cancelOrder({
        userId: this.userId,
        orderRef:
          this.rnd() < 0.5
            ? { $case: 'orderId', value: target.orderId }
            : { $case: 'clientOrderId', value: target.clientOrderId },
      }),
    );
    if (result.kind === 'ok') {
      const order = result.value.order;
      if (order?.orderId !== target.orderId || order.status !== OrderStatus.ORDER_STATUS_CANCELLED)
        throw new Error(`cancel of ${target.orderId} answered ${JSON.stringify(order)}`);
      this.ledger.cancelled.push(order.orderId);
    }
  }

  private async amend(api: EngineApi, phase: LoadPhase): Promise<void> {
    const target = this.own.length === 0 ? undefined : pick(this.rnd, this.own);
    const lots = target === undefined ? 0 : Math.floor(target.lots / 2);
    if (target === undefined || lots < target.market.minLots)
      return this.place(api, phase, this.limitOrder());
    const quantity = formatScaled(BigInt(lots), target.market.lotScale);
    const result = await attempt(
      phase,
      'AmendOrder',
      api.amendOrder({ userId: this.userId, orderId: target.orderId, newQuantity: quantity }),
    );
    if (result.kind === 'ok') {
      const order = result.value.order;
      if (order?.orderId !== target.orderId || order.quantity !== quantity)
        throw new Error(
          `amend of ${target.orderId} to ${quantity} answered ${JSON.stringify(order)}`,
        );
      this.ledger.amended.push({ orderId: order.orderId, quantity });
      target.lots = lots;
    }
  }

  private async cancelAll(api: EngineApi, phase: LoadPhase): Promise<void> {
    const market = this.rnd() < 0.5 ? undefined : pick(this.rnd, MARKETS);
    const result = await attempt(
      phase,
      'CancelAllOrders',
      api.cancelAllOrders({ userId: this.userId, market: market?.symbol ?? '' }),
    );
    if (result.kind !== 'ok') return;
    for (const order of result.value.orders) this.ledger.cancelled.push(order.orderId);
    const gone = new Set(result.value.orders.map((o) => o.orderId));
    this.own.splice(0, this.own.length, ...this.own.filter((o) => !gone.has(o.orderId)));
  }

  private async transfer(
    api: EngineApi,
    phase: LoadPhase,
    type: 'deposit' | 'withdraw',
  ): Promise<void> {
    const transfer: Transfer = {
      type,
      userId: this.userId,
      asset: pick(this.rnd, TRANSFER_ASSETS),
      // Up to 100 units in, up to 20 out: withdrawals of BTC are sometimes refused.
      amount: formatScaled(BigInt(between(this.rnd, 1, type === 'deposit' ? 100_000 : 20_000)), 3),
      idempotencyKey: `${this.name}-t${++this.next}`,
      outcome: 'unknown',
    };
    this.ledger.transfers.set(ref(this.userId, transfer.idempotencyKey), transfer);
    const result = await attempt(phase, type, sendTransfer(api, transfer));
    if (result.kind === 'ok') transfer.outcome = 'applied';
    else if (result.kind === 'refused') transfer.outcome = refusedTransfer(transfer, result.code);
  }
}

function sendTransfer(api: EngineApi, t: Transfer): Promise<unknown> {
  const request = {
    userId: t.userId,
    asset: t.asset,
    amount: t.amount,
    idempotencyKey: t.idempotencyKey,
  };
  return t.type === 'deposit' ? api.deposit(request) : api.withdraw(request);
}

/** Only a withdrawal beyond the available balance may be refused. */
function refusedTransfer(t: Transfer, code: string): 'refused' {
  if (t.type === 'withdraw' && code === 'INSUFFICIENT_BALANCE') return 'refused';
  throw new Error(`${t.type} ${t.idempotencyKey} refused: ${code}`);
}

/** After a restart: the same request with the same key again, which must move money at most once. */
async function settleUnknownTransfers(api: EngineApi, ledger: Ledger): Promise<void> {
  await Promise.all(
    [...ledger.transfers.values()]
      .filter((t) => t.outcome === 'unknown')
      .map(async (t) => {
        try {
          await sendTransfer(api, t);
          t.outcome = 'applied';
        } catch (err) {
          t.outcome = refusedTransfer(t, errorCodeOf(err as ServiceError));
        }
      }),
  );
}

/**
 * Sends some acknowledged transfers again with their keys, as a client that lost the answers
 * would: each must be answered as before (even a withdrawal the balance no longer covers) and
 * move nothing, so the keys must have survived the crash.
 */
async function resendApplied(api: EngineApi, ledger: Ledger, rnd: Random): Promise<void> {
  const applied = [...ledger.transfers.values()].filter((t) => t.outcome === 'applied');
  for (let i = 0; i < RESENT_TRANSFERS; i++) await sendTransfer(api, pick(rnd, applied));
}

// ---------------------------------------------------------------------------------------------
// The clean run and the checks

interface StreamEntry {
  readonly id: string;
  readonly fields: Record<string, string>;
}

interface SnapshotRow {
  readonly id: string;
  readonly command_seq: string;
  readonly stream_id: string;
  readonly event_seq: string;
  readonly state: string;
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * A fresh core fed the journal exactly as the engine feeds it (seq = position from 1, ts = the
 * entry's time), and what it saw on the way. It is fed in steps, each step the entries appended
 * since the last, so that checking after every restart costs only what is new; the final check
 * feeds a new one the whole journal at once.
 */
class CleanRun {
  readonly core = new ExchangeCore();
  /** Journal entries applied so far, and the last one's id. */
  entries = 0;
  lastEntryId = '0-0';
  /** Every event, encoded as the engine writes it; index = seq - 1. */
  readonly events: string[] = [];
  trades = 0;
  /** userId/clientOrderId → how many place_order commands carry it. */
  readonly journaled = new Map<string, number>();
  /** userId/clientOrderId → order id of its `accepted` event. */
  readonly accepted = new Map<string, string>();
  /** userId/clientOrderId → code of its `order_rejected` event. */
  readonly rejected = new Map<string, string>();
  /** Order ids cancelled by their user. */
  readonly cancelled = new Set<string>();
  /** `orderId:quantity` of every amendment. */
  readonly amended = new Set<string>();
  /** userId/idempotencyKey → deposit or withdrawal events. */
  readonly transfers = new Map<string, number>();
  /** userId/idempotencyKey → deposit or withdraw commands (a retry journals one more). */
  readonly transferCommands = new Map<string, number>();
  /** How far the events stream has been compared with `events`. */
  eventsChecked = 0;
  eventsEntryId = '0-0';
  private readonly requestIds = new Set<string>();
  private readonly checkedSnapshots = new Set<string>();

  /**
   * Applies `journal` (the entries after `lastEntryId`) and compares every stored snapshot with
   * the core at the entry it covers. Returns the problems found.
   */
  feed(journal: readonly StreamEntry[], snapshots: readonly SnapshotRow[]): string[] {
    const problems: string[] = [];
    const snapshotAt = new Map<string, SnapshotRow[]>();
    for (const s of snapshots) {
      if (this.checkedSnapshots.has(s.id)) continue;
      snapshotAt.set(s.stream_id, [...(snapshotAt.get(s.stream_id) ?? []), s]);
    }
    this.compareSnapshots(snapshotAt, this.lastEntryId);
    for (const entry of journal) {
      const commands = decodeCommands(entry.fields.c ?? '[]');
      const ids = CommandJournal.requestIds(entry.fields.r, commands.length);
      for (const id of ids) {
        if (this.requestIds.has(id)) problems.push(`request ${id} is journaled twice`);
        this.requestIds.add(id);
      }
      for (const command of commands) this.apply(command, streamIdTime(entry.id));
      this.entries++;
      this.lastEntryId = entry.id;
      this.compareSnapshots(snapshotAt, entry.id);
    }
    for (const rows of snapshotAt.values())
      for (const s of rows)
        problems.push(`snapshot at command ${s.command_seq} names ${s.stream_id}, no new entry`);
    return problems;
  }

  private apply(command: CommandBody, ts: number): void {
    const core = this.core;
    if (command.type === 'place_order' && command.clientOrderId !== undefined)
      bump(this.journaled, ref(command.userId, command.clientOrderId));
    if ((command.type === 'deposit' || command.type === 'withdraw') && command.idempotencyKey)
      bump(this.transferCommands, ref(command.userId, command.idempotencyKey));
    const outcome = core.apply({ ...command, seq: core.lastCommandSeq + 1, ts } as Command);
    for (const e of outcome.events) {
      this.events.push(JSON.stringify(decodeEvents(encodeEvents([e]))[0]));
      if (e.type === 'trade') this.trades++;
      else if (e.type === 'order') {
        const orderId = String(e.order.orderId);
        if (e.kind === 'accepted' && e.order.clientOrderId !== null)
          this.accepted.set(ref(e.order.userId, e.order.clientOrderId), orderId);
        if (e.kind === 'cancelled' && e.reason === 'user') this.cancelled.add(orderId);
        if (e.kind === 'amended')
          this.amended.add(`${orderId}:${orderToProto(core, e.order).quantity ?? ''}`);
      } else if (e.type === 'order_rejected' && e.clientOrderId !== null) {
        this.rejected.set(ref(e.userId, e.clientOrderId), e.code);
      } else if ((e.type === 'deposit' || e.type === 'withdrawal') && e.idempotencyKey !== null) {
        bump(this.transfers, ref(e.userId, e.idempotencyKey));
      }
    }
  }

  private compareSnapshots(snapshotAt: Map<string, SnapshotRow[]>, streamId: string): void {
    const rows = snapshotAt.get(streamId);
    if (rows === undefined) return;
    snapshotAt.delete(streamId);
    const state = JSON.stringify(toSnapshot(this.core));
    for (const stored of rows) {
      this.checkedSnapshots.add(stored.id);
      const seqs = [Number(stored.command_seq), Number(stored.event_seq)];
      if (stored.state === state && seqs[0] === this.core.lastCommandSeq) {
        if (seqs[1] === this.core.counters.event) continue;
      }
      expect({ streamId, seqs, state: JSON.parse(stored.state) as unknown }).toEqual({
        streamId,
        seqs: [this.core.lastCommandSeq, this.core.counters.event],
        state: JSON.parse(state) as unknown,
      });
    }
  }
}

function expectNoProblems(what: string, problems: readonly string[]): void {
  expect({ what, count: problems.length, first: problems.slice(0, 20) }).toEqual({
    what,
    count: 0,
    first: [],
  });
}

/** Every acknowledged order, cancel and amend is in the journal once and in the clean run. */
function verifyOrders(ledger: Ledger, run: CleanRun, found: readonly string[]): void {
  const problems = [...found];
  for (const [key, orderId] of ledger.placed) {
    const times = run.journaled.get(key) ?? 0;
    if (times !== 1) problems.push(`accepted order ${key} is journaled ${times} times`);
    const accepted = run.accepted.get(key);
    if (accepted !== orderId)
      problems.push(
        `order ${key} was acknowledged as ${orderId}; the clean run accepted ${accepted}`,
      );
  }
  for (const [key, code] of ledger.rejected) {
    const times = run.journaled.get(key) ?? 0;
    if (times !== 1) problems.push(`refused order ${key} is journaled ${times} times`);
    const rejected = run.rejected.get(key);
    if (rejected !== code)
      problems.push(`order ${key} was refused with ${code}; the clean run says ${rejected}`);
  }
  for (const [key, times] of run.journaled)
    if (times > 1) problems.push(`clientOrderId ${key} is journaled ${times} times`);
  for (const orderId of ledger.cancelled)
    if (!run.cancelled.has(orderId)) problems.push(`acknowledged cancel of ${orderId} is missing`);
  for (const a of ledger.amended)
    if (!run.amended.has(`${a.orderId}:${a.quantity}`))
      problems.push(`acknowledged amend of ${a.orderId} to ${a.quantity} is missing`);
  expectNoProblems('orders', problems);
}

/** Each idempotency key moved money once if applied, never if refused, at most once if unknown. */
function verifyTransfers(ledger: Ledger, run: CleanRun): void {
  const sheet = run.core.sheet;
  const deposited = sheet.assets.map(() => 0n);
  const withdrawn = sheet.assets.map(() => 0n);
  const problems: string[] = [];
  for (const [key, t] of ledger.transfers) {
    const times = run.transfers.get(key) ?? 0;
    const allowed = t.outcome === 'applied' ? [1] : t.outcome === 'refused' ? [0] : [0, 1];
    if (!allowed.includes(times))
      problems.push(`${t.type} ${key} (${t.outcome}) moved money ${times} times`);
    if (times === 0) continue;
    const asset = run.core.asset(t.asset);
    const amount = parseScaled(t.amount, asset.decimals, 'INVALID_AMOUNT', 'amount');
    if (t.type === 'deposit') deposited[asset.index] += amount;
    else withdrawn[asset.index] += amount;
  }
  for (const key of run.transfers.keys())
    if (!ledger.transfers.has(key)) problems.push(`transfer ${key} was never sent`);
  expectNoProblems('transfers', problems);
  expect(
    sheet.assets.map((a) => [a.symbol, sheet.deposited[a.index], sheet.withdrawn[a.index]]),
  ).toEqual(sheet.assets.map((a) => [a.symbol, deposited[a.index], withdrawn[a.index]]));
}

/** Σ users (available + locked) + fees = deposits − withdrawals; nothing negative; locks add up. */
function verifyConservation(core: ExchangeCore): void {
  expectNoProblems('conservation', conservationProblems(core));
}

/** The engine answers exactly what the clean core answers. */
async function verifyEngineMatches(
  api: EngineApi,
  users: readonly string[],
  core: ExchangeCore,
): Promise<void> {
  for (const userId of users) {
    expect({ userId, ...(await api.getBalances({ userId })) }).toEqual({
      userId,
      balances: core.balances(userId).map((b) => balanceToProto(core, b)),
    });
    expect({ userId, ...(await api.getOpenOrders({ userId })) }).toEqual({
      userId,
      orders: core.openOrders(userId).map((o) => orderToProto(core, o)),
    });
  }
  for (const market of core.markets.values()) {
    const depth = core.depth(market.symbol, MAX_DEPTH);
    expect(await api.getDepth({ market: market.symbol, limit: MAX_DEPTH })).toEqual({
      market: market.symbol,
      lastUpdateId: String(depth.lastUpdateId),
      bids: levelsToProto(market, depth.bids),
      asks: levelsToProto(market, depth.asks),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The test

let iso: Isolation;
let redis: Redis;
let db: pg.Client;
let engine: EngineProcess | undefined;
let api: EngineApi | undefined;

beforeAll(async () => {
  iso = isolate('recovery');
  redis = new Redis(TEST_REDIS_URL);
  db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  api?.close();
  await engine?.dispose();
  await redis.quit();
  await db.end();
  await iso.cleanup();
});

function spawnEngine(): EngineProcess {
  return EngineProcess.spawn({
    ...iso.env,
    LOG_LEVEL: 'info', // the port and the recovery report come from info lines
    ENGINE_HOST: '127.0.0.1',
    ENGINE_PORT: '0',
    SNAPSHOT_EVERY_COMMANDS: String(SNAPSHOT_EVERY_COMMANDS),
    SNAPSHOT_EVERY_SECONDS: '2',
    JOURNAL_TRIM: 'false', // the clean run needs the whole journal
  });
}

/** Starts an engine and waits until it serves; returns a client of it. */
async function start(): Promise<{ proc: EngineProcess; api: EngineApi }> {
  engine = spawnEngine();
  const port = await engine.serving;
  api = engineClient(`127.0.0.1:${port}`);
  return { proc: engine, api };
}

/** The entries of a stream after `afterId`, oldest first. */
async function readStream(key: string, afterId: string): Promise<StreamEntry[]> {
  const entries: StreamEntry[] = [];
  let start = afterId === '0-0' ? '-' : `(${afterId}`;
  for (;;) {
    const batch = await redis.xrange(key, start, '+', 'COUNT', 2000);
    for (const [id, flat] of batch) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      entries.push({ id, fields });
    }
    if (batch.length < 2000) return entries;
    start = `(${batch[batch.length - 1][0]}`;
  }
}

async function storedSnapshots(): Promise<SnapshotRow[]> {
  const { rows } = await db.query<SnapshotRow>(
    `SELECT id, command_seq, stream_id, event_seq, state::text AS state
       FROM "${iso.schema}".engine_snapshots ORDER BY command_seq, id`,
  );
  return rows;
}

/** The events stream holds exactly the clean run's events, seq 1..N, each once. */
async function verifyEventsStream(run: CleanRun): Promise<void> {
  const problems: string[] = [];
  for (const entry of await readStream(redisKeys(iso.prefix).events, run.eventsEntryId)) {
    run.eventsEntryId = entry.id;
    const decoded = decodeEvents(entry.fields.e);
    const events = decoded.map((e) => JSON.stringify(e));
    const seqs = decoded.map((e) => e.seq);
    if (`${seqs[0]}..${seqs.at(-1)}` !== `${entry.fields.first}..${entry.fields.last}`)
      problems.push(`entry ${entry.id} says ${entry.fields.first}..${entry.fields.last}`);
    for (const [i, event] of events.entries()) {
      const expected = run.events[run.eventsChecked];
      if (seqs[i] !== run.eventsChecked + 1)
        problems.push(`event ${seqs[i]} written where ${run.eventsChecked + 1} belongs`);
      else if (event !== expected)
        problems.push(`event ${seqs[i]} written as ${event}, the clean run has ${expected}`);
      run.eventsChecked++;
    }
  }
  if (run.eventsChecked !== run.events.length)
    problems.push(`${run.eventsChecked} events written, the clean run has ${run.events.length}`);
  expectNoProblems('events stream', problems);
}

/**
 * Feeds `run` what was journaled since it last looked, then checks everything that must hold:
 * acknowledged orders and transfers, snapshots, conservation, and the events written.
 */
async function verifyJournal(ledger: Ledger, run: CleanRun): Promise<void> {
  const keys = redisKeys(iso.prefix);
  const journal = await readStream(keys.commands, run.lastEntryId);
  const problems = run.feed(journal, await storedSnapshots());
  // Nothing was removed from or slipped into the part fed before.
  expect(await redis.xlen(keys.commands)).toBe(run.entries);
  verifyOrders(ledger, run, problems);
  verifyTransfers(ledger, run);
  verifyConservation(run.core);
  await verifyEventsStream(run);
}

/** Runs every trader against one engine until the phase ends; the engine must not die alone. */
async function runLoad(
  client: EngineApi,
  proc: EngineProcess,
  traders: readonly Trader[],
  phase: LoadPhase,
): Promise<void> {
  void proc.exited.then((exit) => {
    if (!phase.over) phase.fail(new Error(`the engine exited (${describeExit(exit)}) by itself`));
  });
  await Promise.all(
    traders.map((t) => t.run(client, phase).catch((err: Error) => phase.fail(err))),
  );
  if (phase.failure !== undefined)
    throw new Error(`${phase.failure.message}\n--- engine output ---\n${proc.output()}`);
}

/** Starts an engine and kills it after `ms`, whatever it is doing by then. */
async function killWhileStarting(ms: number): Promise<void> {
  const proc = spawnEngine();
  engine = proc;
  await Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), proc.exited]);
  proc.kill('SIGKILL');
  expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
}

/** How the engine said it recovered: from a snapshot, with commands replayed after it. */
function recoveredFromSnapshotWithReplay(proc: EngineProcess): boolean {
  const report = proc.record('state recovered');
  return report?.fromSnapshot === true && Number(report.replayedCommands) > 0;
}

describe('Engine crash recovery', () => {
  it(
    `keeps every acknowledged command, once, across ${KILLS} SIGKILLs under load (seed ${SEED})`,
    async () => {
      const began = performance.now();
      const rnd = prng(SEED);
      const ledger = new Ledger();
      let { proc, api: client } = await start();

      const users: string[] = [];
      for (let u = 0; u < USERS; u++) {
        const { userId } = await client.createUser({});
        users.push(userId);
        for (const [asset, amount] of Object.entries(FUNDING)) {
          const t: Transfer = {
            type: 'deposit',
            userId,
            asset,
            amount,
            idempotencyKey: `fund-${asset}`,
            outcome: 'unknown',
          };
          ledger.transfers.set(ref(userId, t.idempotencyKey), t);
          await sendTransfer(client, t);
          t.outcome = 'applied';
        }
      }
      const traders = users.flatMap((userId, u) =>
        Array.from(
          { length: TRADERS_PER_USER },
          (_, w) =>
            new Trader(userId, `u${u}w${w}`, prng(SEED + 1 + u * TRADERS_PER_USER + w), ledger),
        ),
      );

      const run = new CleanRun();
      let startupKills = 0;
      let replaysAfterSnapshot = 0;
      for (let kill = 1; kill <= KILLS; kill++) {
        // The first phase is long enough for a snapshot, so that restarts replay after one.
        const acks = between(
          rnd,
          kill === 1 ? 2 * SNAPSHOT_EVERY_COMMANDS : 1,
          MAX_ACKS_BEFORE_KILL,
        );
        const killed = proc;
        await runLoad(client, killed, traders, new LoadPhase(acks, () => killed.kill('SIGKILL')));
        expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
        client.close();
        if (rnd() < STARTUP_KILL_CHANCE) {
          startupKills++;
          await killWhileStarting(between(rnd, 0, MAX_STARTUP_KILL_MS));
        }
        ({ proc, api: client } = await start());
        if (recoveredFromSnapshotWithReplay(proc)) replaysAfterSnapshot++;
        await settleUnknownTransfers(client, ledger);
        await resendApplied(client, ledger, rnd);
        await verifyJournal(ledger, run);
        await verifyEngineMatches(client, users, run.core);
      }

      // The end: SIGTERM under load. Graceful: exit 0 with a final snapshot of everything.
      const stopped = proc;
      await runLoad(
        client,
        stopped,
        traders,
        new LoadPhase(between(rnd, 1, MAX_ACKS_BEFORE_KILL), () => stopped.kill('SIGTERM')),
      );
      expect(await stopped.exited).toEqual({ code: 0, signal: null });
      client.close();
      api = undefined;
      // Once more, from scratch: a new core fed the whole journal at once.
      const full = new CleanRun();
      await verifyJournal(ledger, full);
      await verifyJournal(ledger, run);
      expect(toSnapshot(run.core)).toEqual(toSnapshot(full.core));
      const newest = (await storedSnapshots()).at(-1);
      expect({
        streamId: newest?.stream_id,
        commandSeq: Number(newest?.command_seq),
        eventSeq: Number(newest?.event_seq),
        state: JSON.parse(newest?.state ?? 'null') as unknown,
      }).toEqual({
        streamId: full.lastEntryId,
        commandSeq: full.core.lastCommandSeq,
        eventSeq: full.core.counters.event,
        state: JSON.parse(JSON.stringify(toSnapshot(full.core))) as unknown,
      });

      // The run did what it is for: real trading, snapshots restored and replayed after.
      expect(run.trades).toBeGreaterThan(100);
      expect(ledger.placed.size).toBeGreaterThan(KILLS * 20);
      expect(replaysAfterSnapshot).toBeGreaterThan(0);
      if (process.env.RECOVERY_VERBOSE !== undefined) {
        const summary = {
          seed: SEED,
          kills: KILLS,
          startupKills,
          replaysAfterSnapshot,
          commands: full.core.lastCommandSeq,
          events: full.events.length,
          trades: full.trades,
          ordersAccepted: ledger.placed.size,
          ordersRefused: ledger.rejected.size,
          unknownOutcomes: ledger.unknown,
          transfers: ledger.transfers.size,
          retriesOfJournaledTransfers: [...full.transferCommands.values()].filter((n) => n > 1)
            .length,
          ms: Math.round(performance.now() - began),
        };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      }
    },
    60_000 + KILLS * 10_000,
  );
});
