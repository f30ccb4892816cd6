/** GET /order: one of the caller's orders, open or closed. */
import { status } from '@grpc/grpc-js';
import { isServiceError } from '../errors';
import { orderJson } from '../mapping';
import { route } from '../route';
import { OrderSchema } from '../schemas';
import { orderRef, orderRefSchema } from './order-ref';

export const orderGet = route({
  method: 'get',
  path: '/order',
  tag: 'orders',
  summary: 'One order',
  description:
    'By `orderId` or by `clientOrderId` (the newest of your orders placed with it, open or ' +
    'closed). An order of another user is 404, as is an id that does not exist.',
  auth: true,
  query: orderRefSchema,
  response: OrderSchema,
  async handle({ userId, query, backends }) {
    const ref = orderRef(query);
    try {
      const res = await backends.engine.getOrder({ userId, orderRef: ref });
      if (res.order !== undefined) return orderJson(res.order);
    } catch (err) {
      // The engine keeps recently closed orders only; older ones are in the history.
      if (!(isServiceError(err) && err.code === status.NOT_FOUND)) throw err;
    }
    const res = await backends.history.getOrder({
      userId,
      orderId: ref.$case === 'orderId' ? ref.value : '',
      clientOrderId: ref.$case === 'clientOrderId' ? ref.value : '',
    });
    if (res.order === undefined) throw new Error('history answered GetOrder without an order');
    return orderJson(res.order);
  },
});
