/**
 * Configuration of every service, from the environment, validated once at start with zod.
 * This is the one schema: README's table of settings lists exactly these variables.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'on' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const shared = {
  /** Redis for the command journal, the events stream and pub/sub. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Namespace for every Redis key and channel, so several stacks can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only')
    .default('exchange:'),
  /** Postgres for snapshots and history. */
  DATABASE_URL: z.string().default('postgresql://postgres@127.0.0.1:5432/exchange'),
  /** Schema inside the database (tests use one of their own). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase SQL identifier')
    .default('public'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const engineConfigSchema = z.object({
  ...shared,
  ENGINE_HOST: z.string().default('0.0.0.0'),
  ENGINE_PORT: port.default(50051),
  /** Snapshot the engine state every this many commands... */
  SNAPSHOT_EVERY_COMMANDS: z.coerce.number().int().positive().default(100_000),
  /** ...or every this many seconds, whichever comes first (only if something changed). */
  SNAPSHOT_EVERY_SECONDS: z.coerce.number().positive().default(60),
  /** Trim journal entries the snapshot before the newest covers (off keeps the whole journal). */
  JOURNAL_TRIM: bool.default(true),
});

export type EngineConfig = z.infer<typeof engineConfigSchema>;

export const historyConfigSchema = z.object({
  ...shared,
  HISTORY_HOST: z.string().default('0.0.0.0'),
  HISTORY_PORT: port.default(50052),
  /** Group commit: how long the persister lets a short read fill up (0: off). */
  HISTORY_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(100),
  /**
   * The niceness History runs at (0-19): above 0 it yields the CPU to the engine and the gateway
   * when they want it, and catches up when they do not.
   */
  HISTORY_NICE: z.coerce.number().int().min(0).max(19).default(10),
});

export type HistoryConfig = z.infer<typeof historyConfigSchema>;

export const gatewayConfigSchema = z.object({
  REDIS_URL: shared.REDIS_URL,
  REDIS_PREFIX: shared.REDIS_PREFIX,
  /** Postgres, only to report its health at /api/v1/health (the gateway never queries it). */
  DATABASE_URL: shared.DATABASE_URL,
  LOG_LEVEL: shared.LOG_LEVEL,
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(3000),
  /** Address of the Engine service (host:port). */
  ENGINE_ADDR: z.string().default('127.0.0.1:50051'),
  /** Address of the History service (host:port). */
  HISTORY_ADDR: z.string().default('127.0.0.1:50052'),
  /** Requests per second per API key (token bucket refill; the burst is twice this). */
  RATE_LIMIT_PER_SEC: z.coerce.number().int().positive().default(500),
  /** Accounts created per minute per IP through POST /user/new. */
  RATE_LIMIT_NEW_USER_PER_MIN: z.coerce.number().int().positive().default(30),
  /** Bytes a WebSocket client may have queued before it is cut off. */
  WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const marketMakerConfigSchema = z.object({
  LOG_LEVEL: shared.LOG_LEVEL,
  ENGINE_ADDR: z.string().default('127.0.0.1:50051'),
  /** Quote refresh period of the market maker, in milliseconds. */
  MM_REFRESH_MS: z.coerce.number().int().positive().default(1000),
  /** Price levels quoted on each side of each market. */
  MM_LEVELS: z.coerce.number().int().positive().max(50).default(5),
});

export type MarketMakerConfig = z.infer<typeof marketMakerConfigSchema>;

/** Thrown for a bad environment; `main` prints it and exits with {@link EXIT_CONFIG}. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const EXIT_CONFIG = 78;
export const EXIT_UNAVAILABLE = 69;

export function loadConfig<S extends z.ZodTypeAny>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
