/** GET /tickers and GET /ticker: 24h statistics of every market or of one. */
import { z } from 'zod';
import { ApiError } from '../errors';
import { tickerJson } from '../mapping';
import { route } from '../route';
import { marketSymbol, TickerSchema } from '../schemas';

export const tickers = route({
  method: 'get',
  path: '/tickers',
  tag: 'public',
  summary: '24h tickers of every market',
  auth: false,
  query: z.strictObject({}),
  response: z.array(TickerSchema),
  async handle({ backends }) {
    const res = await backends.history.getTickers({});
    return res.tickers.map(tickerJson);
  },
});

export const ticker = route({
  method: 'get',
  path: '/ticker',
  tag: 'public',
  summary: '24h ticker of one market',
  auth: false,
  query: z.strictObject({ market: marketSymbol }),
  response: TickerSchema,
  async handle({ query, backends }) {
    const res = await backends.history.getTickers({ market: query.market });
    const t = res.tickers[0];
    if (t === undefined) throw new ApiError(400, 'UNKNOWN_MARKET', `no market ${query.market}`);
    return tickerJson(t);
  },
});
