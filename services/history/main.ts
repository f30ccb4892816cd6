/**
 * History service entry point: reads the environment, starts, and shuts down gracefully on
 * SIGTERM/SIGINT. Exits 78 on a bad configuration, 69 when Redis or Postgres cannot be reached.
 * The persister retries a failed batch from its pending entries, so it has no fatal exit of its own.
 */
import {
  ConfigError,
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  historyConfigSchema,
  loadConfig,
} from '../lib/config';
import { createLogger } from '../lib/logger';
import { PostgresUnavailable } from '../lib/postgres-manager';
import { RedisUnavailable } from '../lib/redis-manager';
import { startHistory } from './history-server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(historyConfigSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`history: ${err.message}`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger('history', config.LOG_LEVEL);
  let history;
  try {
    history = await startHistory(config, log);
  } catch (err) {
    if (err instanceof RedisUnavailable || err instanceof PostgresUnavailable) {
      console.error(`history: ${err.message}`);
      console.error(
        'history: start the local services with `bash scripts/services.sh` (or `docker compose up -d redis postgres`)',
      );
      process.exit(EXIT_UNAVAILABLE);
    }
    throw err;
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    history.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
