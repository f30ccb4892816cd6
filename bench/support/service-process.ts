/**
 * Child processes for benchmarks that run several services at once: start a TypeScript entry
 * point under `node --import tsx` (with extra node flags, e.g. to profile it), wait until it is
 * ready, and stop it gracefully with a hard kill as the fallback. Every child started here is
 * killed when the bench process exits, whatever the reason.
 *
 * BENCH_CHILD_LOG_DIR=<dir> keeps each child's stdout in <dir>/<name>-<pid>.log (with
 * `--trace-gc`, say, in the child's node flags).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Kills `child` (SIGKILL) if it is still running when this process exits. */
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
}

export interface ServiceSpec {
  readonly name: string;
  /** Entry point, relative to the repository root (or to `cwd`). */
  readonly script: string;
  /** Another checkout to run the entry point from (an A/B of two trees); default this one. */
  readonly cwd?: string;
  readonly env: Record<string, string>;
  /** Node flags before `--import tsx`, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  readonly nodeArgs?: readonly string[];
  /**
   * The port from a JSON line of the child's stdout, or undefined if that line is not the ready
   * signal. Without it the caller passes a port in `env` and `readyPort` says which.
   */
  readonly readyFromLog?: (entry: Record<string, unknown>) => number | undefined;
  /** With a known port: resolves once the service answers (polled until `timeoutMs`). */
  readonly readyProbe?: () => Promise<boolean>;
  readonly readyPort?: number;
  readonly timeoutMs?: number;
}

/** Node flags from an environment variable holding a space-separated list. */
export function nodeArgsFrom(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter((a) => a !== '');
}

/** A TCP port that was free a moment ago (for services that only log their port at info). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startServiceProcess(spec: ServiceSpec): Promise<ServiceProcess> {
  const logDir = process.env.BENCH_CHILD_LOG_DIR || undefined;
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [...(spec.nodeArgs ?? []), '--import', 'tsx', spec.script],
    {
      cwd: spec.cwd ?? ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  killOnExit(child);
  const timeoutMs = spec.timeoutMs ?? 30_000;
  // Read every line, ready or not, so a chatty child never blocks on a full pipe.
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  if (logDir !== undefined) {
    const out = createWriteStream(`${logDir}/${spec.name}-${child.pid}.log`);
    out.on('error', (err) => console.error(`${spec.name}: its log: ${err.message}`));
    lines.on('line', (line) => out.write(line + '\n'));
    lines.once('close', () => out.end());
  }
  let settled = false;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const finish = (err: Error | null, port = 0) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === null) resolve(port);
        else reject(err);
      };
      const timer = setTimeout(
        () => finish(new Error(`${spec.name} not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', (code) =>
        finish(new Error(`${spec.name} exited with ${code} before it was ready`)),
      );
      lines.on('line', (line) => {
        if (settled || spec.readyFromLog === undefined) return;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        const port = spec.readyFromLog(entry);
        if (port !== undefined) finish(null, port);
      });
      const probe = spec.readyProbe;
      if (probe !== undefined) {
        const poll = () => {
          if (settled) return;
          probe().then(
            (ok) => (ok ? finish(null, spec.readyPort ?? 0) : setTimeout(poll, 100)),
            () => setTimeout(poll, 100),
          );
        };
        poll();
      }
    });
    return { name: spec.name, child, port };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** SIGTERM (graceful: lets a --cpu-prof child write its profile), then SIGKILL after `graceMs`. */
export function stopServiceProcess(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}
