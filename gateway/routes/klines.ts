/** GET /klines: candles of a market for one interval, oldest first. */
import { z } from 'zod';
import { klineJson } from '../mapping';
import { route } from '../route';
import { INTERVALS } from '../../services/history/intervals';
import { intParam, KlineSchema, limitParam, marketSymbol } from '../schemas';

export const klines = route({
  method: 'get',
  path: '/klines',
  tag: 'public',
  summary: 'Candles (klines)',
  description:
    'Candles whose open time is in [startTime, endTime] (Unix ms), oldest first; the current ' +
    'candle is included while it forms. Without a range, the latest `limit` candles.',
  auth: false,
  query: z.strictObject({
    market: marketSymbol,
    interval: z.enum(INTERVALS),
    startTime: intParam(0, 8_640_000_000_000_000).optional(),
    endTime: intParam(0, 8_640_000_000_000_000).optional(),
    limit: limitParam(1000),
  }),
  response: z.array(KlineSchema),
  async handle({ query, backends }) {
    const res = await backends.history.getKlines({
      market: query.market,
      interval: query.interval,
      startTime: query.startTime === undefined ? undefined : String(query.startTime),
      endTime: query.endTime === undefined ? undefined : String(query.endTime),
      limit: query.limit ?? 500,
    });
    return res.klines.map(klineJson);
  },
});
