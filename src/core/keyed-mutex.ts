// Mutate one object under its own lock: calls for one key run one after another, in arrival order;
// calls for different keys run concurrently. The map only holds keys that have work queued.

export class KeyedMutex<K = string> {
  private readonly tails = new Map<K, Promise<void>>();

  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  isLocked(key: K): boolean {
    return this.tails.has(key);
  }
}

/**
 * Concurrent callers asking for the same key share one execution and its result (or error):
 * two pulls of one image make one download.
 */
export class SingleFlight<K, T> {
  private readonly inflight = new Map<K, Promise<T>>();

  run(key: K, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  has(key: K): boolean {
    return this.inflight.has(key);
  }
}
