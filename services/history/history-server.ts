/**
 * Assembles the History service: connections, migrations, the persister and the gRPC server
 * (HistoryService, reflection, health). `startHistory` is what `main` runs and what integration
 * tests start in-process; `stop` is the graceful shutdown.
 */
import { HistoryServiceService } from '../../gen/exchange/v1/history';
import { migrate } from '../../db/migrate';
import type { HistoryConfig } from '../lib/config';
import { serveGrpc } from '../lib/grpc/server';
import type { Logger } from '../lib/logger';
import { PostgresManager } from '../lib/postgres-manager';
import { redisKeys } from '../lib/redis-keys';
import { HistoryQueries } from './history-queries';
import { createHistoryService } from './history-service';
import { Persister, type PersisterOptions } from './persister';

export const HISTORY_SERVICE_NAME = 'exchange.v1.HistoryService';

export interface HistoryHandle {
  /** The port the gRPC server listens on (useful with HISTORY_PORT=0). */
  readonly port: number;
  readonly persister: Persister;
  readonly db: PostgresManager;
  /** Graceful: stop taking calls, finish the persister's batch, close. */
  stop(): Promise<void>;
}

export async function startHistory(
  config: HistoryConfig,
  log: Logger,
  persisterOptions: PersisterOptions = {},
): Promise<HistoryHandle> {
  const db = await PostgresManager.connect({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    applicationName: 'history',
  });
  let persister: Persister | undefined;
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    persister = await Persister.create(db, config.REDIS_URL, redisKeys(config.REDIS_PREFIX), log, {
      lingerMs: config.HISTORY_LINGER_MS,
      ...persisterOptions,
    });
    persister.start();

    const grpcServer = await serveGrpc({
      name: HISTORY_SERVICE_NAME,
      definition: HistoryServiceService,
      implementation: createHistoryService({ queries: new HistoryQueries(db), log }),
      host: config.HISTORY_HOST,
      port: config.HISTORY_PORT,
    });
    const port = grpcServer.port;
    log.info({ port }, 'history serving');

    const running = persister;
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        await grpcServer.shutdown();
        await running.stop();
        await db.close();
        log.info('history stopped');
      })());
    return { port, persister, db, stop };
  } catch (err) {
    await persister?.stop();
    await db.close();
    throw err;
  }
}
