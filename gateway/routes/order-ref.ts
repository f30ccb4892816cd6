/** The two ways a request names one of the caller's orders: orderId or clientOrderId. */
import { z } from 'zod';
import { badRequest } from '../errors';
import { clientOrderIdString, idString } from '../schemas';

export const orderRefSchema = z.strictObject({
  orderId: idString.optional(),
  clientOrderId: clientOrderIdString.optional(),
});

export type OrderRefInput = z.output<typeof orderRefSchema>;

/** As the generated oneof (`oneof=unions-value`). */
export type OrderRef =
  { $case: 'orderId'; value: string } | { $case: 'clientOrderId'; value: string };

/** Exactly one reference across the given inputs (query and body), else 400. */
export function orderRef(...inputs: (OrderRefInput | undefined)[]): OrderRef {
  const ids = inputs.flatMap((i) => (i?.orderId === undefined ? [] : [i.orderId]));
  const cids = inputs.flatMap((i) => (i?.clientOrderId === undefined ? [] : [i.clientOrderId]));
  if (ids.length + cids.length !== 1) {
    throw badRequest(
      'INVALID_REQUEST',
      'name the order by exactly one of orderId and clientOrderId',
    );
  }
  return ids.length === 1
    ? { $case: 'orderId', value: ids[0] }
    : { $case: 'clientOrderId', value: cids[0] };
}
