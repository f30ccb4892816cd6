/**
 * Engine service entry point: reads the environment, starts, and shuts down gracefully on
 * SIGTERM/SIGINT. Exits 78 on a bad configuration, 69 when Redis or Postgres cannot be reached,
 * 1 if the matching loop dies (a supervisor restarts it; recovery replays the journal).
 */
import {
  ConfigError,
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  engineConfigSchema,
  loadConfig,
} from '../lib/config';
import { createLogger } from '../lib/logger';
import { PostgresUnavailable } from '../lib/postgres-manager';
import { RedisUnavailable } from '../lib/redis-manager';
import { startEngine } from './engine-server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(engineConfigSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`engine: ${err.message}`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger('engine', config.LOG_LEVEL);
  let engine;
  try {
    engine = await startEngine(config, log);
  } catch (err) {
    if (err instanceof RedisUnavailable || err instanceof PostgresUnavailable) {
      console.error(`engine: ${err.message}`);
      console.error(
        'engine: start the local services with `bash scripts/services.sh` (or `docker compose up -d redis postgres`)',
      );
      process.exit(EXIT_UNAVAILABLE);
    }
    throw err;
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    engine.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  void engine.fatal.then(() => process.exit(1));
}

void main();
