/**
 * The migration runner as a one-shot command (`node --import tsx db/migrate-main.ts`), for the
 * compose file's `migrate` service: applies what is missing to DATABASE_URL / DATABASE_SCHEMA and
 * exits 0. The engine and history services run the same migrations on start under the same
 * advisory lock, so running this first is an ordering convenience, never a requirement.
 * Exits 78 on a bad configuration and 69 when Postgres cannot be reached, like every service.
 */
import {
  ConfigError,
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  engineConfigSchema,
  loadConfig,
} from '../services/lib/config';
import { createLogger } from '../services/lib/logger';
import { PostgresManager, PostgresUnavailable } from '../services/lib/postgres-manager';
import type { z } from 'zod';
import { migrate } from './migrate';

/** The variables this command reads: the services' own, from the one config schema. */
export const migrateConfigSchema = engineConfigSchema.pick({
  DATABASE_URL: true,
  DATABASE_SCHEMA: true,
  LOG_LEVEL: true,
});

async function main(): Promise<number> {
  let config: z.infer<typeof migrateConfigSchema>;
  try {
    config = loadConfig(migrateConfigSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`migrate: ${err.message}`);
    return EXIT_CONFIG;
  }
  const log = createLogger('migrate', config.LOG_LEVEL);
  let db: PostgresManager;
  try {
    db = await PostgresManager.connect({
      url: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      max: 1,
      applicationName: 'migrate',
    });
  } catch (err) {
    if (!(err instanceof PostgresUnavailable)) throw err;
    console.error(`migrate: ${err.message}`);
    return EXIT_UNAVAILABLE;
  }
  try {
    const applied = await migrate(db);
    log.info({ schema: config.DATABASE_SCHEMA, applied }, 'migrations up to date');
    return 0;
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
