/** Latency summaries shared by the benchmarks: percentiles of samples, and a histogram in ms. */

/** The p-th percentile (0..100) of ascending `sorted` samples (nearest rank); 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Whole-millisecond latencies counted in fixed buckets, for millions of samples (one per
 * delivered trade per client) without keeping them. Samples past the last bucket land in it.
 */
export class MsHistogram {
  private readonly counts: Uint32Array;
  private n = 0;

  constructor(maxMs = 60_000) {
    this.counts = new Uint32Array(maxMs + 1);
  }

  get count(): number {
    return this.n;
  }

  add(ms: number): void {
    const i = ms <= 0 ? 0 : ms >= this.counts.length ? this.counts.length - 1 : Math.round(ms);
    this.counts[i]++;
    this.n++;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
  }

  /** The p-th percentile in ms (nearest rank), 0 when empty. */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.min(this.n - 1, Math.floor((p / 100) * this.n));
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms++) {
      seen += this.counts[ms];
      if (seen > rank) return ms;
    }
    return this.counts.length - 1;
  }
}
