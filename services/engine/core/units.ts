/**
 * The one place where decimal strings meet integers. The API speaks decimal strings ("101.25");
 * the core speaks integers: prices in ticks and quantities in lots (safe JS integers), amounts in
 * minor units of an asset (bigint). Every conversion here is exact or it is refused: no floats.
 *
 * decimal.js is used only in this module.
 */
import DecimalBase from 'decimal.js';
import { DomainError, type ErrorCode } from './errors';

/** Enough precision that no operation here ever rounds (inputs are capped at 64 characters). */
const Decimal = DecimalBase.clone({ precision: 200, rounding: DecimalBase.ROUND_DOWN });

/** Plain, non-negative decimal: digits, optional fraction. No sign, no exponent, no spaces. */
const DECIMAL_RE = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const MAX_TEXT = 64;

function isPlainDecimal(text: unknown): text is string {
  return typeof text === 'string' && text.length <= MAX_TEXT && DECIMAL_RE.test(text);
}

/** Largest quantity in lots and price in ticks a single order may carry (keeps sums exact). */
export const MAX_LOTS = 1_000_000_000_000;
export const MAX_TICKS = 1_000_000_000_000;

/**
 * Parses a decimal string into an integer count of `10^-scale` units, refusing anything that is
 * not a plain positive-or-zero decimal with at most `scale` fraction digits.
 */
export function parseScaled(text: unknown, scale: number, code: ErrorCode, what: string): bigint {
  if (!isPlainDecimal(text)) {
    throw new DomainError(
      code,
      `${what} must be a plain decimal string such as "1.5", got ${show(text)}`,
    );
  }
  const d = new Decimal(text);
  if (d.decimalPlaces() > scale) {
    throw new DomainError(code, `${what} ${text} has more than ${scale} decimal places`);
  }
  return BigInt(d.mul(new Decimal(10).pow(scale)).toFixed(0));
}

/** Number of fraction digits a plain decimal string needs (trailing zeros ignored). */
export function decimalPlaces(text: string): number {
  if (!isPlainDecimal(text))
    throw new DomainError('INVALID_MARKET', `not a decimal: ${show(text)}`);
  return new Decimal(text).decimalPlaces();
}

/** Formats `units * 10^-scale` as a plain decimal string without trailing zeros ("1.5", "0"). */
export function formatScaled(units: bigint, scale: number): string {
  return new Decimal(units.toString()).div(new Decimal(10).pow(scale)).toFixed();
}

/** An exact positive rational `num / den`, both bigint, in lowest terms. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** The exact value of a decimal string as a reduced ratio. */
export function ratioOf(text: string): Ratio {
  const places = decimalPlaces(text);
  const num = parseScaled(text, places, 'INVALID_MARKET', 'value');
  return reduce(num, 10n ** BigInt(places));
}

export function reduce(num: bigint, den: bigint): Ratio {
  const g = gcd(num < 0n ? -num : num, den);
  return g === 0n ? { num, den } : { num: num / g, den: den / g };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The decimal string of `count` steps of size `step` (a decimal string), exactly. */
export function stepsToDecimal(count: number | bigint, step: string): string {
  return new Decimal(step).mul(new Decimal(count.toString())).toFixed();
}

/**
 * Parses a decimal string that must be a whole positive number of `step`s (a tick or a lot).
 * Returns the count as a safe integer no greater than `max`.
 */
export function decimalToSteps(
  text: unknown,
  step: string,
  max: number,
  code: ErrorCode,
  what: string,
): number {
  if (!isPlainDecimal(text)) {
    throw new DomainError(
      code,
      `${what} must be a plain decimal string such as "1.5", got ${show(text)}`,
    );
  }
  const value = new Decimal(text);
  if (value.isZero()) throw new DomainError(code, `${what} must be greater than zero`);
  const count = value.div(new Decimal(step));
  if (!count.isInteger()) {
    throw new DomainError(code, `${what} ${text} is not a multiple of ${step}`);
  }
  if (count.gt(max)) throw new DomainError(code, `${what} ${text} is too large`);
  return count.toNumber();
}

function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  return typeof value;
}
