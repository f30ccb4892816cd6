/**
 * The benches' batched order entry reads each PlaceOrders reply without decoding it: only how
 * many results it holds and which are errors. Checked here against replies the generated code
 * encodes, so a scan that miscounts fails.
 */
import { countResults } from '../../bench/support/batched-entry';
import { Fill, Order, OrderStatus, Side } from '../../gen/exchange/v1/common';
import { PlaceOrdersResponse, type PlaceOrderResult } from '../../gen/exchange/v1/engine';

const placed = (orderId: number, fills: number): PlaceOrderResult => ({
  result: {
    $case: 'placed',
    value: {
      order: Order.fromPartial({
        orderId: String(orderId),
        userId: 'u'.repeat(36),
        market: 'SOL_USDC',
        side: Side.SIDE_BUY,
        price: '100.25',
        quantity: '1.5',
        filledQuantity: '0.5',
        filledQuoteQuantity: '50.125',
        status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
        createdAt: String(1_700_000_000_000 + orderId),
        updatedAt: String(1_700_000_000_000 + orderId),
      }),
      fills: Array.from({ length: fills }, (_, i) =>
        Fill.fromPartial({
          tradeId: String(i + 1),
          orderId: String(orderId),
          market: 'SOL_USDC',
          price: '100.25',
          quantity: '0.5',
          quoteQuantity: '50.125',
          fee: '0.1',
          feeAsset: 'USDC',
          timestamp: '1700000000000',
        }),
      ),
    },
  },
});

const refused = (code: string): PlaceOrderResult => ({
  result: { $case: 'error', value: { code, message: `refused: ${code}`, grpcCode: 9 } },
});

const encode = (results: PlaceOrderResult[]) => PlaceOrdersResponse.encode({ results }).finish();

describe('countResults', () => {
  it('counts every result and the errors among them', () => {
    const results = [
      placed(1, 0),
      refused('INSUFFICIENT_BALANCE'),
      placed(2, 3),
      placed(3, 40), // a result longer than 127 bytes has a multi-byte length
      refused('INVALID_PRICE'),
      refused('MIN_NOTIONAL'),
    ];
    expect(countResults(encode(results))).toEqual({ results: 6, errors: 3 });
  });

  it('reads a batch of hundreds, as the benches send them', () => {
    const results = Array.from({ length: 500 }, (_, i) =>
      i % 7 === 3 ? refused('WOULD_TAKE') : placed(i + 1, i % 5),
    );
    const errors = results.filter((r) => r.result?.$case === 'error').length;
    expect(errors).toBeGreaterThan(0);
    expect(countResults(encode(results))).toEqual({ results: 500, errors });
  });

  it('counts an empty result (neither case set) as a result, not an error', () => {
    expect(countResults(encode([{ result: undefined }, placed(1, 0)]))).toEqual({
      results: 2,
      errors: 0,
    });
    expect(countResults(encode([]))).toEqual({ results: 0, errors: 0 });
  });

  it('refuses a truncated reply or one of another message', () => {
    const bytes = encode([placed(1, 2), refused('X')]);
    expect(() => countResults(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
    expect(() => countResults(Uint8Array.of(0x12, 0x00))).toThrow(/unexpected field/);
  });
});
