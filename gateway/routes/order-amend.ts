/** PATCH /order: reduce an open order's quantity; it keeps its place in the queue. */
import { z } from 'zod';
import { orderJson } from '../mapping';
import { route } from '../route';
import { idString, OrderSchema, positiveDecimal } from '../schemas';

export const orderAmend = route({
  method: 'patch',
  path: '/order',
  tag: 'orders',
  summary: 'Amend an order (quantity down)',
  description:
    '`quantity` is the new total quantity, below the current one and above what is filled. The ' +
    'difference is unlocked; the order keeps its time priority.',
  auth: true,
  body: z.strictObject({ orderId: idString, quantity: positiveDecimal }),
  response: OrderSchema,
  async handle({ userId, body, backends }) {
    const res = await backends.engine.amendOrder({
      userId,
      orderId: body.orderId,
      newQuantity: body.quantity,
    });
    if (res.order === undefined) throw new Error('engine answered AmendOrder without an order');
    return orderJson(res.order);
  },
});
