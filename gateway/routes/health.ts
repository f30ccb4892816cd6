/** GET /health: 200 only when the engine, history, Redis and Postgres all answer. */
import { z } from 'zod';
import { ApiError } from '../errors';
import { route } from '../route';

export const health = route({
  method: 'get',
  path: '/health',
  tag: 'system',
  summary: 'Health of the stack',
  description: '200 only when the engine, the history service, Redis and Postgres all answer.',
  auth: false,
  response: z.object({ status: z.literal('ok'), checks: z.record(z.string(), z.string()) }),
  async handle({ backends }) {
    const report = await backends.health();
    if (!report.ok) {
      const failing = Object.entries(report.checks)
        .filter(([, v]) => v !== 'ok')
        .map(([k, v]) => `${k}: ${v}`);
      throw new ApiError(503, 'UNAVAILABLE', `unhealthy: ${failing.join('; ')}`);
    }
    return { status: 'ok', checks: report.checks };
  },
});
