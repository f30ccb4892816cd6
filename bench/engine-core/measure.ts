/**
 * Timing helpers shared by the benchmark's subjects: the cost of reading the clock, latency
 * percentiles from per-operation samples, and the shape of one subject's result.
 *
 * Latency samples are nanoseconds between two `process.hrtime.bigint()` reads around one
 * operation. The median cost of two back-to-back reads (measured here, in the same process) is
 * subtracted from every sample, and a sample never goes below zero.
 */

/** What one subject (the core or the peer book) did on one workload. */
export interface RunResult {
  /** Operations in the throughput block and the time it took, timed as one block. */
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /**
   * CPU time of the process over the throughput block's wall time. Well under 1 means the
   * process was waiting for a CPU (a busy machine), and opsPerSec is understated; above 1 means
   * the garbage collector's helper threads were busy too.
   */
  readonly cpuShare: number;
  /** Per-operation latency over the latency block, microseconds, clock cost subtracted. */
  readonly latency: LatencySummary;
  /** The same by kind of operation (OP_KINDS order). */
  readonly latencyByKind: LatencySummary[];
  /** Resting orders when the throughput block starts and after the latency block. */
  readonly restingStart: number;
  readonly restingEnd: number;
  /** Operations the subject refused or could not find (0 expected for the core). */
  readonly errors: number;
  /** Trades in the throughput block, where the subject tells. */
  readonly trades: number | null;
}

export interface LatencySummary {
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

/** Median cost in nanoseconds of two back-to-back `process.hrtime.bigint()` reads. */
export function clockOverheadNs(rounds = 200_000): number {
  const samples = new Float64Array(rounds);
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort();
  return samples[rounds >>> 1];
}

/**
 * Percentiles (nearest rank) of nanosecond samples, less `overheadNs` each, in microseconds:
 * over all samples, and for each kind of operation (`kinds[i]` is the kind of sample i).
 */
export function summarize(
  samplesNs: Float64Array,
  kinds: Uint8Array,
  kindCount: number,
  overheadNs: number,
): { all: LatencySummary; byKind: LatencySummary[] } {
  const byKind: LatencySummary[] = [];
  for (let k = 0; k < kindCount; k++) {
    byKind.push(
      summarizeAll(
        samplesNs.filter((_, i) => kinds[i] === k),
        overheadNs,
      ),
    );
  }
  return { all: summarizeAll(samplesNs, overheadNs), byKind };
}

function summarizeAll(samplesNs: Float64Array, overheadNs: number): LatencySummary {
  const n = samplesNs.length;
  if (n === 0) return { samples: 0, p50Us: NaN, p99Us: NaN, p999Us: NaN, maxUs: NaN, meanUs: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.max(0, samplesNs[i] - overheadNs);
    samplesNs[i] = v;
    sum += v;
  }
  samplesNs.sort();
  const at = (q: number): number => samplesNs[Math.min(n - 1, Math.ceil(q * n) - 1)] / 1000;
  return {
    samples: n,
    p50Us: at(0.5),
    p99Us: at(0.99),
    p999Us: at(0.999),
    maxUs: samplesNs[n - 1] / 1000,
    meanUs: sum / n / 1000,
  };
}

/** A full collection when the process runs with --expose-gc, so no subject pays for another. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}
