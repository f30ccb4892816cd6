/**
 * The whole exchange as separate child processes for the end-to-end bench: engine, history and
 * gateway on their own Redis prefix and Postgres schema, plus the bare Express ceiling twice
 * (served as `app.listen` serves it, and on the gateway's HTTP server). `stop` ends them
 * gracefully (so a profiled child writes its profile) and removes the Redis keys and the schema;
 * it is safe to call after a partial start.
 */
import { redisKeys } from '../../services/lib/redis-keys';
import { RedisManager } from '../../services/lib/redis-manager';
import { startEngineProcess, benchEnv, cleanupBenchEnv } from '../support/engine-process';
import {
  freePort,
  killOnExit,
  nodeArgsFrom,
  startServiceProcess,
  stopServiceProcess,
  type ServiceProcess,
} from '../support/service-process';

export interface E2eStack {
  readonly env: Record<string, string>;
  readonly engineAddr: string;
  readonly historyAddr: string;
  /** http://127.0.0.1:port of the gateway. */
  readonly gatewayUrl: string;
  /** http://127.0.0.1:port of the bare Express app, served as `app.listen` serves it. */
  readonly ceilingUrl: string;
  /** http://127.0.0.1:port of the same app on the gateway's HTTP server. */
  readonly builtCeilingUrl: string;
  /** Process ids of the children, by name (engine, history, gateway, express, express-built). */
  readonly pids: Record<string, number | undefined>;
  stop(): Promise<void>;
}

const portFromLog =
  (msg: string) =>
  (entry: Record<string, unknown>): number | undefined =>
    entry.msg === msg ? Number(entry.port) : undefined;

async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.status === 200;
}

/** The settings of a bench gateway: quiet logs, limits out of the way. */
export function gatewayEnv(
  env: Record<string, string>,
  engineAddr: string,
  historyAddr: string,
  port: number,
): Record<string, string> {
  return {
    REDIS_URL: env.REDIS_URL,
    REDIS_PREFIX: env.REDIS_PREFIX,
    DATABASE_URL: env.DATABASE_URL,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    ENGINE_ADDR: engineAddr,
    HISTORY_ADDR: historyAddr,
    RATE_LIMIT_PER_SEC: '1000000000',
    RATE_LIMIT_NEW_USER_PER_MIN: '100000',
  };
}

export async function startE2eStack(): Promise<E2eStack> {
  const env = benchEnv('e2e');
  const started: ServiceProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Front to back: nothing calls a service that has already gone.
    for (const p of started.reverse()) await stopServiceProcess(p.child);
    await cleanupBenchEnv(env);
  };
  try {
    const engine = await startEngineProcess(env);
    killOnExit(engine.child);
    started.push({ name: 'engine', child: engine.child, port: engine.port });
    const engineAddr = `127.0.0.1:${engine.port}`;
    const history = await startServiceProcess({
      name: 'history',
      script: 'services/history/main.ts',
      env: { ...env, HISTORY_HOST: '127.0.0.1', HISTORY_PORT: '0' },
      // BENCH_HISTORY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles History.
      nodeArgs: nodeArgsFrom('BENCH_HISTORY_NODE_ARGS'),
      readyFromLog: portFromLog('history serving'),
    });
    started.push(history);
    // At LOG_LEVEL=warn the gateway does not log its port: give it one, and poll its health.
    const gatewayPort = await freePort();
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const gateway = await startServiceProcess({
      name: 'gateway',
      script: 'gateway/main.ts',
      env: gatewayEnv(env, engineAddr, `127.0.0.1:${history.port}`, gatewayPort),
      // BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway.
      nodeArgs: nodeArgsFrom('BENCH_GATEWAY_NODE_ARGS'),
      readyProbe: () => answers(`${gatewayUrl}/api/v1/health`),
      readyPort: gatewayPort,
    });
    started.push(gateway);
    const ceiling = await startServiceProcess({
      name: 'express-ceiling',
      script: 'bench/e2e/express-ceiling.ts',
      env: { PORT: '0' },
      // BENCH_EXPRESS_NODE_ARGS: the same for the bare Express app (the ceiling).
      nodeArgs: nodeArgsFrom('BENCH_EXPRESS_NODE_ARGS'),
      readyFromLog: portFromLog('listening'),
    });
    started.push(ceiling);
    const builtCeiling = await startServiceProcess({
      name: 'express-built',
      script: 'bench/e2e/express-ceiling.ts',
      env: { PORT: '0', CEILING_SERVER: 'built' },
      // BENCH_EXPRESS_BUILT_NODE_ARGS: the same for it on the gateway's server.
      nodeArgs: nodeArgsFrom('BENCH_EXPRESS_BUILT_NODE_ARGS'),
      readyFromLog: portFromLog('listening'),
    });
    started.push(builtCeiling);
    return {
      env,
      engineAddr,
      historyAddr: `127.0.0.1:${history.port}`,
      pids: {
        engine: engine.child.pid,
        history: history.child.pid,
        gateway: gateway.child.pid,
        express: ceiling.child.pid,
        'express-built': builtCeiling.child.pid,
      },
      gatewayUrl,
      ceilingUrl: `http://127.0.0.1:${ceiling.port}`,
      builtCeilingUrl: `http://127.0.0.1:${builtCeiling.port}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits until History has persisted every event in the stack's events stream (nothing pending,
 * the newest entry delivered), so that a phase does not start while the one before it still
 * has work queued; resolves with the seconds it waited. Gives up after `timeoutMs`.
 */
export async function historyCaughtUp(stack: E2eStack, timeoutMs = 120_000): Promise<number> {
  const keys = redisKeys(stack.env.REDIS_PREFIX);
  const redis = await RedisManager.connect(stack.env.REDIS_URL, { name: 'bench' });
  const started = performance.now();
  try {
    for (;;) {
      const [newest, group] = await Promise.all([
        redis.last(keys.events),
        redis.group(keys.events, keys.historyGroup),
      ]);
      const caughtUp =
        newest === undefined ||
        (Number(group?.pending) === 0 && group?.['last-delivered-id'] === newest.id);
      if (caughtUp) break;
      if (performance.now() - started > timeoutMs) {
        throw new Error(`History did not catch up with the events stream in ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await redis.close();
  }
  return (performance.now() - started) / 1000;
}
