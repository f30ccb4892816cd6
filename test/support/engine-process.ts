/**
 * The Engine service as a child process (`node --import tsx services/engine/main.ts`), for tests
 * that must stop it for real: SIGKILL at any point, SIGTERM for the graceful path. The port comes
 * from the `engine serving` log line (start it with ENGINE_PORT=0); the exit is observable, and
 * the last lines of output are kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const REPO_ROOT = path.resolve(__dirname, '../..');
const ENTRY = ['--import', 'tsx', 'services/engine/main.ts'];
/** Lines of output kept for diagnostics. */
const TAIL_LINES = 40;

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class EngineProcess {
  /** Resolves with the gRPC port once the engine serves; rejects if it exits or times out first. */
  readonly serving: Promise<number>;
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly records = new Map<string, Record<string, unknown>>();
  private exit: ProcessExit | undefined;

  private constructor(env: Record<string, string>, startTimeoutMs: number) {
    this.child = spawn(process.execPath, ENTRY, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let onServing: (port: number) => void = () => undefined;
    let onNotServing: (err: Error) => void = () => undefined;
    this.serving = new Promise<number>((resolve, reject) => {
      onServing = resolve;
      onNotServing = reject;
    });
    // Nobody need wait for `serving` (a process killed while starting never serves).
    this.serving.catch(() => undefined);
    const timer = setTimeout(
      () =>
        onNotServing(new Error(`engine not serving after ${startTimeoutMs} ms\n${this.output()}`)),
      startTimeoutMs,
    );
    timer.unref();

    const remember = (line: string) => {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    };
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      remember(line);
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof record.msg === 'string') this.records.set(record.msg, record);
      if (record.msg === 'engine serving' && typeof record.port === 'number') {
        clearTimeout(timer);
        onServing(record.port);
      }
    });
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', remember);

    this.exited = new Promise<ProcessExit>((resolve) => {
      const done = (exit: ProcessExit) => {
        clearTimeout(timer);
        this.exit ??= exit;
        onNotServing(
          new Error(`engine exited (${describeExit(this.exit)}) before serving\n${this.output()}`),
        );
        resolve(this.exit);
      };
      this.child.once('close', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        remember(String(err));
        if (this.child.pid === undefined) done({ code: null, signal: null });
      });
    });
  }

  /** Starts an engine; `env` is added to this process's environment. */
  static spawn(
    env: Record<string, string>,
    options: { startTimeoutMs?: number } = {},
  ): EngineProcess {
    return new EngineProcess(env, options.startTimeoutMs ?? 30_000);
  }

  get running(): boolean {
    return (
      this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Sends `signal` if the process still runs. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Kills the process if it still runs and waits for its exit (for clean-up). */
  async dispose(): Promise<ProcessExit> {
    this.kill('SIGKILL');
    return this.exited;
  }

  /** The newest log record with this message (`state recovered`, ...), if any. */
  record(msg: string): Record<string, unknown> | undefined {
    return this.records.get(msg);
  }

  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output(): string {
    return this.tail.join('\n');
  }
}

export function describeExit(exit: ProcessExit | undefined): string {
  if (exit === undefined) return 'running';
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}
