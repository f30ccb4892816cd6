import { copyEscaped, copyRows, isoTime } from '../../services/history/sql-text';

describe('copyRows', () => {
  it('writes one tab-separated line per row, NULL as \\N, by column kind', () => {
    const text = copyRows(
      [
        [1, 'a b', true, 1_700_000_000_123, 10n, '-0.5'],
        [2, null, false, 0, undefined, '7'],
      ],
      'ntbznn',
    );
    expect(text).toBe(
      '1\ta b\tt\t2023-11-14T22:13:20.123Z\t10\t-0.5\n' +
        '2\t\\N\tf\t1970-01-01T00:00:00.000Z\t\\N\t7\n',
    );
  });

  it('is empty for no rows', () => {
    expect(copyRows([], 'nt')).toBe('');
  });
});

describe('copyEscaped', () => {
  it('escapes backslash, tab, newline and carriage return, and nothing else', () => {
    expect(copyEscaped('a\\b\tc\nd\re "f" \'g\' ,{}')).toBe('a\\\\b\\tc\\nd\\re "f" \'g\' ,{}');
    expect(copyEscaped('plain_id.1:2-3')).toBe('plain_id.1:2-3');
  });
});

describe('isoTime', () => {
  it('equals Date#toISOString for times across days, years and leap days', () => {
    const samples = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999,
      1_700_000_000_000, 1_764_000_000_123, 253_402_300_799_999,
    ];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      // A small deterministic generator: times from 1970 to 9999, and runs within one day.
      x = (x * 1_103_515_245 + 12345) % 2_147_483_648;
      samples.push(Math.floor((x / 2_147_483_648) * 253_402_300_799_999));
      samples.push(1_764_000_000_000 + x);
    }
    for (const ms of samples) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses what is not a whole millisecond from 1970 to 9999', () => {
    for (const bad of [-1, 1.5, 253_402_300_800_000, NaN, Infinity]) {
      expect(() => isoTime(bad)).toThrow(/not a whole millisecond/);
    }
  });
});
