/**
 * The front half of the journal: turns state-changing requests into entries of the command
 * stream and waits until the matching loop has applied them.
 *
 * Requests arriving in the same turn of the event loop go out as ONE stream entry (up to
 * `maxBatch` commands), so a burst costs one XADD. Each command carries a request id; the
 * matching loop settles the waiting caller by that id once the command is applied. Entries
 * replayed after a restart carry ids nobody waits for, and are simply applied.
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { CommandBody, Outcome } from './core';
import { encodeCommands } from './codec';
import { ServiceFailure } from '../lib/grpc/status';
import type { RedisManager } from '../lib/redis-manager';

interface Waiter {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
  /** When the caller stops waiting (ms since epoch). */
  deadline: number;
}

/** Appends outstanding at once (see `flush`). */
const MAX_IN_FLIGHT = 2;

export interface JournalOptions {
  /** Most commands in one stream entry. */
  readonly maxBatch?: number;
  /** How long a caller waits for its command to be applied before UNAVAILABLE. */
  readonly applyTimeoutMs?: number;
}

export class CommandJournal {
  private readonly instance = randomBytes(4).toString('hex');
  private next = 0;
  private queue: { id: string; command: CommandBody }[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly waiters = new Map<string, Waiter>();
  private closed = false;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly maxBatch: number;
  private readonly applyTimeoutMs: number;

  constructor(
    private readonly redis: RedisManager,
    readonly stream: string,
    options: JournalOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.applyTimeoutMs = options.applyTimeoutMs ?? 10_000;
  }

  /** Journals one command and resolves with its outcome once the matching loop applied it. */
  submit(command: CommandBody): Promise<Outcome> {
    if (this.closed) {
      return Promise.reject(
        new ServiceFailure(status.UNAVAILABLE, 'SHUTTING_DOWN', 'the engine is shutting down'),
      );
    }
    const id = `${this.instance}.${++this.next}`;
    return new Promise<Outcome>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject, deadline: Date.now() + this.applyTimeoutMs });
      this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
      this.queue.push({ id, command });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Journals several commands as one entry, in order; resolves with their outcomes in order. */
  submitAll(commands: readonly CommandBody[]): Promise<Outcome[]> {
    return Promise.all(commands.map((c) => this.submit(c)));
  }

  /** Called by the matching loop for every applied command. */
  settle(requestId: string, outcome: Outcome): void {
    const waiter = this.waiters.get(requestId);
    if (waiter === undefined) return;
    this.waiters.delete(requestId);
    waiter.resolve(outcome);
  }

  /** Fails the callers whose command was not applied in time (one timer for all of them). */
  private sweep(): void {
    const now = Date.now();
    for (const [id, waiter] of this.waiters) {
      // Waiters are in submission order, so the first one still in time ends the sweep.
      if (waiter.deadline > now) break;
      this.waiters.delete(id);
      waiter.reject(
        new ServiceFailure(
          status.UNAVAILABLE,
          'APPLY_TIMEOUT',
          'the command was journaled but not applied in time; its outcome is unknown',
        ),
      );
    }
    if (this.waiters.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Appends an entry nobody waits for (genesis). */
  async append(commands: readonly CommandBody[]): Promise<string> {
    return this.redis.push(this.stream, { r: '[]', c: encodeCommands(commands) });
  }

  /** Stops taking commands; those already queued are still written. */
  close(): void {
    this.closed = true;
    this.flush();
  }

  /**
   * Group commit: at most `maxInFlight` appends are outstanding; whatever arrives meanwhile
   * waits and goes out as one entry when one completes. Light load gets an append per request,
   * heavy load gets large entries.
   */
  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const batch = this.queue.splice(0, this.maxBatch);
      const ids = batch.map((b) => b.id);
      this.inFlight++;
      this.redis
        .push(this.stream, {
          r: JSON.stringify(ids),
          c: encodeCommands(batch.map((b) => b.command)),
        })
        .catch((err: Error) => {
          for (const id of ids) {
            const waiter = this.waiters.get(id);
            if (waiter === undefined) continue;
            this.waiters.delete(id);
            waiter.reject(
              new ServiceFailure(
                status.UNAVAILABLE,
                'JOURNAL_UNAVAILABLE',
                `could not journal the command: ${err.message}`,
              ),
            );
          }
        })
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.flush();
        });
    }
  }
}
