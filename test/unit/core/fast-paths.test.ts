/**
 * The number fast paths of the core's integer arithmetic give exactly what the bigint formulas
 * give, on both sides of the safe-integer bound.
 */
import fc from 'fast-check';
import { createDefaultCore } from '../../../services/engine/core';
import { BalanceSheet } from '../../../services/engine/core/balance-sheet';
import { MAX_LOTS, bigIntOf } from '../../../services/engine/core/units';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const core = createDefaultCore();
const markets = ['SOL_USDC', 'BTC_USDC', 'ETH_USDC'].map((m) => core.market(m));

/** Amounts around the interesting bounds as well as anywhere. */
const amount = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 6n }),
  fc.bigInt({ min: 0n, max: MAX_SAFE * 4n }),
  fc.bigInt({ min: MAX_SAFE - 10n ** 6n, max: MAX_SAFE + 10n ** 6n }),
  fc.bigInt({ min: 0n, max: 10n ** 30n }),
);

describe('number fast paths', () => {
  it('bigIntOf equals BigInt for every safe integer, on both sides of the int32 bounds', () => {
    for (const n of [0, -0, 1, -1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1]) {
      expect(bigIntOf(n)).toBe(BigInt(n));
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -(2 ** 31) - 10, max: 2 ** 31 + 10 }),
          fc.integer({ min: 2 ** 31 - 10, max: 2 ** 31 + 10 }),
          fc.maxSafeInteger(),
        ),
        (n) => expect(bigIntOf(n)).toBe(BigInt(n)),
      ),
      { numRuns: 5000 },
    );
  });

  it('lotsWithin equals the bigint formula', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        amount,
        fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 1e12 })),
        (m, budget, price) => {
          const market = markets[m];
          const exact = ((budget + 1n) * market.unitDen - 1n) / (BigInt(price) * market.unitNum);
          const expected = exact > BigInt(MAX_LOTS) ? MAX_LOTS : Number(exact);
          expect(market.lotsWithin(budget, price)).toBe(expected);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('lotsIn equals bigint division', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), amount, (m, held) => {
        const market = markets[m];
        expect(market.lotsIn(held)).toBe(Number(held / market.lotMinor));
      }),
      { numRuns: 5000 },
    );
  });

  it('fees summed in numbers equal the bigint sum, across MAX_SAFE_INTEGER', () => {
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 60 }), (fees) => {
        const sheet = new BalanceSheet();
        sheet.addAsset('USDC', 6);
        let expected = 0n;
        for (const fee of fees) {
          sheet.collectFee(0, fee, fee <= MAX_SAFE ? Number(fee) : -1);
          expected += fee;
          if (fee % 7n === 0n) expect(sheet.fees[0]).toBe(expected);
        }
        expect(sheet.fees[0]).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
