/**
 * Assembles the Engine service: connections, migrations, recovery, the matching loop and the
 * gRPC server (EngineService, reflection, health). `startEngine` is what `main` runs and what
 * integration tests start in-process; `stop` is the graceful shutdown.
 */
import { migrate } from '../../db/migrate';
import { CommandJournal } from './command-journal';
import { createEngineService, engineServiceDefinition, OpenStreams } from './engine-service';
import { MatchingLoop, type RecoveryReport } from './matching-loop';
import { SnapshotStore } from './snapshot-store';
import type { EngineConfig } from '../lib/config';
import { serveGrpc } from '../lib/grpc/server';
import type { Logger } from '../lib/logger';
import { PostgresManager } from '../lib/postgres-manager';
import { redisKeys } from '../lib/redis-keys';
import { RedisManager } from '../lib/redis-manager';

export const ENGINE_SERVICE_NAME = 'exchange.v1.EngineService';

export interface EngineHandle {
  /** The port the gRPC server listens on (useful with ENGINE_PORT=0). */
  readonly port: number;
  readonly recovery: RecoveryReport;
  readonly loop: MatchingLoop;
  /** Graceful: stop taking calls, finish the batch, snapshot, close. */
  stop(): Promise<void>;
  /** Resolves if the matching loop dies (the process should exit and be restarted). */
  readonly fatal: Promise<Error>;
}

export async function startEngine(config: EngineConfig, log: Logger): Promise<EngineHandle> {
  const redis = await RedisManager.connect(config.REDIS_URL, { name: 'engine' });
  let db: PostgresManager;
  try {
    db = await PostgresManager.connect({
      url: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      applicationName: 'engine',
    });
  } catch (err) {
    await redis.close();
    throw err;
  }
  let journalRedis: RedisManager | undefined;
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');

    const keys = redisKeys(config.REDIS_PREFIX);
    // The journal appends on a connection of its own: a blip there fails only the calls in
    // flight (outcome unknown), never the loop's reads and writes.
    journalRedis = await RedisManager.connect(config.REDIS_URL, { name: 'engine:journal' });
    const journal = new CommandJournal(journalRedis, keys.commands);
    const loop = new MatchingLoop(redis, keys, journal, new SnapshotStore(db), log, {
      snapshotEveryCommands: config.SNAPSHOT_EVERY_COMMANDS,
      snapshotEverySeconds: config.SNAPSHOT_EVERY_SECONDS,
      trimJournal: config.JOURNAL_TRIM,
    });
    const recovery = await loop.recover();
    log.info(recovery, 'state recovered');
    let reportFatal: (err: Error) => void = () => undefined;
    const fatal = new Promise<Error>((resolve) => (reportFatal = resolve));
    loop.start(reportFatal);

    const streams = new OpenStreams();
    const grpcServer = await serveGrpc({
      name: ENGINE_SERVICE_NAME,
      definition: engineServiceDefinition,
      implementation: createEngineService({ journal, loop, redis, keys, log, streams }),
      host: config.ENGINE_HOST,
      port: config.ENGINE_PORT,
      serverOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    });
    const port = grpcServer.port;
    log.info({ port }, 'engine serving');

    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        journal.close();
        // Let calls in flight finish (their commands are journaled and will be applied), and end
        // the order streams once they have answered what they took (the server waits for every
        // open call, and a client's order stream does not end on its own) ...
        await streams.endAll();
        await grpcServer.shutdown();
        // ... then finish the batch and snapshot.
        await loop.stop();
        await journalRedis?.close();
        await redis.close();
        await db.close();
        log.info('engine stopped');
      })());
    return { port, recovery, loop, stop, fatal };
  } catch (err) {
    await journalRedis?.close();
    await redis.close();
    await db.close();
    throw err;
  }
}
