/**
 * CPU time per process of a multi-process benchmark, so a figure can be read with where the
 * cores went while it was measured: the children from /proc/<pid>/stat (Linux; absent elsewhere),
 * this process from process.cpuUsage(), Redis from INFO cpu, and Postgres as the sum over every
 * `postgres` process on the machine, per process (its backends come and go with connections; the
 * benches' pools keep theirs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

/** User + system CPU seconds in a /proc/<pid>/stat line. */
function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces) start at state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

/** User + system CPU seconds of a process, or undefined where /proc is not available. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of each `postgres` process by pid, or undefined without /proc. */
export function postgresCpuSeconds(): Map<string, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const out = new Map<string, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.includes('(postgres)')) out.set(pid, statCpuSeconds(stat));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/**
 * Postgres's CPU seconds between two samples: per process, what it used since the first sample
 * (all of it for a process started since). A backend that ended in between takes its time with
 * it, so this can only undercount; summing totals instead went negative when one ended.
 */
function postgresDelta(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  // Clamped: a pid reused in between would otherwise count the old process's time as negative.
  for (const [pid, seconds] of after) total += Math.max(0, seconds - (before.get(pid) ?? 0));
  return total;
}

async function redisCpuSeconds(redis: Redis): Promise<number | undefined> {
  try {
    const info = await redis.info('cpu');
    const value = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
    const total = value('used_cpu_user') + value('used_cpu_sys');
    return Number.isNaN(total) ? undefined : total;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  /** CPU seconds so far of each named process (and of Redis). */
  readonly seconds: Record<string, number | undefined>;
  readonly postgres: Map<string, number> | undefined;
}

export class CpuMeter {
  private readonly redis: Redis;

  constructor(
    redisUrl: string,
    private readonly pids: () => Record<string, number | undefined>,
  ) {
    this.redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  async sample(): Promise<CpuSample> {
    const out: Record<string, number | undefined> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      out[name] = pid === undefined ? undefined : processCpuSeconds(pid);
    }
    const own = process.cpuUsage();
    out.bench = (own.user + own.system) / 1e6;
    out.redis = await redisCpuSeconds(this.redis);
    return { seconds: out, postgres: postgresCpuSeconds() };
  }

  /** Cores used by each process between two samples `seconds` apart (e.g. 0.85 = 85% of one). */
  static cores(before: CpuSample, after: CpuSample, seconds: number): Record<string, number> {
    const out: Record<string, number> = {};
    const round = (cpu: number) => +(cpu / seconds).toFixed(2);
    for (const [name, a] of Object.entries(after.seconds)) {
      const b = before.seconds[name];
      if (a !== undefined && b !== undefined) out[name] = round(a - b);
    }
    if (before.postgres !== undefined && after.postgres !== undefined) {
      out.postgres = round(postgresDelta(before.postgres, after.postgres));
    }
    return out;
  }

  close(): void {
    this.redis.disconnect();
  }
}
