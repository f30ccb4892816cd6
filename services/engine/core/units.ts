/**
 * The one place where decimal strings meet integers. The API speaks decimal strings ("101.25");
 * the core speaks integers: prices in ticks and quantities in lots (safe JS integers), amounts in
 * minor units of an asset (bigint). Every conversion here is exact or it is refused: no floats.
 *
 * Parsing and formatting are done on the digits themselves (they run for every order at the
 * edge, so they must be cheap); decimal.js checks the rarer market definitions.
 */
import Decimal from 'decimal.js';
import { DomainError, type ErrorCode } from './errors';

/** Plain, non-negative decimal: digits, optional fraction. No sign, no exponent, no spaces. */
const DECIMAL_RE = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const MAX_TEXT = 64;

/** Largest quantity in lots and price in ticks a single order may carry (keeps sums exact). */
export const MAX_LOTS = 1_000_000_000_000;
export const MAX_TICKS = 1_000_000_000_000;

/**
 * `BigInt(n)` for a safe integer `n`. Through an int32 when `n` fits one: V8 converts a small
 * integer without leaving optimised code, but a heap number (which is what an amount computed in
 * floating-point arithmetic is, however small) through a runtime call, about 3x slower.
 */
export function bigIntOf(n: number): bigint {
  return (n | 0) === n ? BigInt(n | 0) : BigInt(n);
}

export function isPlainDecimal(text: unknown): text is string {
  return typeof text === 'string' && text.length <= MAX_TEXT && DECIMAL_RE.test(text);
}

/** Digits of a plain decimal split at the point, trailing fraction zeros dropped. */
function split(text: string): [string, string] {
  const dot = text.indexOf('.');
  if (dot < 0) return [text, ''];
  let end = text.length;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  return [text.slice(0, dot), text.slice(dot + 1, end)];
}

/**
 * Parses a decimal string into an integer count of `10^-scale` units, refusing anything that is
 * not a plain non-negative decimal with at most `scale` fraction digits.
 */
export function parseScaled(text: unknown, scale: number, code: ErrorCode, what: string): bigint {
  if (!isPlainDecimal(text)) {
    throw new DomainError(
      code,
      `${what} must be a plain decimal string such as "1.5", got ${show(text)}`,
    );
  }
  const [int, frac] = split(text);
  if (frac.length > scale) {
    throw new DomainError(code, `${what} ${text} has more than ${scale} decimal places`);
  }
  return BigInt(int + frac.padEnd(scale, '0'));
}

/** Number of fraction digits a plain decimal string needs (trailing zeros ignored). */
export function decimalPlaces(text: unknown): number {
  if (!isPlainDecimal(text))
    throw new DomainError('INVALID_MARKET', `not a plain decimal: ${show(text)}`);
  return split(text)[1].length;
}

/** Formats `units × 10^-scale` as a plain decimal string without trailing zeros ("1.5", "0", "-2.25"). */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  return formatDigits((negative ? -units : units).toString(), scale, negative);
}

/** {@link formatScaled} of a non-negative safe integer, without going through a bigint. */
export function formatScaledNumber(units: number, scale: number): string {
  return formatDigits(String(units), scale, false);
}

function formatDigits(digits: string, scale: number, negative: boolean): string {
  if (scale > 0) {
    if (digits.length <= scale) digits = digits.padStart(scale + 1, '0');
    let end = digits.length;
    const point = end - scale;
    while (end > point && digits.charCodeAt(end - 1) === 48) end--;
    digits =
      end > point
        ? `${digits.slice(0, point)}.${digits.slice(point, end)}`
        : digits.slice(0, point);
  }
  return negative ? `-${digits}` : digits;
}

/** A step size (tick or lot) as an integer number of `10^-scale` units. */
export interface Step {
  readonly text: string;
  readonly units: bigint;
  readonly scale: number;
  /** `units` as a number when it is a safe integer (it always is for real markets), else NaN. */
  readonly unitsNumber: number;
}

export function stepOf(text: string): Step {
  const scale = decimalPlaces(text);
  const units = parseScaled(text, scale, 'INVALID_MARKET', 'step');
  if (units === 0n) throw new DomainError('INVALID_MARKET', 'a step must be greater than zero');
  const n = Number(units);
  return {
    text: formatScaled(units, scale),
    units,
    scale,
    unitsNumber: Number.isSafeInteger(n) ? n : NaN,
  };
}

/** Powers of ten that are exact numbers. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
/** Below this, a product or sum of integers is exact in a JS number. */
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Parses a decimal string that must be a whole positive number of `step`s (a tick or a lot).
 * Returns the count as a safe integer no greater than `max`.
 */
export function decimalToSteps(
  text: unknown,
  step: Step | string,
  max: number,
  code: ErrorCode,
  what: string,
): number {
  const s = typeof step === 'string' ? stepOf(step) : step;
  if (!isPlainDecimal(text)) {
    throw new DomainError(
      code,
      `${what} must be a plain decimal string such as "1.5", got ${show(text)}`,
    );
  }
  const [int, frac] = split(text);
  if (frac.length > s.scale)
    throw new DomainError(code, `${what} ${text} is not a multiple of ${s.text}`);
  // Exact in numbers when every digit fits in 15 (below 2^53): the usual case, no bigints.
  if (int.length + s.scale <= 15 && !Number.isNaN(s.unitsNumber)) {
    const units =
      Number(int) * POW10[s.scale] +
      (frac.length === 0 ? 0 : Number(frac) * POW10[s.scale - frac.length]);
    if (units === 0) throw new DomainError(code, `${what} must be greater than zero`);
    if (units % s.unitsNumber !== 0)
      throw new DomainError(code, `${what} ${text} is not a multiple of ${s.text}`);
    const count = units / s.unitsNumber;
    if (count > max) throw new DomainError(code, `${what} ${text} is too large`);
    return count;
  }
  const units = BigInt(int + frac.padEnd(s.scale, '0'));
  if (units === 0n) throw new DomainError(code, `${what} must be greater than zero`);
  if (units % s.units !== 0n)
    throw new DomainError(code, `${what} ${text} is not a multiple of ${s.text}`);
  const count = units / s.units;
  if (count > BigInt(max)) throw new DomainError(code, `${what} ${text} is too large`);
  return Number(count);
}

/** The decimal string of `count` steps, exactly. */
export function stepsToDecimal(count: number | bigint, step: Step | string): string {
  const s = typeof step === 'string' ? stepOf(step) : step;
  if (
    typeof count === 'number' &&
    Number.isInteger(count) &&
    count >= 0 &&
    count * s.unitsNumber <= SAFE
  )
    return formatScaledNumber(count * s.unitsNumber, s.scale);
  return formatScaled(BigInt(count) * s.units, s.scale);
}

/** An exact non-negative rational `num / den`, both bigint, in lowest terms. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** The exact value of a plain decimal string as a reduced ratio (checked with decimal.js). */
export function ratioOf(text: string): Ratio {
  const places = decimalPlaces(text);
  const num = parseScaled(text, places, 'INVALID_MARKET', 'value');
  const ratio = reduce(num, 10n ** BigInt(places));
  if (!new Decimal(ratio.num.toString()).div(ratio.den.toString()).eq(text)) {
    throw new DomainError('INVALID_MARKET', `cannot represent ${text} exactly`);
  }
  return ratio;
}

export function reduce(num: bigint, den: bigint): Ratio {
  const g = gcd(num < 0n ? -num : num, den);
  return g === 0n ? { num, den } : { num: num / g, den: den / g };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  return typeof value;
}
