/**
 * The front half of the journal: turns state-changing requests into entries of the command
 * stream and waits until the matching loop has applied them.
 *
 * Requests arriving in the same turn of the event loop go out as ONE stream entry (up to
 * `maxBatch` commands), so a burst costs one XADD. Each command has a request number, and the
 * commands of one entry have consecutive numbers, so the entry names only the first: its `r`
 * field is `<journal instance>:<first number>`. The matching loop settles the waiting caller by
 * number once the command is applied. Entries replayed after a restart name another instance
 * (or carry an older format) and are simply applied.
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { CommandBody, Outcome } from './core';
import { encodeCommands } from './codec';
import { ServiceFailure } from '../lib/grpc/status';
import type { RedisManager } from '../lib/redis-manager';

/** What a submitted command came to: its outcome, or why it was not applied. */
export type Result = Outcome | ServiceFailure;

/** One caller's commands (request numbers `first` ..), answered together once all are done. */
interface Waiter {
  readonly first: number;
  readonly results: Result[];
  left: number;
  /** When the caller stops waiting (ms since epoch). */
  readonly deadline: number;
  done(results: Result[]): void;
}

const shuttingDown = () =>
  new ServiceFailure(status.UNAVAILABLE, 'SHUTTING_DOWN', 'the engine is shutting down');

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
  private queue: { id: number; command: CommandBody }[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly waiters = new Map<number, Waiter>();
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
    return new Promise<Outcome>((resolve, reject) => {
      this.enqueue([command], ([r]) => {
        if (r instanceof ServiceFailure) reject(r);
        else resolve(r);
      });
    });
  }

  /**
   * Journals several commands, in order, and resolves once every one is applied or has failed,
   * with a result for each: one waiter for all of them, however many they are.
   */
  submitBatch(commands: readonly CommandBody[]): Promise<Result[]> {
    return new Promise((resolve) => this.enqueue(commands, resolve));
  }

  /** Like {@link submitBatch}, but fails if any command could not be journaled or applied. */
  async submitAll(commands: readonly CommandBody[]): Promise<Outcome[]> {
    const results = await this.submitBatch(commands);
    return results.map((r) => {
      if (r instanceof ServiceFailure) throw r;
      return r;
    });
  }

  private enqueue(commands: readonly CommandBody[], done: (results: Result[]) => void): void {
    if (commands.length === 0) {
      done([]);
      return;
    }
    if (this.closed) {
      done(commands.map(shuttingDown));
      return;
    }
    const waiter: Waiter = {
      first: this.next + 1,
      results: new Array<Result>(commands.length),
      left: commands.length,
      deadline: Date.now() + this.applyTimeoutMs,
      done,
    };
    for (const command of commands) {
      const id = ++this.next;
      this.waiters.set(id, waiter);
      this.queue.push({ id, command });
    }
    this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
    if (this.queue.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * The request number of an entry's first command, from its `r` field, if the entry was written
   * by this journal (else -1: nobody here waits for its commands).
   */
  firstRequestOf(tag: string | undefined): number {
    if (tag === undefined || !tag.startsWith(this.instance) || tag[this.instance.length] !== ':')
      return -1;
    return Number(tag.slice(this.instance.length + 1));
  }

  /** Called by the matching loop for every applied command of this journal's entries. */
  settle(request: number, outcome: Result): void {
    const waiter = this.waiters.get(request);
    if (waiter === undefined) return;
    this.waiters.delete(request);
    waiter.results[request - waiter.first] = outcome;
    if (--waiter.left === 0) waiter.done(waiter.results);
  }

  /**
   * Fails the callers whose command was not applied in time (one timer for all of them). A
   * command still queued, never sent, is dropped and answered as not journaled: its outcome is
   * known. One that was sent may yet be applied: its outcome is unknown.
   */
  private sweep(): void {
    const now = Date.now();
    // The queue is in submission order, so the expired commands in it come first.
    let expired = 0;
    while (expired < this.queue.length) {
      const waiter = this.waiters.get(this.queue[expired].id);
      if (waiter !== undefined && waiter.deadline > now) break;
      expired++;
    }
    if (expired > 0) {
      const notSent = new ServiceFailure(
        status.UNAVAILABLE,
        'JOURNAL_UNAVAILABLE',
        'the command could not be journaled in time; it was not applied',
      );
      for (const { id } of this.queue.splice(0, expired)) this.settle(id, notSent);
    }
    for (const [id, waiter] of this.waiters) {
      // Requests are in submission order, so the first one still in time ends the sweep.
      if (waiter.deadline > now) break;
      this.settle(
        id,
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
    return this.redis.push(this.stream, { r: '', c: encodeCommands(commands) });
  }

  /** The request ids of an entry's commands (`<instance>.<number>`), for checks of the journal. */
  static requestIds(tag: string | undefined, count: number): string[] {
    const colon = tag?.indexOf(':') ?? -1;
    if (tag === undefined || colon < 0) return [];
    const first = Number(tag.slice(colon + 1));
    return Array.from({ length: count }, (_, i) => `${tag.slice(0, colon)}.${first + i}`);
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
      let entry: Record<string, string>;
      try {
        entry = { r: `${this.instance}:${ids[0]}`, c: encodeCommands(batch.map((b) => b.command)) };
      } catch (err) {
        const failure = new ServiceFailure(
          status.INTERNAL,
          'INTERNAL',
          `could not encode the command: ${(err as Error).message}`,
        );
        for (const id of ids) this.settle(id, failure);
        continue;
      }
      this.inFlight++;
      this.redis
        .push(this.stream, entry)
        .catch(() => {
          // The append may have reached Redis before the connection failed (the reply is what
          // was lost): the command may still be applied, so its outcome is unknown. (Redis's
          // own error is not passed on: the gateway shows this message to clients.)
          const failure = new ServiceFailure(
            status.UNAVAILABLE,
            'JOURNAL_WRITE_FAILED',
            'writing the command to the journal failed, and it may have been journaled all the ' +
              'same: its outcome is unknown',
          );
          for (const id of ids) this.settle(id, failure);
        })
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.flush();
        });
    }
  }
}
