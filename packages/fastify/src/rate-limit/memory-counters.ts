/**
 * Counters of one fixed window per key: `points` counted so far and the time (ms since the epoch) when
 * the window ends. A window starts at a key's first hit and ends `msDuration` later, as in
 * rate-limiter-flexible's Redis store.
 */
export interface CounterState {
  points: number;
  expiresAt: number;
}

/** A synchronous counter table: the contract the memory and SQLite stores share. */
export interface CounterTable {
  /** True when one table holds the keys of several limiters, so each limiter prefixes its keys. */
  readonly shared: boolean;
  /**
   * Adds `points` to the key's window, starting a new window of `msDuration` when none is running, and
   * returns the window. With `replace`, sets the points and a new window whatever was there (a block).
   */
  upsert(key: string, points: number, msDuration: number, replace: boolean, now: number): CounterState;
  /** Returns the key's running window, or undefined. */
  get(key: string, now: number): CounterState | undefined;
  /** Forgets the key. Returns whether it had a running window. */
  delete(key: string, now: number): boolean;
}

/** Default number of keys one memory table tracks before it evicts the oldest window. */
export const DEFAULT_MEMORY_MAX_KEYS = 100_000;

const INITIAL_CAPACITY = 1024;

/**
 * Bounded in-memory counters with no timer per key. A Map from key to a slot number, and two typed
 * arrays indexed by slot, so a tracked key costs its Map entry, its key string and 16 bytes.
 *
 * When the table is full, the key whose window started first is evicted. Map iteration follows insertion
 * order and a key is re-inserted when a new window starts, so the first key of the Map is that oldest
 * window, most likely already over. Security meaning of an eviction: the evicted client's count starts
 * again from zero, so a limit can only become more lenient for that client, never stricter for anyone.
 * Evicting a client's running window takes `maxKeys` new keys after it started, within one window.
 */
export class MemoryCounterTable implements CounterTable {
  // One table per limiter: keys go in unprefixed, so one client-key string serves every table.
  readonly shared = false;
  readonly maxKeys: number;
  private readonly slots = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private points: Float64Array;
  private expiresAt: Float64Array;

  constructor(maxKeys: number = DEFAULT_MEMORY_MAX_KEYS) {
    this.maxKeys = maxKeys;
    const capacity = Math.min(INITIAL_CAPACITY, maxKeys);
    this.points = new Float64Array(capacity);
    this.expiresAt = new Float64Array(capacity);
  }

  /** Number of keys tracked, running or expired but not yet evicted. */
  get size(): number {
    return this.slots.size;
  }

  upsert(key: string, points: number, msDuration: number, replace: boolean, now: number): CounterState {
    let slot = this.slots.get(key);
    if (slot !== undefined && !replace && (this.expiresAt[slot] as number) > now) {
      const total = (this.points[slot] as number) + points;
      this.points[slot] = total;
      return { points: total, expiresAt: this.expiresAt[slot] as number };
    }

    if (slot !== undefined) {
      // A new window: move the key to the end of the Map so that eviction order stays window-start order.
      this.slots.delete(key);
    } else {
      slot = this.allocateSlot();
    }
    this.slots.set(key, slot);
    const expiresAt = now + msDuration;
    this.points[slot] = points;
    this.expiresAt[slot] = expiresAt;
    return { points, expiresAt };
  }

  get(key: string, now: number): CounterState | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined || (this.expiresAt[slot] as number) <= now) return undefined;
    return { points: this.points[slot] as number, expiresAt: this.expiresAt[slot] as number };
  }

  delete(key: string, now: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.freeSlots.push(slot);
    return (this.expiresAt[slot] as number) > now;
  }

  private allocateSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;

    if (this.slots.size >= this.maxKeys) {
      const oldest = this.slots.entries().next().value;
      if (oldest !== undefined) {
        this.slots.delete(oldest[0]);
        return oldest[1];
      }
    }

    const slot = this.nextSlot++;
    if (slot >= this.points.length) this.grow();
    return slot;
  }

  private grow(): void {
    const capacity = Math.min(this.points.length * 2, this.maxKeys);
    const points = new Float64Array(capacity);
    const expiresAt = new Float64Array(capacity);
    points.set(this.points);
    expiresAt.set(this.expiresAt);
    this.points = points;
    this.expiresAt = expiresAt;
  }
}
