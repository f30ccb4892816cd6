/**
 * A map that keeps its newest `capacity` keys, forgetting the oldest first. Iteration is in
 * insertion order, oldest first (as a Map's), so a snapshot of it restores to the same state.
 *
 * The eviction order is a ring of keys: the oldest is found without iterating the map, whose
 * iteration skips every entry deleted since its last rehash. Evicting through `keys().next()`
 * cost ~25 µs per insertion once a map of 100,000 was full, against ~0.2 µs this way.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly ring: K[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets `key`; a new key takes the place of the oldest once the map is full. */
  set(key: K, value: V): void {
    if (!this.map.has(key)) {
      if (this.map.size >= this.capacity) this.map.delete(this.ring[this.next]);
      this.ring[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.map.set(key, value);
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
