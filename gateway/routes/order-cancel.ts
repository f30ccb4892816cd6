/** DELETE /order: cancel one open order; DELETE /orders: cancel all (in one market or all). */
import { z } from 'zod';
import { orderJson } from '../mapping';
import { route } from '../route';
import { marketSymbol, OrderSchema } from '../schemas';
import { orderRef, orderRefSchema } from './order-ref';

export const orderCancel = route({
  method: 'delete',
  path: '/order',
  tag: 'orders',
  summary: 'Cancel an order',
  description:
    'The order is named by `orderId` or `clientOrderId`, in the query string or in a JSON body. ' +
    'Answers the cancelled order; its locked funds are released.',
  auth: true,
  query: orderRefSchema,
  body: orderRefSchema.optional(),
  response: OrderSchema,
  async handle({ userId, query, body, backends }) {
    const res = await backends.engine.cancelOrder({ userId, orderRef: orderRef(query, body) });
    if (res.order === undefined) throw new Error('engine answered CancelOrder without an order');
    return orderJson(res.order);
  },
});

export const ordersCancelAll = route({
  method: 'delete',
  path: '/orders',
  tag: 'orders',
  summary: 'Cancel all open orders',
  description:
    'In one market when `market` is given, else in every market. Answers the cancelled orders.',
  auth: true,
  query: z.strictObject({ market: marketSymbol.optional() }),
  response: z.array(OrderSchema),
  async handle({ userId, query, backends }) {
    const res = await backends.engine.cancelAllOrders({ userId, market: query.market });
    return res.orders.map(orderJson);
  },
});
