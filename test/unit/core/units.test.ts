import {
  decimalToSteps,
  DomainError,
  formatScaled,
  parseScaled,
  MAX_LOTS,
} from '../../../services/engine/core';

describe('parseScaled', () => {
  it('parses plain decimals exactly into minor units', () => {
    expect(parseScaled('101.25', 6, 'INVALID_AMOUNT', 'amount')).toBe(101_250_000n);
    expect(parseScaled('0', 6, 'INVALID_AMOUNT', 'amount')).toBe(0n);
    expect(parseScaled('123456789012345.123456789012345678', 18, 'INVALID_AMOUNT', 'amount')).toBe(
      123456789012345123456789012345678n,
    );
  });

  it.each([
    '-1',
    '+1',
    '1e3',
    '1E3',
    'NaN',
    'Infinity',
    '',
    ' 1',
    '1 ',
    '1.',
    '.5',
    '01',
    '0x10',
    '1,5',
    '１',
  ])('refuses %j', (text) => {
    expect(() => parseScaled(text, 6, 'INVALID_AMOUNT', 'amount')).toThrow(DomainError);
  });

  it('refuses more decimals than the asset has', () => {
    expect(() => parseScaled('1.0000001', 6, 'INVALID_AMOUNT', 'amount')).toThrow(
      /more than 6 decimal places/,
    );
  });

  it('refuses non-strings and overlong strings', () => {
    expect(() => parseScaled(1.5, 6, 'INVALID_AMOUNT', 'amount')).toThrow(DomainError);
    expect(() => parseScaled('1'.repeat(65), 6, 'INVALID_AMOUNT', 'amount')).toThrow(DomainError);
  });
});

describe('decimalToSteps', () => {
  it('counts whole ticks and lots', () => {
    expect(decimalToSteps('101.25', '0.01', MAX_LOTS, 'INVALID_PRICE', 'price')).toBe(10125);
    expect(decimalToSteps('0.00012', '0.00001', MAX_LOTS, 'INVALID_QUANTITY', 'quantity')).toBe(12);
  });

  it('refuses values off the step, zero, or too large', () => {
    expect(() => decimalToSteps('101.255', '0.01', MAX_LOTS, 'INVALID_PRICE', 'price')).toThrow(
      /not a multiple/,
    );
    expect(() => decimalToSteps('0', '0.01', MAX_LOTS, 'INVALID_PRICE', 'price')).toThrow(
      /greater than zero/,
    );
    expect(() => decimalToSteps('1000', '1', 999, 'INVALID_QUANTITY', 'quantity')).toThrow(
      /too large/,
    );
  });
});

describe('formatScaled', () => {
  it('formats minor units without trailing zeros or exponents', () => {
    expect(formatScaled(101_250_000n, 6)).toBe('101.25');
    expect(formatScaled(1n, 18)).toBe('0.000000000000000001');
    expect(formatScaled(10n ** 30n, 6)).toBe('1000000000000000000000000');
    expect(formatScaled(0n, 6)).toBe('0');
  });
});
