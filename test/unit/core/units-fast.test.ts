/**
 * The number fast paths of the conversions at the edge (`decimalToSteps`, `stepsToDecimal`) give
 * exactly what the bigint paths give, refusals included, on inputs near every boundary.
 */
import fc from 'fast-check';
import {
  decimalToSteps,
  DomainError,
  formatScaled,
  stepOf,
  stepsToDecimal,
  type Step,
} from '../../../services/engine/core';

/** The same step without its number form, so the conversions take the bigint paths. */
const slow = (s: Step): Step => ({ ...s, unitsNumber: NaN });

const STEPS = ['0.01', '0.00001', '0.0001', '1', '5', '0.25', '0.000000000000000001', '100'];
const MAX = 1_000_000_000_000;

function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (err) {
    if (err instanceof DomainError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

/** Plain decimals of up to 17 integer and 20 fraction digits, zeros and trailing zeros included. */
const decimal = fc
  .tuple(
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,16}$/)),
    fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9]{1,20}$/)),
  )
  .map(([int, frac]) => (frac === '' ? int : `${int}.${frac}`));

describe('conversion fast paths', () => {
  it('decimalToSteps: the same count or the same refusal as the bigint path', () => {
    fc.assert(
      fc.property(decimal, fc.constantFrom(...STEPS), (text, stepText) => {
        const step = stepOf(stepText);
        const fast = outcome(() => decimalToSteps(text, step, MAX, 'INVALID_PRICE', 'price'));
        const reference = outcome(() =>
          decimalToSteps(text, slow(step), MAX, 'INVALID_PRICE', 'price'),
        );
        expect(fast).toEqual(reference);
      }),
      { numRuns: 5000 },
    );
  });

  it('stepsToDecimal: the same text as the bigint path, up to and past 2^53', () => {
    const count = fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(0, 1, 10, 100, MAX, Number.MAX_SAFE_INTEGER),
    );
    fc.assert(
      fc.property(count, fc.constantFrom(...STEPS), (n, stepText) => {
        const step = stepOf(stepText);
        expect(stepsToDecimal(n, step)).toBe(formatScaled(BigInt(n) * step.units, step.scale));
        expect(stepsToDecimal(n, step)).toBe(stepsToDecimal(n, slow(step)));
      }),
      { numRuns: 5000 },
    );
  });

  it('knows its boundaries', () => {
    const cent = stepOf('0.01');
    expect(cent.unitsNumber).toBe(1);
    expect(decimalToSteps('123.45', cent, MAX, 'INVALID_PRICE', 'price')).toBe(12345);
    expect(decimalToSteps('0.10', cent, MAX, 'INVALID_PRICE', 'price')).toBe(10);
    expect(stepsToDecimal(12345, cent)).toBe('123.45');
    expect(stepsToDecimal(0, cent)).toBe('0');
    expect(stepsToDecimal(7, stepOf('0.000000000000000001'))).toBe('0.000000000000000007');
    expect(stepsToDecimal(3, stepOf('100'))).toBe('300');
  });
});
