/**
 * A market's rules and the integer arithmetic of its trades.
 *
 * Price P = price ticks × tickSize (quote per base); quantity Q = lots × lotSize (base).
 * A trade of `lots` at `price` moves `lots × lotMinor` base minor units one way and
 * `floor(price × lots × unit)` quote minor units the other, where `unit = num/den` is the exact
 * quote minor units of one tick × one lot. The floor only matters when tick × lot is finer than
 * the quote asset's minor unit (BTC_USDC: 0.01 × 0.00001 = 1e-7 USDC); buyer and seller move
 * the same rounded amount, so nothing is created or lost.
 *
 * Fees are charged on what a party receives (base for the buyer, quote for the seller), rounded
 * up to the minor unit: `ceil(received × ppm / 1e6)`, never more than received.
 */
import type { Asset } from './balance-sheet';
import { DomainError } from './errors';
import { OrderBook } from './order-book';
import type { PriceLevel } from './price-level';
import type { AddMarketCommand, MarketView } from './types';
import {
  MAX_LOTS,
  bigIntOf,
  decimalPlaces,
  decimalToSteps,
  formatScaled,
  parseScaled,
  ratioOf,
  reduce,
  type Step,
  stepOf,
} from './units';

const PPM = 1_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Module constants, not the imported binding (a getter call per use under CommonJS). */
const MAX_LOTS_N = MAX_LOTS;
const MAX_LOTS_BIG = BigInt(MAX_LOTS);
const toBigInt = bigIntOf;

/** `n` as a JS number when it is a safe integer, else -1 (callers then take the bigint path). */
function safeNumber(n: bigint): number {
  return n <= MAX_SAFE ? Number(n) : -1;
}
const SYMBOL_RE = /^[A-Z0-9]{1,12}_[A-Z0-9]{1,12}$/;

export class Market {
  readonly book = new OrderBook();
  /** Per-market depth update id: +1 for every command that changed the book. */
  updateId = 0;
  /** Last trade id of this market. */
  tradeSeq = 0;
  /** Scratch of the command being applied: the levels it changed (see ExchangeCore). */
  touchStamp = 0;
  readonly touchedLevels: PriceLevel[] = [];
  /** How many of `touchedLevels` belong to the command being applied (the rest are stale). */
  touchedCount = 0;

  // Fast paths: the same integer arithmetic in JS numbers while every intermediate value is a
  // safe integer (so exact), falling back to bigint otherwise. -1 when a factor is not safe.
  private readonly unitNumN: number;
  private readonly unitDenN: number;
  /** Largest price × lots whose scaled notional stays a safe integer (-1: never). */
  private readonly notionalLimit: number;
  private readonly lotMinorN: number;
  /** Largest lot count whose base amount stays a safe integer (-1: never). */
  private readonly baseLimit: number;
  readonly makerFeePpmN: number;
  readonly takerFeePpmN: number;

  private constructor(
    readonly symbol: string,
    readonly base: Asset,
    readonly quote: Asset,
    readonly spec: MarketView,
    /** Tick and lot as steps, for converting prices and quantities at the edges. */
    readonly tick: Step,
    readonly lot: Step,
    /** Base minor units in one lot. */
    readonly lotMinor: bigint,
    /** Quote minor units per tick × lot, as an exact ratio. */
    readonly unitNum: bigint,
    readonly unitDen: bigint,
    readonly minQuantity: number,
    readonly minNotional: bigint,
    readonly makerFeePpm: bigint,
    readonly takerFeePpm: bigint,
  ) {
    this.unitNumN = safeNumber(unitNum);
    this.unitDenN = safeNumber(unitDen);
    this.notionalLimit = this.unitNumN > 0 && this.unitDenN > 0 ? Number(MAX_SAFE / unitNum) : -1;
    this.lotMinorN = safeNumber(lotMinor);
    this.baseLimit = this.lotMinorN > 0 ? Number(MAX_SAFE / lotMinor) : -1;
    this.makerFeePpmN = Number(makerFeePpm);
    this.takerFeePpmN = Number(takerFeePpm);
  }

  /** Validates an add_market command against the known assets and builds the market. */
  static create(cmd: AddMarketCommand, base: Asset, quote: Asset): Market {
    if (typeof cmd.symbol !== 'string' || !SYMBOL_RE.test(cmd.symbol)) {
      throw new DomainError(
        'INVALID_MARKET',
        `market symbol must look like BASE_QUOTE, got ${String(cmd.symbol)}`,
      );
    }
    if (base.symbol === quote.symbol) {
      throw new DomainError('INVALID_MARKET', 'base and quote assets must differ');
    }
    const tick = positiveDecimal(cmd.tickSize, 'tickSize');
    const lot = positiveDecimal(cmd.lotSize, 'lotSize');
    if (decimalPlaces(lot) > base.decimals) {
      throw new DomainError(
        'INVALID_MARKET',
        `lotSize ${lot} is finer than ${base.symbol}'s ${base.decimals} decimals`,
      );
    }
    const lotMinor = parseScaled(lot, base.decimals, 'INVALID_MARKET', 'lotSize');
    const t = ratioOf(tick);
    const l = ratioOf(lot);
    const unit = reduce(t.num * l.num * 10n ** BigInt(quote.decimals), t.den * l.den);
    const minQuantity = decimalToSteps(
      cmd.minQuantity,
      lot,
      MAX_LOTS,
      'INVALID_MARKET',
      'minQuantity',
    );
    const minNotional = parseScaled(
      cmd.minNotional,
      quote.decimals,
      'INVALID_MARKET',
      'minNotional',
    );
    const makerFeePpm = feePpm(cmd.makerFee, 'makerFee');
    const takerFeePpm = feePpm(cmd.takerFee, 'takerFee');
    const spec: MarketView = {
      symbol: cmd.symbol,
      base: base.symbol,
      quote: quote.symbol,
      tickSize: tick,
      lotSize: lot,
      minQuantity: positiveDecimal(cmd.minQuantity, 'minQuantity'),
      minNotional: formatScaled(minNotional, quote.decimals),
      makerFee: formatScaled(makerFeePpm, 6),
      takerFee: formatScaled(takerFeePpm, 6),
    };
    return new Market(
      cmd.symbol,
      base,
      quote,
      spec,
      stepOf(tick),
      stepOf(lot),
      lotMinor,
      unit.num,
      unit.den,
      minQuantity,
      minNotional,
      makerFeePpm,
      takerFeePpm,
    );
  }

  /** Quote minor units for `lots` at `price` ticks, rounded down. */
  notional(price: number, lots: number): bigint {
    const fast = this.notionalN(price, lots);
    if (fast >= 0) return toBigInt(fast);
    const raw = BigInt(price) * BigInt(lots);
    return this.unitDen === 1n ? raw * this.unitNum : (raw * this.unitNum) / this.unitDen;
  }

  /** {@link notional} as a JS number when every step is a safe integer, else -1. */
  notionalN(price: number, lots: number): number {
    const product = price * lots;
    if (product > this.notionalLimit) return -1;
    // product × num ≤ MAX_SAFE_INTEGER: exact; taking off the remainder makes the division exact.
    const scaled = product * this.unitNumN;
    const den = this.unitDenN;
    return den === 1 ? scaled : (scaled - (scaled % den)) / den;
  }

  /** Base minor units in `lots`. */
  baseAmount(lots: number): bigint {
    if (lots <= this.baseLimit) return toBigInt(lots * this.lotMinorN);
    return BigInt(lots) * this.lotMinor;
  }

  /** {@link baseAmount} as a JS number when it is a safe integer, else -1. */
  baseAmountN(lots: number): number {
    return lots <= this.baseLimit ? lots * this.lotMinorN : -1;
  }

  /** Most lots at `price` whose notional does not exceed `budget` quote minor units. */
  lotsWithin(budget: bigint, price: number): number {
    if (budget < 0n) return 0;
    // The same in JS numbers when every intermediate value is a safe integer: budget + 1 and
    // (budget + 1) × den, and price × num (so the quotient, floored exactly, is too).
    if (budget < MAX_SAFE && this.unitDenN > 0 && this.unitNumN > 0) {
      const b = (Number(budget) + 1) * this.unitDenN;
      const d = price * this.unitNumN;
      if (b <= Number.MAX_SAFE_INTEGER && d <= Number.MAX_SAFE_INTEGER) {
        const x = b - 1;
        const q = (x - (x % d)) / d;
        return q > MAX_LOTS_N ? MAX_LOTS_N : q;
      }
    }
    // notional(p, x) <= B  <=>  p*x*num < (B+1)*den  <=>  x <= ((B+1)*den - 1) / (p*num)
    const lots = ((budget + 1n) * this.unitDen - 1n) / (BigInt(price) * this.unitNum);
    return lots > MAX_LOTS_BIG ? MAX_LOTS_N : Number(lots);
  }

  /** Whole lots in `amount` base minor units (rounded down). */
  lotsIn(amount: bigint): number {
    if (amount <= MAX_SAFE && this.lotMinorN > 0) {
      const a = Number(amount);
      return (a - (a % this.lotMinorN)) / this.lotMinorN;
    }
    return Number(amount / this.lotMinor);
  }

  /** Fee at `ppm` parts per million of `received`, rounded up. */
  static fee(received: bigint, ppm: bigint): bigint {
    return (received * ppm + PPM - 1n) / PPM;
  }

  /**
   * {@link fee} when `received` is a safe integer and `ppm` < 1e6, in exact integer arithmetic:
   * received = q × 1e6 + r gives ceil(received × ppm / 1e6) = q × ppm + ceil(r × ppm / 1e6),
   * where every intermediate value stays below received or 1e12.
   */
  feeN(received: number, ppm: number): number {
    const r = received % 1_000_000;
    const q = (received - r) / 1_000_000;
    const t = r * ppm + 999_999;
    return q * ppm + (t - (t % 1_000_000)) / 1_000_000;
  }
}

function positiveDecimal(text: string, what: string): string {
  const places = decimalPlaces(text);
  const scaled = parseScaled(text, places, 'INVALID_MARKET', what);
  if (scaled === 0n) throw new DomainError('INVALID_MARKET', `${what} must be greater than zero`);
  return formatScaled(scaled, places);
}

function feePpm(text: string, what: string): bigint {
  const ppm = parseScaled(text, 6, 'INVALID_MARKET', what);
  if (ppm >= PPM) throw new DomainError('INVALID_MARKET', `${what} must be below 1`);
  return ppm;
}
