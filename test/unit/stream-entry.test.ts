/**
 * The benches' stream sender reads of each OrderEntry answer only its request id and whether it
 * is an error, from the bytes. Checked against answers the generated code encodes.
 */
import { OrderEntryResponse } from '../../gen/exchange/v1/engine';
import { Order } from '../../gen/exchange/v1/common';
import { readAnswer } from '../../bench/support/stream-entry';

const encode = (m: OrderEntryResponse) => OrderEntryResponse.encode(m).finish();

describe('readAnswer', () => {
  it('reads the request id and the kind of every answer', () => {
    const order = Order.fromPartial({ orderId: '7', userId: 'u'.repeat(36), market: 'SOL_USDC' });
    expect(
      readAnswer(
        encode({ requestId: '123', result: { $case: 'placed', value: { order, fills: [] } } }),
      ),
    ).toEqual({ requestId: '123', error: false });
    expect(
      readAnswer(
        encode({ requestId: 'x'.repeat(300), result: { $case: 'cancelled', value: { order } } }),
      ),
    ).toEqual({ requestId: 'x'.repeat(300), error: false });
    expect(
      readAnswer(
        encode({
          requestId: 'ünï',
          result: { $case: 'error', value: { code: 'E', message: 'm', grpcCode: 3 } },
        }),
      ),
    ).toEqual({ requestId: 'ünï', error: true });
    // An empty id is left out of the bytes.
    expect(
      readAnswer(
        encode({
          requestId: '',
          result: { $case: 'error', value: { code: 'E', message: '', grpcCode: 0 } },
        }),
      ),
    ).toEqual({ requestId: '', error: true });
  });

  it('refuses a truncated answer', () => {
    const bytes = encode({ requestId: 'abcdef', result: undefined });
    expect(() => readAnswer(bytes.subarray(0, 4))).toThrow(/truncated/);
  });
});
