/** GET /depth: the top of a market's book with the update id it is current as of. */
import { z } from 'zod';
import { route } from '../route';
import { DepthSchema, limitParam, marketSymbol } from '../schemas';

export const depth = route({
  method: 'get',
  path: '/depth',
  tag: 'public',
  summary: 'Order book depth',
  description:
    'Aggregated price levels, best first. `lastUpdateId` matches the update ids of the `depth@MARKET` ' +
    'WebSocket stream: apply the updates whose lastUpdateId is greater, and resync on a gap.',
  auth: false,
  query: z.strictObject({ market: marketSymbol, limit: limitParam(1000) }),
  response: DepthSchema,
  async handle({ query, backends }) {
    const d = await backends.engine.getDepth({ market: query.market, limit: query.limit ?? 100 });
    return {
      market: d.market,
      lastUpdateId: Number(d.lastUpdateId),
      bids: d.bids.map((l) => [l.price, l.quantity]),
      asks: d.asks.map((l) => [l.price, l.quantity]),
    };
  },
});
