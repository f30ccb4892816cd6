/** GET /user: the caller's id and balances. */
import { z } from 'zod';
import { balanceJson } from '../mapping';
import { route } from '../route';
import { BalanceSchema } from '../schemas';

export const user = route({
  method: 'get',
  path: '/user',
  tag: 'account',
  summary: 'The caller and its balances',
  auth: true,
  query: z.strictObject({}),
  response: z.object({ userId: z.string(), balances: z.array(BalanceSchema) }),
  async handle({ userId, backends }) {
    const res = await backends.engine.getBalances({ userId });
    return { userId, balances: res.balances.map((b) => balanceJson(b)) };
  },
});
