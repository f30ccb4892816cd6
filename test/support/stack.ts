/**
 * Isolation for integration tests: each test run gets its own Redis key prefix and its own
 * Postgres schema, and removes both afterwards. Services are started in-process on port 0.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { engineConfigSchema, type EngineConfig } from '../../services/lib/config';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/exchange_test';

export interface Isolation {
  readonly prefix: string;
  readonly schema: string;
  /** Environment variables that point a service at this isolation. */
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

export function isolate(name: string): Isolation {
  const id = `${name}_${randomBytes(4).toString('hex')}`;
  const prefix = `test:${id}:`;
  const schema = `t_${id}`.toLowerCase();
  return {
    prefix,
    schema,
    env: {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      LOG_LEVEL: 'warn',
    },
    async cleanup() {
      await deleteKeys(prefix);
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export function engineConfig(iso: Isolation, overrides: Record<string, string> = {}): EngineConfig {
  return engineConfigSchema.parse({
    ...iso.env,
    ENGINE_HOST: '127.0.0.1',
    ENGINE_PORT: '0',
    ...overrides,
  });
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
