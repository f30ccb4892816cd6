/** POST /user/new: a new user and its API key (shown only here; the engine keeps its hash). */
import { z } from 'zod';
import { route } from '../route';

export const userNew = route({
  method: 'post',
  path: '/user/new',
  tag: 'account',
  summary: 'Create a user',
  description:
    'Returns the new user id and its API key. The key is shown only in this answer; the ' +
    'exchange stores only its hash. Rate limited per IP.',
  auth: false,
  status: 201,
  body: z.strictObject({}).optional(),
  response: z.object({ userId: z.string(), apiKey: z.string() }),
  async handle({ backends }) {
    const res = await backends.engine.createUser({});
    return { userId: res.userId, apiKey: res.apiKey };
  },
});
