/**
 * Lowering a service's own CPU priority (raising its niceness), so that on a busy machine the
 * scheduler runs the services on the order path first.
 *
 * On Linux a niceness belongs to a thread, and a process's threads (V8's garbage-collection
 * helpers, libuv's pool) exist before the service can read its configuration; so every thread
 * listed in /proc/self/task is set. Elsewhere, the process as the OS applies it. Raising one's
 * own niceness needs no privilege; a failure leaves the priority as it was and is reported.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface PriorityResult {
  /** The niceness of the calling thread afterwards. */
  readonly nice: number;
  /** Threads set (1 where threads are not listed). */
  readonly threads: number;
  /** Why some thread could not be set, if one could not. */
  readonly error?: string;
}

export function lowerPriority(nice: number): PriorityResult {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new RangeError(`niceness must be an integer from 0 to 19, got ${String(nice)}`);
  }
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  let threads = 0;
  let error: string | undefined;
  for (const tid of tids) {
    try {
      // Never lower a niceness someone set higher (nice(1), a supervisor).
      if (getPriority(tid) < nice) setPriority(tid, nice);
      threads++;
    } catch (err) {
      // A thread that ended meanwhile, or a platform that refuses.
      error ??= (err as Error).message;
    }
  }
  return { nice: getPriority(0), threads, ...(error === undefined ? {} : { error }) };
}
