/** GET /trades: a market's recent trades, newest first. */
import { z } from 'zod';
import { tradeJson } from '../mapping';
import { route } from '../route';
import { limitParam, marketSymbol, TradeSchema } from '../schemas';

export const trades = route({
  method: 'get',
  path: '/trades',
  tag: 'public',
  summary: 'Recent trades of a market',
  auth: false,
  query: z.strictObject({ market: marketSymbol, limit: limitParam(1000) }),
  response: z.array(TradeSchema),
  async handle({ query, backends }) {
    const res = await backends.history.getMarketTrades({
      market: query.market,
      limit: query.limit ?? 100,
    });
    return res.trades.map(tradeJson);
  },
});
