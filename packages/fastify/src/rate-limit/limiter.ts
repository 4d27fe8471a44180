import { RateLimiterCompatibleAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { CounterState, CounterTable } from './memory-counters.js';
import type { StoreHealth } from './redis-limiter.js';

/** Settings of one limiter: `points` per `duration` seconds, keys under `keyPrefix`. */
export interface SyncLimiterOptions {
  points: number;
  /** Window in seconds. */
  duration: number;
  keyPrefix: string;
  /** Seconds a key stays blocked once it goes over `points`; 0 blocks nothing beyond the window. */
  blockDuration?: number;
  /** Limiter that counts instead when the table throws (an SQLite error), with the health that logs it. */
  insurance?: { limiter: SyncLimiter; health: StoreHealth };
}

/**
 * A rate-limiter-flexible limiter over a synchronous counter table (memory or SQLite). It keeps the
 * library's contract (consume rejects with a RateLimiterRes past the limit, reward, penalty, block, get,
 * delete), so it serves as an insurance limiter and under the brute-force guard, and it adds `hit`, a
 * synchronous consume for the per-request hook.
 */
export class SyncLimiter extends RateLimiterCompatibleAbstract {
  // Own fields shadow the abstract class's accessors, which only throw.
  override readonly keyPrefix: string;
  override blockDuration: number;
  override execEvenly = false;
  readonly points: number;
  readonly duration: number;
  private readonly table: CounterTable;
  private readonly insurance: SyncLimiterOptions['insurance'];

  constructor(options: SyncLimiterOptions, table: CounterTable) {
    super();
    this.points = options.points;
    this.duration = options.duration;
    this.keyPrefix = options.keyPrefix;
    this.blockDuration = options.blockDuration ?? 0;
    this.table = table;
    this.insurance = options.insurance;
  }

  /**
   * Counts `points` for the key and returns the window as a RateLimiterRes. Never blocks. Throws only
   * when the table fails and there is no insurance limiter.
   */
  hit(key: string | number, points = 1): RateLimiterRes {
    const now = Date.now();
    const state = this.useTable(
      (table) => table.upsert(this.storageKey(key), points, this.duration * 1000, false, now),
      (insurance) => insurance.hit(key, points),
    );
    if (state instanceof RateLimiterRes) return state;
    return this.toResult(state.points, state.expiresAt - now, state.points === points);
  }

  override consume(key: string | number, points = 1): Promise<RateLimiterRes> {
    let result: RateLimiterRes;
    try {
      result = this.hit(key, points);
    } catch (error) {
      return Promise.reject(error);
    }
    if (result.consumedPoints <= this.points) return Promise.resolve(result);
    const crossedNow = result.consumedPoints - points <= this.points;
    if (this.blockDuration > 0 && crossedNow) {
      return this.block(key, this.blockDuration).then((blocked) => Promise.reject(blocked));
    }
    return Promise.reject(result);
  }

  override penalty(key: string | number, points = 1): Promise<RateLimiterRes> {
    try {
      return Promise.resolve(this.hit(key, points));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  override reward(key: string | number, points = 1): Promise<RateLimiterRes> {
    return this.penalty(key, -points);
  }

  override get(key: string | number): Promise<RateLimiterRes | null> {
    const now = Date.now();
    try {
      const state = this.useTable(
        (table) => table.get(this.storageKey(key), now),
        (insurance) => insurance.get(key),
      );
      if (state === undefined) return Promise.resolve(null);
      if (!isCounterState(state)) return state;
      return Promise.resolve(this.toResult(state.points, state.expiresAt - now, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  override set(key: string | number, points: number, secDuration: number): Promise<RateLimiterRes> {
    const now = Date.now();
    const seconds = secDuration > 0 ? secDuration : this.duration;
    try {
      const state = this.useTable(
        (table) => table.upsert(this.storageKey(key), points, seconds * 1000, true, now),
        (insurance) => insurance.set(key, points, secDuration),
      );
      if (!isCounterState(state)) return state;
      return Promise.resolve(this.toResult(state.points, state.expiresAt - now, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  override block(key: string | number, secDuration: number): Promise<RateLimiterRes> {
    return this.set(key, this.points + 1, secDuration);
  }

  override delete(key: string | number): Promise<boolean> {
    try {
      const deleted = this.useTable(
        (table) => table.delete(this.storageKey(key), Date.now()),
        (insurance) => insurance.delete(key),
      );
      return Promise.resolve(deleted);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `operation` on the table; when it throws, reports the failure and runs `fallback` on the insurance limiter. */
  private useTable<T, F>(
    operation: (table: CounterTable) => T,
    fallback: (insurance: SyncLimiter) => F,
  ): T | F {
    const insurance = this.insurance;
    if (insurance === undefined) return operation(this.table);
    try {
      const result = operation(this.table);
      if (!insurance.health.isAvailable) insurance.health.markSucceeded();
      return result;
    } catch (error) {
      insurance.health.markFailed(error);
      return fallback(insurance.limiter);
    }
  }

  private storageKey(key: string | number): string {
    return this.table.shared ? `${this.keyPrefix}:${key}` : String(key);
  }

  private toResult(consumed: number, msBeforeNext: number, isFirstInDuration: boolean): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.points - consumed, 0), msBeforeNext, consumed, isFirstInDuration);
  }
}

function isCounterState(value: unknown): value is CounterState {
  return typeof value === 'object' && value !== null && 'expiresAt' in value;
}
