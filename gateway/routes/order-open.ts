/** GET /order/open: the caller's open orders, optionally in one market. */
import { z } from 'zod';
import { orderJson } from '../mapping';
import { route } from '../route';
import { marketSymbol, OrderSchema } from '../schemas';

export const orderOpen = route({
  method: 'get',
  path: '/order/open',
  tag: 'orders',
  summary: 'Open orders',
  auth: true,
  query: z.strictObject({ market: marketSymbol.optional() }),
  response: z.array(OrderSchema),
  async handle({ userId, query, backends }) {
    const res = await backends.engine.getOpenOrders({ userId, market: query.market });
    return res.orders.map(orderJson);
  },
});
