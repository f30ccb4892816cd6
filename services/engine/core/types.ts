/**
 * The core's vocabulary: commands in, events out, and the read-only views its queries return.
 * Units: prices are integer ticks, quantities integer lots (both safe JS integers), amounts are
 * integer minor units of an asset (bigint). Times are Unix milliseconds carried by the command.
 */
import type { ErrorCode } from './errors';

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
/** Self-trade prevention: what happens when an order would trade with its own user's order. */
export type SelfTradePrevention = 'cancel_taker' | 'cancel_maker' | 'cancel_both';
export type OrderStatus =
  'new' | 'partially_filled' | 'filled' | 'cancelled' | 'expired' | 'rejected';
export type Liquidity = 'maker' | 'taker';

export const SIDES: readonly Side[] = ['buy', 'sell'];
export const TIME_IN_FORCES: readonly TimeInForce[] = ['GTC', 'IOC', 'FOK'];
export const STP_MODES: readonly SelfTradePrevention[] = [
  'cancel_taker',
  'cancel_maker',
  'cancel_both',
];

// ---------------------------------------------------------------------------------------------
// Commands. Every command carries the journal's sequence number and the time it was journaled;
// the core has no clock of its own.

interface CommandBase {
  /** Sequence of the command in the journal; strictly increasing. */
  readonly seq: number;
  /** Unix milliseconds, assigned when the command was journaled. */
  readonly ts: number;
}

export interface AddAssetCommand extends CommandBase {
  readonly type: 'add_asset';
  readonly symbol: string;
  /** Number of decimals of the asset's minor unit (USDC 6, BTC 8, ETH 18). */
  readonly decimals: number;
}

/** The seed's add_orderbook: a new market with its rules, all as decimal strings. */
export interface AddMarketCommand extends CommandBase {
  readonly type: 'add_market';
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly minQuantity: string;
  readonly minNotional: string;
  /** Fee rates as decimal fractions ("0.001" is 0.1%), at most 6 decimals. */
  readonly makerFee: string;
  readonly takerFee: string;
}

export interface CreateUserCommand extends CommandBase {
  readonly type: 'create_user';
  /** Hash of the user's API key; the key itself never reaches the core. */
  readonly apiKeyHash: string;
}

export interface DepositCommand extends CommandBase {
  readonly type: 'deposit';
  readonly userId: string;
  readonly asset: string;
  /** Minor units, > 0. */
  readonly amount: bigint;
  readonly idempotencyKey?: string;
}

export interface WithdrawCommand extends CommandBase {
  readonly type: 'withdraw';
  readonly userId: string;
  readonly asset: string;
  /** Minor units, > 0, at most the available balance. */
  readonly amount: bigint;
  readonly idempotencyKey?: string;
}

export interface PlaceOrderCommand extends CommandBase {
  readonly type: 'place_order';
  readonly userId: string;
  readonly market: string;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit price in ticks (limit orders only). */
  readonly price?: number;
  /** Quantity in lots. Limit orders and market orders by base quantity. */
  readonly quantity?: number;
  /** Quote amount in minor units: market orders by quote amount only. */
  readonly quoteAmount?: bigint;
  /** Limit orders; default GTC. Market orders are always IOC. */
  readonly timeInForce?: TimeInForce;
  readonly postOnly?: boolean;
  /** Default cancel_taker. */
  readonly selfTradePrevention?: SelfTradePrevention;
  readonly clientOrderId?: string;
}

export interface CancelOrderCommand extends CommandBase {
  readonly type: 'cancel_order';
  readonly userId: string;
  readonly orderId?: number;
  readonly clientOrderId?: string;
}

export interface CancelAllCommand extends CommandBase {
  readonly type: 'cancel_all';
  readonly userId: string;
  /** Only this market; all markets when absent. */
  readonly market?: string;
}

/** Reduce an open order's quantity; keeps its place in the queue. */
export interface AmendOrderCommand extends CommandBase {
  readonly type: 'amend_order';
  readonly userId: string;
  readonly orderId?: number;
  readonly clientOrderId?: string;
  /** New total quantity in lots: more than already filled, less than the current quantity. */
  readonly quantity: number;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A command as the front builds it, before the journal gives it a seq and a time. */
export type CommandBody = DistributiveOmit<Command, 'seq' | 'ts'>;

export type Command =
  | AddAssetCommand
  | AddMarketCommand
  | CreateUserCommand
  | DepositCommand
  | WithdrawCommand
  | PlaceOrderCommand
  | CancelOrderCommand
  | CancelAllCommand
  | AmendOrderCommand;

// ---------------------------------------------------------------------------------------------
// Views: plain copies, safe to hand out.

export interface AssetView {
  readonly symbol: string;
  readonly decimals: number;
}

export interface MarketView {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly minQuantity: string;
  readonly minNotional: string;
  readonly makerFee: string;
  readonly takerFee: string;
}

export interface OrderView {
  readonly orderId: number;
  readonly clientOrderId: string | null;
  readonly userId: string;
  readonly market: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  /** Ticks; 0 for market orders. */
  readonly price: number;
  /** Lots; 0 for market orders by quote amount. */
  readonly quantity: number;
  /** Minor units of the quote asset; 0n unless a market order by quote amount. */
  readonly quoteAmount: bigint;
  readonly filledQuantity: number;
  readonly filledQuoteAmount: bigint;
  readonly status: OrderStatus;
  /** What the order still holds locked (quote for buys, base for sells), minor units. */
  readonly locked: bigint;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface FillView {
  readonly tradeId: number;
  readonly price: number;
  readonly quantity: number;
  readonly quoteAmount: bigint;
  readonly fee: bigint;
  readonly feeAsset: string;
  readonly liquidity: Liquidity;
}

export interface BalanceView {
  readonly asset: string;
  readonly available: bigint;
  readonly locked: bigint;
}

export interface DepthView {
  readonly market: string;
  readonly lastUpdateId: number;
  /** [price ticks, quantity lots], best first. */
  readonly bids: [number, number][];
  readonly asks: [number, number][];
}

// ---------------------------------------------------------------------------------------------
// Events. `seq` is global and gap-free across all events of the core; `ts` is the command's time.

interface EventBase {
  readonly seq: number;
  readonly ts: number;
}

export interface AssetAddedEvent extends EventBase {
  readonly type: 'asset_added';
  readonly asset: AssetView;
}

export interface MarketAddedEvent extends EventBase {
  readonly type: 'market_added';
  readonly market: MarketView;
}

export interface UserCreatedEvent extends EventBase {
  readonly type: 'user_created';
  readonly userId: string;
}

export interface TransferEvent extends EventBase {
  readonly type: 'deposit' | 'withdrawal';
  readonly userId: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly idempotencyKey: string | null;
}

export type OrderEventKind =
  'accepted' | 'partially_filled' | 'filled' | 'cancelled' | 'expired' | 'amended';

/** Why an order left the book without filling (or stopped filling). */
export type CloseReason =
  'user' | 'self_trade' | 'time_in_force' | 'no_liquidity' | 'insufficient_funds';

export interface OrderEvent extends EventBase {
  readonly type: 'order';
  readonly kind: OrderEventKind;
  readonly order: OrderView;
  readonly reason: CloseReason | null;
}

export interface OrderRejectedEvent extends EventBase {
  readonly type: 'order_rejected';
  readonly userId: string;
  readonly market: string;
  readonly clientOrderId: string | null;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface TradeParty {
  readonly orderId: number;
  readonly userId: string;
  /** Fee charged on what this party received, in minor units of `feeAsset`. */
  readonly fee: bigint;
  readonly feeAsset: string;
}

export interface TradeEvent extends EventBase {
  readonly type: 'trade';
  readonly market: string;
  /** Sequence per market, from 1. */
  readonly tradeId: number;
  readonly price: number;
  readonly quantity: number;
  /** Quote paid by the buyer and received (before fee) by the seller, minor units. */
  readonly quoteAmount: bigint;
  readonly takerSide: Side;
  readonly maker: TradeParty;
  readonly taker: TradeParty;
}

/** A user's balance of one asset after the command (one per touched user and asset). */
export interface BalanceEvent extends EventBase {
  readonly type: 'balance';
  readonly userId: string;
  readonly asset: string;
  readonly available: bigint;
  readonly locked: bigint;
}

/** The price levels of one market that this command changed, with their new totals (0: gone). */
export interface DepthEvent extends EventBase {
  readonly type: 'depth';
  readonly market: string;
  /** Per-market update id, +1 for each command that changed the book. */
  readonly updateId: number;
  readonly bids: [number, number][];
  readonly asks: [number, number][];
}

export type ExchangeEvent =
  | AssetAddedEvent
  | MarketAddedEvent
  | UserCreatedEvent
  | TransferEvent
  | OrderEvent
  | OrderRejectedEvent
  | TradeEvent
  | BalanceEvent
  | DepthEvent;

// ---------------------------------------------------------------------------------------------
// Replies: what the caller of a command gets back besides the events.

export type Reply =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'balance'; readonly balance: BalanceView; readonly replayed: boolean }
  | {
      readonly kind: 'order';
      readonly order: OrderView;
      readonly fills: FillView[];
      /** True when a repeated clientOrderId returned the original order. */
      readonly replayed: boolean;
    }
  | { readonly kind: 'orders'; readonly orders: OrderView[] }
  | { readonly kind: 'market'; readonly market: MarketView }
  | { readonly kind: 'asset'; readonly asset: AssetView };
