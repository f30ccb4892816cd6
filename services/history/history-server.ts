/**
 * Assembles the History service: connections, migrations, the persister and the gRPC server
 * (HistoryService, reflection, health). `startHistory` is what `main` runs and what integration
 * tests start in-process; `stop` is the graceful shutdown.
 */
import * as grpc from '@grpc/grpc-js';
import { HistoryServiceService } from '../../gen/exchange/v1/history';
import { migrate } from '../../db/migrate';
import type { HistoryConfig } from '../lib/config';
import { HEALTH_SERVICE_NAME, ServiceHealth, healthFileDescriptor } from '../lib/grpc/health';
import { addReflection, loadDescriptorSet } from '../lib/grpc/reflection';
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
    persister = await Persister.create(
      db,
      config.REDIS_URL,
      redisKeys(config.REDIS_PREFIX),
      log,
      persisterOptions,
    );
    persister.start();

    const server = new grpc.Server();
    server.addService(
      HistoryServiceService,
      createHistoryService({ queries: new HistoryQueries(db), log }),
    );
    const health = new ServiceHealth(HISTORY_SERVICE_NAME);
    health.addTo(server);
    addReflection(server, {
      descriptorSet: loadDescriptorSet(),
      services: [HISTORY_SERVICE_NAME, HEALTH_SERVICE_NAME],
      extraFiles: [healthFileDescriptor],
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${config.HISTORY_HOST}:${config.HISTORY_PORT}`,
        grpc.ServerCredentials.createInsecure(),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    health.setServing(true);
    log.info({ port }, 'history serving');

    const running = persister;
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        health.setServing(false);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 10_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
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
