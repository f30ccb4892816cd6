/** GET /markets: every market and its rules. */
import { z } from 'zod';
import { marketJson } from '../mapping';
import { route } from '../route';
import { MarketSchema } from '../schemas';

export const markets = route({
  method: 'get',
  path: '/markets',
  tag: 'public',
  summary: 'Markets and their rules',
  auth: false,
  response: z.array(MarketSchema),
  async handle({ backends }) {
    const res = await backends.engine.getMarkets({});
    return res.markets.map(marketJson);
  },
});
