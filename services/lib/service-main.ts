/**
 * The entry point every service shares: read the environment, start, and shut down gracefully
 * on SIGTERM/SIGINT. Exits 78 on a bad configuration and 69 when Redis or Postgres cannot be
 * reached, each with a clear message instead of a stack trace.
 */
import type { z } from 'zod';
import { ConfigError, EXIT_CONFIG, EXIT_UNAVAILABLE, loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { PostgresUnavailable } from './postgres-manager';
import { RedisUnavailable } from './redis-manager';

export interface RunningService {
  stop(): Promise<void>;
  /** Resolves if the service dies on its own; the process then exits 1 to be restarted. */
  readonly fatal?: Promise<Error>;
}

export async function runService<S extends z.ZodTypeAny>(
  name: string,
  schema: S,
  start: (config: z.infer<S>, log: Logger) => Promise<RunningService>,
): Promise<void> {
  let config: z.infer<S>;
  try {
    config = loadConfig(schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${name}: ${err.message}`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger(name, (config as { LOG_LEVEL?: string }).LOG_LEVEL);
  let service: RunningService;
  try {
    service = await start(config, log);
  } catch (err) {
    if (err instanceof RedisUnavailable || err instanceof PostgresUnavailable) {
      console.error(`${name}: ${err.message}`);
      console.error(
        `${name}: start the local services with \`bash scripts/services.sh\` (or \`docker compose up -d redis postgres\`)`,
      );
      process.exit(EXIT_UNAVAILABLE);
    }
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    // Ctrl-C in a terminal reaches every process of the group, and a supervisor may add a
    // SIGTERM: stop once.
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  void service.fatal?.then(() => process.exit(1));
}
