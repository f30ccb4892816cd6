/**
 * Lowering a service's own CPU priority (raising its niceness), so that on a busy machine the
 * scheduler runs the services on the order path first.
 *
 * On Linux a niceness belongs to a thread, and a process's threads (V8's garbage-collection
 * helpers, libuv's pool) exist before the service can read its configuration; so every thread
 * listed in /proc/self/task is set. Where autogroups apply (tasks in the root CPU cgroup), Linux
 * also shares the CPU between sessions first and by niceness only within one: a service that
 * leads its own session, as `npm start` runs each, raises its session's niceness too. One that does not (a child of the e2e bench, say)
 * leaves its session alone, since that would lower everything else in it. Elsewhere, the process
 * as the OS applies it. Raising one's own niceness needs no privilege; a failure leaves the
 * priority as it was and is reported.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface PriorityResult {
  /** The niceness of the calling thread afterwards. */
  readonly nice: number;
  /** Threads at the niceness asked for or above it afterwards (1 where none are listed). */
  readonly threads: number;
  /**
   * The session's niceness afterwards when this process leads its session; null when it does
   * not, or when setting it failed (then `error` says why).
   */
  readonly session: number | null;
  /** Why a thread or the session could not be set, if one could not. */
  readonly error?: string;
}

export function lowerPriority(nice: number): PriorityResult {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new RangeError(`niceness must be an integer from 0 to 19, got ${String(nice)}`);
  }
  let error: string | undefined;
  let threads = 0;
  const seen = new Set<number>();
  // A thread started meanwhile by one not yet set would keep its creator's niceness: list the
  // threads again until a pass finds none new.
  for (let pass = 0; pass < 3; pass++) {
    const tids = threadIds();
    if (tids === null) {
      if (process.platform === 'linux') error ??= 'cannot list the threads in /proc/self/task';
      const failed = setOne(0, nice);
      if (failed === undefined) threads++;
      else error ??= failed;
      break;
    }
    const fresh = tids.filter((tid) => !seen.has(tid));
    if (fresh.length === 0) break;
    for (const tid of fresh) {
      seen.add(tid);
      const failed = setOne(tid, nice);
      if (failed === undefined) threads++;
      // A thread that ended since the listing is no failure.
      else if (failed !== 'ESRCH') error ??= failed;
    }
  }
  let session: number | null = null;
  try {
    session = leadsSession() ? raiseSession(nice) : null;
  } catch (err) {
    error ??= `session: ${(err as Error).message}`;
  }
  let now = nice;
  try {
    now = getPriority(0);
  } catch {
    // Nothing better to report than what was asked.
  }
  return { nice: now, threads, session, ...(error === undefined ? {} : { error }) };
}

/** The ids of this process's threads, or null where the OS does not list them. */
function threadIds(): number[] | null {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return null;
  }
}

/** Sets one thread (0: the calling one); the error's code or message if it failed. */
function setOne(tid: number, nice: number): string | undefined {
  try {
    // Never lower a niceness someone set higher (nice(1), a supervisor).
    if (getPriority(tid) < nice) setPriority(tid, nice);
    return undefined;
  } catch (err) {
    const code = (err as { info?: { code?: unknown } }).info?.code;
    return typeof code === 'string' ? code : (err as Error).message;
  }
}

/** Does this process lead its session (`setsid`)? Field 6 of /proc/self/stat is the session. */
function leadsSession(): boolean {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return false;
  }
  // The command, in parentheses, may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[3]) === process.pid;
}

/**
 * Raises the niceness of this process's session (its autogroup) to `nice` unless it is higher,
 * and returns it; null where autogroups are off.
 */
function raiseSession(nice: number): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/autogroup', 'utf8');
  } catch {
    return null;
  }
  const current = Number(/ nice (-?\d+)/.exec(text)?.[1] ?? NaN);
  if (!Number.isInteger(current)) throw new Error(`unreadable /proc/self/autogroup: ${text}`);
  if (current >= nice) return current;
  writeFileSync('/proc/self/autogroup', String(nice));
  return nice;
}
