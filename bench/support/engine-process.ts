/**
 * Runs the Engine service as a child process (its own Redis prefix and Postgres schema) for
 * benchmarks, and reads its structured log for readiness and recovery figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';

const ROOT = path.resolve(__dirname, '../..');

export interface EngineProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The 'state recovered' log line. */
  readonly recovery: { replayedCommands: number; ms: number; fromSnapshot: boolean };
}

export function benchEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  const id = `${name}_${randomBytes(3).toString('hex')}`;
  return {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench:${id}:`,
    DATABASE_URL:
      process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/exchange_bench',
    DATABASE_SCHEMA: `b_${id}`,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export function startEngineProcess(env: Record<string, string>): Promise<EngineProcess> {
  // BENCH_ENGINE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the engine.
  const nodeArgs = (process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'services/engine/main.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, ENGINE_HOST: '127.0.0.1', ENGINE_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let recovery: EngineProcess['recovery'] | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not a log line: what node flags such as --trace-gc print.
        if (nodeArgs.length > 0) console.error(`engine: ${line}`);
        return;
      }
      if (entry.msg === 'state recovered') recovery = entry as unknown as EngineProcess['recovery'];
      if (entry.msg === 'engine serving' && recovery !== undefined)
        resolve({ child, port: Number(entry.port), recovery });
    });
    child.once('exit', (code) => reject(new Error(`engine exited with ${code} before serving`)));
  });
}

export function stopEngineProcess(
  p: EngineProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    p.child.once('exit', (code) => resolve(code));
    p.child.kill(signal);
  });
}

/** Removes what a benchmark's engine left: its Redis keys and its Postgres schema. */
export async function cleanupBenchEnv(env: Record<string, string>): Promise<void> {
  const redis = new Redis(env.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA}" CASCADE`);
  } finally {
    await client.end();
  }
}
