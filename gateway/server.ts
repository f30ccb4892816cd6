/**
 * Starts the gateway: gRPC clients of the Engine and History services, one Redis connection for
 * rate limits and health and one for pub/sub, a small Postgres pool for health, the Express app
 * and the WebSocket bridge on one HTTP server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { GatewayConfig } from '../services/lib/config';
import { engineClient, historyClient } from '../services/lib/grpc/clients';
import type { Logger } from '../services/lib/logger';
import { redisKeys } from '../services/lib/redis-keys';
import { RedisManager } from '../services/lib/redis-manager';
import { createApp, limit } from './app';
import { expressServer } from './http-server';
import { Authenticator, LOOKUPS_PER_IP } from './auth';
import { GatewayMetrics } from './metrics';
import { OrderBatcher } from './order-batcher';
import { OrderStream } from './order-stream';
import { RateLimiter } from './rate-limit';
import type { Backends, HealthReport } from './route';
import { WsBridge } from './ws-bridge';

/** Deadline of the gateway's gRPC calls. */
const CALL_DEADLINE_MS = 5_000;
const HEALTH_TIMEOUT_MS = 2_000;

export interface GatewayHandle {
  readonly port: number;
  readonly server: Server;
  readonly ws: WsBridge;
  stop(): Promise<void>;
}

/** 'ok', or 'unavailable' (the reason is logged, never shown to the caller). */
async function check(name: string, what: Promise<unknown>, log: Logger): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)),
      HEALTH_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([what, timeout]);
    return 'ok';
  } catch (err) {
    log.warn({ err, dependency: name }, 'health check failed');
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

export async function startGateway(config: GatewayConfig, log: Logger): Promise<GatewayHandle> {
  const keys = redisKeys(config.REDIS_PREFIX);
  const redis = await RedisManager.connect(config.REDIS_URL, {
    name: 'gateway',
    autoPipelining: true,
  });
  const subscriber = await RedisManager.connect(config.REDIS_URL, { name: 'gateway:sub' });
  const engine = engineClient(config.ENGINE_ADDR, CALL_DEADLINE_MS);
  const history = historyClient(config.HISTORY_ADDR, CALL_DEADLINE_MS);
  const db = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: 1,
    idleTimeoutMillis: 10_000,
  });
  db.on('error', (err) => log.warn({ err }, 'postgres health connection failed'));

  const orders = new OrderStream(engine.raw, CALL_DEADLINE_MS);
  const batcher = new OrderBatcher(orders);
  const backends: Backends = {
    engine,
    history,
    placeOrder: (request) => batcher.place(request),
    async health(): Promise<HealthReport> {
      const [e, h, r, p] = await Promise.all([
        check('engine', engine.getMarkets({}, { deadline: Date.now() + HEALTH_TIMEOUT_MS }), log),
        check('history', history.getTickers({}, { deadline: Date.now() + HEALTH_TIMEOUT_MS }), log),
        check('redis', redis.client.ping(), log),
        check('postgres', db.query('SELECT 1'), log),
      ]);
      const checks = { engine: e, history: h, redis: r, postgres: p };
      return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
    },
  };
  const metrics = new GatewayMetrics();
  const limiter = new RateLimiter(redis.client, config.REDIS_PREFIX);
  const auth = new Authenticator(engine, (ip) =>
    limit(limiter, `lookup:ip:${ip}`, LOOKUPS_PER_IP, 'with unknown keys from this address'),
  );
  const app = createApp({
    backends,
    auth,
    limiter,
    metrics,
    log,
    perKey: { ratePerSec: config.RATE_LIMIT_PER_SEC, burst: config.RATE_LIMIT_PER_SEC * 2 },
    newUserPerIp: {
      ratePerSec: config.RATE_LIMIT_NEW_USER_PER_MIN / 60,
      burst: config.RATE_LIMIT_NEW_USER_PER_MIN,
    },
  });
  const server = expressServer(app);
  server.keepAliveTimeout = 65_000;
  const ws = new WsBridge({
    server,
    subscriber: subscriber.client,
    keys,
    auth,
    metrics,
    log,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, engine: config.ENGINE_ADDR, history: config.HISTORY_ADDR }, 'gateway listening');

  return {
    port,
    server,
    ws,
    async stop() {
      await ws.close();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      orders.close();
      engine.close();
      history.close();
      // Gives unspent rate-limit leases back to Redis, ahead of closing the connection.
      limiter.close();
      await Promise.all([redis.close(), subscriber.close(), db.end()]);
    },
  };
}
