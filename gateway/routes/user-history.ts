/** GET /user/order and GET /user/trades: the caller's order and fill history, newest first. */
import { z } from 'zod';
import { fillJson, orderJson } from '../mapping';
import { route } from '../route';
import { FillSchema, limitParam, marketSymbol, OrderSchema } from '../schemas';

const query = z.strictObject({
  market: marketSymbol.optional(),
  limit: limitParam(1000),
  cursor: z.string().max(200).optional(),
});

const cursorNote = 'Pass `nextCursor` back as `cursor` for the next page; null means no more.';

export const userOrders = route({
  method: 'get',
  path: '/user/order',
  tag: 'account',
  summary: 'Order history',
  description: `The caller's orders, newest first, optionally in one market. ${cursorNote}`,
  auth: true,
  query,
  response: z.object({ orders: z.array(OrderSchema), nextCursor: z.string().nullable() }),
  async handle({ userId, query, backends }) {
    const res = await backends.history.getOrderHistory({
      userId,
      market: query.market,
      limit: query.limit ?? 100,
      cursor: query.cursor,
    });
    return { orders: res.orders.map(orderJson), nextCursor: res.nextCursor ?? null };
  },
});

export const userTrades = route({
  method: 'get',
  path: '/user/trades',
  tag: 'account',
  summary: 'Trade history (fills)',
  description: `The caller's fills, newest first, optionally in one market. ${cursorNote}`,
  auth: true,
  query,
  response: z.object({ fills: z.array(FillSchema), nextCursor: z.string().nullable() }),
  async handle({ userId, query, backends }) {
    const res = await backends.history.getUserTrades({
      userId,
      market: query.market,
      limit: query.limit ?? 100,
      cursor: query.cursor,
    });
    return { fills: res.fills.map(fillJson), nextCursor: res.nextCursor ?? null };
  },
});
