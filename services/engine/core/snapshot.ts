/**
 * The whole state of the core as plain JSON-safe data (bigints as decimal strings), and back.
 * Restoring a snapshot gives a core that behaves exactly like the one it was taken from: same
 * books in the same queue order, same balances, same counters, so the same next commands give the
 * same events. Maps are written in their iteration order and rebuilt in it.
 */
import { ExchangeCore } from './exchange-core';
import { Market } from './market';
import { Order } from './order';
import type {
  MarketView,
  OrderStatus,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from './types';

export const SNAPSHOT_VERSION = 1;

export interface OrderSnapshot {
  id: number;
  userId: string;
  market: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  selfTradePrevention: SelfTradePrevention;
  price: number;
  quantity: number;
  quoteAmount: string;
  filled: number;
  filledQuote: string;
  status: OrderStatus;
  locked: string;
  clientOrderId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ExchangeSnapshot {
  version: number;
  counters: { order: number; user: number; event: number; command: number };
  assets: {
    symbol: string;
    decimals: number;
    fees: string;
    deposited: string;
    withdrawn: string;
  }[];
  users: { userId: string; apiKeyHash: string; available: string[]; locked: string[] }[];
  markets: {
    spec: MarketView;
    updateId: number;
    tradeSeq: number;
    /** Order ids per level, best level first, each level in queue order. */
    bids: number[][];
    asks: number[][];
  }[];
  /** Open orders in id order. */
  orders: OrderSnapshot[];
  idempotency: [
    string,
    {
      type: 'deposit' | 'withdraw';
      asset: string;
      amount: string;
      available: string;
      locked: string;
    },
  ][];
}

export function toSnapshot(core: ExchangeCore): ExchangeSnapshot {
  const sheet = core.sheet;
  const queue = (levels: Iterable<{ head: Order | null }>): number[][] =>
    [...levels].map((level) => {
      const ids: number[] = [];
      for (let o = level.head; o !== null; o = o.next) ids.push(o.id);
      return ids;
    });
  return {
    version: SNAPSHOT_VERSION,
    counters: { ...core.counters },
    assets: sheet.assets.map((a) => ({
      symbol: a.symbol,
      decimals: a.decimals,
      fees: sheet.fees[a.index].toString(),
      deposited: sheet.deposited[a.index].toString(),
      withdrawn: sheet.withdrawn[a.index].toString(),
    })),
    users: [...sheet.accounts.values()].map((acc) => ({
      userId: acc.userId,
      apiKeyHash: acc.apiKeyHash,
      available: acc.available.map(String),
      locked: acc.locked.map(String),
    })),
    markets: [...core.markets.values()].map((m) => ({
      spec: m.spec,
      updateId: m.updateId,
      tradeSeq: m.tradeSeq,
      bids: queue(m.book.bids.fromBest()),
      asks: queue(m.book.asks.fromBest()),
    })),
    orders: [...core.orders.values()]
      .sort((a, b) => a.id - b.id)
      .map((o) => ({
        id: o.id,
        userId: o.account.userId,
        market: o.market.symbol,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        postOnly: o.postOnly,
        selfTradePrevention: o.selfTradePrevention,
        price: o.price,
        quantity: o.quantity,
        quoteAmount: o.quoteAmount.toString(),
        filled: o.filled,
        filledQuote: o.filledQuote.toString(),
        status: o.status,
        locked: o.locked.toString(),
        clientOrderId: o.clientOrderId,
        createdAt: o.createdAt,
        updatedAt: o.updatedAt,
      })),
    idempotency: [...core.idempotency.entries()].map(([key, r]) => [
      key,
      {
        type: r.type,
        asset: r.asset,
        amount: r.amount.toString(),
        available: r.balance.available.toString(),
        locked: r.balance.locked.toString(),
      },
    ]),
  };
}

export function fromSnapshot(snapshot: ExchangeSnapshot): ExchangeCore {
  if (snapshot.version !== SNAPSHOT_VERSION) {
    throw new Error(`unsupported snapshot version ${snapshot.version}`);
  }
  const core = new ExchangeCore();
  const sheet = core.sheet;
  for (const a of snapshot.assets) {
    const asset = sheet.addAsset(a.symbol, a.decimals);
    sheet.fees[asset.index] = BigInt(a.fees);
    sheet.deposited[asset.index] = BigInt(a.deposited);
    sheet.withdrawn[asset.index] = BigInt(a.withdrawn);
  }
  for (const u of snapshot.users) {
    const account = sheet.openAccount(u.userId, u.apiKeyHash);
    u.available.forEach((v, i) => (account.available[i] = BigInt(v)));
    u.locked.forEach((v, i) => (account.locked[i] = BigInt(v)));
  }
  for (const m of snapshot.markets) {
    const market = Market.create(
      { type: 'add_market', seq: 0, ts: 0, ...m.spec },
      sheet.asset(m.spec.base),
      sheet.asset(m.spec.quote),
    );
    market.updateId = m.updateId;
    market.tradeSeq = m.tradeSeq;
    core.markets.set(market.symbol, market);
  }
  const byId = new Map<number, Order>();
  for (const s of snapshot.orders) {
    const account = sheet.account(s.userId);
    const order = new Order(
      s.id,
      account,
      core.market(s.market),
      s.side,
      s.type,
      s.timeInForce,
      s.postOnly,
      s.selfTradePrevention,
      s.price,
      s.quantity,
      BigInt(s.quoteAmount),
      s.clientOrderId,
      s.createdAt,
    );
    order.filled = s.filled;
    order.filledQuote = BigInt(s.filledQuote);
    order.status = s.status;
    order.locked = BigInt(s.locked);
    order.updatedAt = s.updatedAt;
    byId.set(order.id, order);
    core.orders.set(order.id, order);
    account.addOpen(order);
  }
  for (const m of snapshot.markets) {
    const book = core.market(m.spec.symbol).book;
    for (const [side, levels] of [
      [book.bids, m.bids],
      [book.asks, m.asks],
    ] as const) {
      for (const ids of levels) {
        for (const id of ids) {
          const order = byId.get(id);
          if (order === undefined) throw new Error(`snapshot book names unknown order ${id}`);
          side.levelFor(order.price).push(order);
        }
      }
    }
  }
  for (const [key, r] of snapshot.idempotency) {
    core.idempotency.set(key, {
      type: r.type,
      asset: r.asset,
      amount: BigInt(r.amount),
      balance: { asset: r.asset, available: BigInt(r.available), locked: BigInt(r.locked) },
    });
  }
  core.counters = { ...snapshot.counters };
  return core;
}
