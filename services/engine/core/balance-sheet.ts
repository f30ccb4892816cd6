/**
 * Assets, accounts and their balances. Every balance is an integer number of the asset's minor
 * units (bigint), split into `available` (free to spend or withdraw) and `locked` (held by open
 * orders). Fees collected are kept per asset apart from any user.
 *
 * Invariant: for every asset, Σ users (available + locked) + fees = deposited − withdrawn, and no
 * balance is ever negative. Only this module changes a balance.
 */
import { DomainError } from './errors';
import type { Order } from './order';

export interface Asset {
  readonly symbol: string;
  readonly decimals: number;
  /** Position in every account's balance arrays. */
  readonly index: number;
}

export class Account {
  readonly available: bigint[] = [];
  readonly locked: bigint[] = [];
  /** Open orders in id order, as an intrusive list through `Order.prevOpen/nextOpen`. */
  private firstOpen: Order | null = null;
  private lastOpen: Order | null = null;
  /** Open orders by client order id. */
  readonly byClientId = new Map<string, Order>();
  /** Per asset: the command stamp that last touched this balance (dedupes balance events). */
  readonly stamps: number[] = [];

  constructor(
    readonly userId: string,
    readonly apiKeyHash: string,
    assetCount: number,
  ) {
    for (let i = 0; i < assetCount; i++) this.addAsset();
  }

  /** Appends a newly resting order (ids only grow, so the list stays in id order). */
  addOpen(order: Order): void {
    order.prevOpen = this.lastOpen;
    order.nextOpen = null;
    if (this.lastOpen === null) this.firstOpen = order;
    else this.lastOpen.nextOpen = order;
    this.lastOpen = order;
    if (order.clientOrderId !== null) this.byClientId.set(order.clientOrderId, order);
  }

  removeOpen(order: Order): void {
    if (order.prevOpen === null) this.firstOpen = order.nextOpen;
    else order.prevOpen.nextOpen = order.nextOpen;
    if (order.nextOpen === null) this.lastOpen = order.prevOpen;
    else order.nextOpen.prevOpen = order.prevOpen;
    order.prevOpen = null;
    order.nextOpen = null;
    if (order.clientOrderId !== null) this.byClientId.delete(order.clientOrderId);
  }

  /** The open orders, oldest first. */
  openOrders(): Order[] {
    const orders: Order[] = [];
    for (let o = this.firstOpen; o !== null; o = o.nextOpen) orders.push(o);
    return orders;
  }

  addAsset(): void {
    this.available.push(0n);
    this.locked.push(0n);
    this.stamps.push(0);
  }
}

const ASSET_RE = /^[A-Z0-9]{1,12}$/;
/** Numbered accounts beyond this id are found through the Map only (keeps the array bounded). */
const MAX_NUMBERED = 1 << 26;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Fills the gaps of `byNumber` so that it stays a packed array of accounts. */
const NO_ACCOUNT = new Account('', '', 0);

export class BalanceSheet {
  readonly assets: Asset[] = [];
  private readonly bySymbol = new Map<string, Asset>();
  readonly accounts = new Map<string, Account>();
  /**
   * Accounts whose user id is a canonical decimal integer (every id the core issues: "1", "2",
   * ...), indexed by that integer: an array read instead of a string Map lookup on every command.
   * Only a cache of `accounts`: a hit is confirmed by comparing the id string.
   */
  private readonly byNumber: Account[] = [];
  private readonly byKeyHash = new Map<string, Account>();
  /** Per asset index: fees collected, less what is still pending in `feesPending`. */
  private readonly feeTotals: bigint[] = [];
  /**
   * Per asset index: fees collected since the last fold into `feeTotals`, as a JS number. Exact:
   * {@link collectFee} adds only safe integers and folds first whenever the sum could pass
   * Number.MAX_SAFE_INTEGER, so this is always a safe integer. Saves a BigInt addition (and its
   * allocation) per side of every trade.
   */
  private readonly feesPending: number[] = [];
  readonly deposited: bigint[] = [];
  readonly withdrawn: bigint[] = [];

  addAsset(symbol: string, decimals: number): Asset {
    if (typeof symbol !== 'string' || !ASSET_RE.test(symbol)) {
      throw new DomainError(
        'INVALID_ASSET',
        `asset symbol must be 1-12 capital letters or digits, got ${String(symbol)}`,
      );
    }
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 30) {
      throw new DomainError(
        'INVALID_ASSET',
        `asset decimals must be an integer from 0 to 30, got ${String(decimals)}`,
      );
    }
    if (this.bySymbol.has(symbol))
      throw new DomainError('ASSET_EXISTS', `asset ${symbol} already exists`);
    const asset: Asset = { symbol, decimals, index: this.assets.length };
    this.assets.push(asset);
    this.bySymbol.set(symbol, asset);
    this.feeTotals.push(0n);
    this.feesPending.push(0);
    this.deposited.push(0n);
    this.withdrawn.push(0n);
    for (const account of this.accounts.values()) account.addAsset();
    return asset;
  }

  asset(symbol: string): Asset {
    const asset = this.bySymbol.get(symbol);
    if (asset === undefined)
      throw new DomainError('UNKNOWN_ASSET', `unknown asset ${String(symbol)}`);
    return asset;
  }

  hasAsset(symbol: string): boolean {
    return this.bySymbol.has(symbol);
  }

  openAccount(userId: string, apiKeyHash: string): Account {
    if (this.accounts.has(userId))
      throw new DomainError('USER_EXISTS', `user ${userId} already exists`);
    if (this.byKeyHash.has(apiKeyHash))
      throw new DomainError('USER_EXISTS', 'API key hash already in use');
    const account = new Account(userId, apiKeyHash, this.assets.length);
    this.accounts.set(userId, account);
    this.byKeyHash.set(apiKeyHash, account);
    const n = Number(userId);
    if (Number.isInteger(n) && n >= 0 && n < MAX_NUMBERED && String(n) === userId) {
      const byNumber = this.byNumber;
      while (byNumber.length < n) byNumber.push(NO_ACCOUNT);
      byNumber[n] = account;
    }
    return account;
  }

  account(userId: string): Account {
    if (typeof userId === 'string') {
      // `+userId` of an array-index string is read from the string's cached hash: cheap.
      const n = +userId;
      if (n >>> 0 === n && n < this.byNumber.length) {
        const hit = this.byNumber[n];
        if (hit.userId === userId && hit !== NO_ACCOUNT) return hit;
      }
    }
    const account = this.accounts.get(userId);
    if (account === undefined)
      throw new DomainError('UNKNOWN_USER', `unknown user ${String(userId)}`);
    return account;
  }

  accountByKeyHash(hash: string): Account | undefined {
    return this.byKeyHash.get(hash);
  }

  deposit(account: Account, asset: Asset, amount: bigint): void {
    account.available[asset.index] += amount;
    this.deposited[asset.index] += amount;
  }

  withdraw(account: Account, asset: Asset, amount: bigint): void {
    if (account.available[asset.index] < amount) {
      throw new DomainError(
        'INSUFFICIENT_BALANCE',
        `available ${asset.symbol} is less than the amount`,
      );
    }
    account.available[asset.index] -= amount;
    this.withdrawn[asset.index] += amount;
  }

  /**
   * An order's lock taken and used in one step: `spent` leaves available for good and `held`
   * moves from available to locked (the caller checked that available covered the whole lock).
   */
  holdAndSpend(account: Account, asset: Asset, held: bigint, spent: bigint): void {
    const i = asset.index;
    account.available[i] -= spent === 0n ? held : held === 0n ? spent : held + spent;
    if (held !== 0n) account.locked[i] += held;
  }

  /** Moves `amount` from locked back to available. */
  unlock(account: Account, asset: Asset, amount: bigint): void {
    account.locked[asset.index] -= amount;
    account.available[asset.index] += amount;
  }

  /**
   * Settles one side of a trade: `paid` leaves the payer's locked balance of `payAsset`;
   * `received − fee` arrives in its available balance of `receiveAsset`; `fee` goes to fees.
   */
  settle(
    account: Account,
    payAsset: Asset,
    paid: bigint,
    receiveAsset: Asset,
    received: bigint,
    fee: bigint,
    /** `fee` as a JS number when it is a safe integer, else -1. */
    feeN: number,
  ): void {
    account.locked[payAsset.index] -= paid;
    account.available[receiveAsset.index] += received - fee;
    this.collectFee(receiveAsset.index, fee, feeN);
  }

  /** The receiving side of a trade alone (see {@link settle}): the payer paid elsewhere. */
  receive(account: Account, asset: Asset, received: bigint, fee: bigint, feeN: number): void {
    account.available[asset.index] += received - fee;
    this.collectFee(asset.index, fee, feeN);
  }

  /**
   * Fees collected per asset index, exact (read-only use, or writes when restoring a snapshot).
   * Folds the pending number sums in first.
   */
  get fees(): bigint[] {
    const pending = this.feesPending;
    for (let i = 0; i < pending.length; i++) {
      if (pending[i] !== 0) {
        this.feeTotals[i] += BigInt(pending[i]);
        pending[i] = 0;
      }
    }
    return this.feeTotals;
  }

  /**
   * Adds a fee to the asset's total. `feeN` is the same fee as a JS number when it is a safe
   * integer (-1 when it is not): then it is added to the pending number sum, as long as that sum
   * stays at most MAX_SAFE_INTEGER (both are safe integers, so `MAX_SAFE_INTEGER - feeN` is exact
   * and the test is exact); otherwise the pending sum is folded into the bigint total first.
   */
  collectFee(index: number, fee: bigint, feeN: number): void {
    const pending = this.feesPending;
    if (feeN >= 0) {
      if (pending[index] <= MAX_SAFE - feeN) {
        pending[index] += feeN;
        return;
      }
    }
    this.feeTotals[index] += BigInt(pending[index]) + fee;
    pending[index] = 0;
  }
}
