/**
 * Remembers the newest entries of an endless stream of keys, in two generations: new keys go
 * into the current map, and when it holds `generation` keys it becomes the previous one (the
 * one before is dropped whole) and a new current map starts. So the newest `generation` keys
 * are always kept, and at most twice as many.
 *
 * For the matching loop's recently closed orders (tens of thousands a second): a map that
 * deletes its oldest key at every insertion fills its table with deleted entries and rebuilds
 * all of it every few tens of thousands of insertions (3 MB for 100,000 keys), which showed in
 * the engine's CPU per order and its tail latency; here nothing is ever deleted.
 */
export class RecentMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(readonly generation: number) {
    if (!(generation >= 1)) throw new RangeError('a generation holds at least one key');
  }

  get(key: K): V | undefined {
    const value = this.current.get(key);
    return value !== undefined || this.current.has(key) ? value : this.previous.get(key);
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.generation && !this.current.has(key)) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }

  /** Keys held (a key in both generations counts once per generation). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
