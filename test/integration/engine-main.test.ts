/**
 * The engine's entry point: a bad environment and unreachable services each end the process
 * with a clear message and their own exit code instead of a stack trace or a hang.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { isolate } from '../support/stack';

const ROOT = path.resolve(__dirname, '../..');

function runEngine(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'services/engine/main.ts'],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('engine main', () => {
  it('exits 78 naming the bad setting', async () => {
    const { code, stderr } = await runEngine({
      ENGINE_PORT: 'not-a-port',
      REDIS_PREFIX: 'bad prefix',
    });
    expect(code).toBe(78);
    expect(stderr).toMatch(/ENGINE_PORT/);
    expect(stderr).toMatch(/REDIS_PREFIX/);
  });

  it('exits 69 with the command to run when Redis cannot be reached', async () => {
    const iso = isolate('main');
    const { code, stderr } = await runEngine({
      ...iso.env,
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    });
    expect(code).toBe(69);
    expect(stderr).toMatch(/cannot reach Redis/);
    expect(stderr).toMatch(/scripts\/services\.sh/);
  });

  it('exits 69 when Postgres cannot be reached', async () => {
    const iso = isolate('main');
    try {
      const { code, stderr } = await runEngine({
        ...iso.env,
        DATABASE_URL: `postgresql://postgres@127.0.0.1:${await closedPort()}/exchange`,
      });
      expect(code).toBe(69);
      expect(stderr).toMatch(/cannot reach Postgres/);
    } finally {
      await iso.cleanup();
    }
  });
});
