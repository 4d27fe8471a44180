import type { FastifyBaseLogger } from 'fastify';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../store.js';
import type { SyncLimiter } from './limiter.js';

/** What the plugin does with a request it cannot count because the store failed. */
export type StoreErrorBehavior = 'memory-fallback' | 'reject';

/**
 * Tracks whether the rate-limit store answers, across every limiter of one plugin, and logs one
 * `rate_limit.store_unavailable` line when it stops and one `rate_limit.store_recovered` line when it
 * answers again.
 */
export class StoreHealth {
  private available = true;
  private nextProbeAt = 0;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly behavior: StoreErrorBehavior,
  ) {}

  /** True while the last store operation succeeded. */
  get isAvailable(): boolean {
    return this.available;
  }

  /**
   * True while the store failed less than STORE_PROBE_INTERVAL_MS ago: calls then go straight to the
   * fallback instead of each waiting for a hung store, and one call per interval probes it again.
   */
  shouldSkipStore(): boolean {
    if (this.available || Date.now() < this.nextProbeAt) return !this.available;
    this.nextProbeAt = Date.now() + STORE_PROBE_INTERVAL_MS;
    return false;
  }

  markFailed(error: unknown): void {
    this.nextProbeAt = Date.now() + STORE_PROBE_INTERVAL_MS;
    if (!this.available) return;
    this.available = false;
    const reason = error instanceof Error ? error.message : String(error);
    const consequence =
      this.behavior === 'reject'
        ? 'limited requests get 503 until it is back'
        : 'each process counts in memory until it is back';
    this.log.error(
      { event: 'rate_limit.store_unavailable', reason, onStoreError: this.behavior },
      `Rate-limit store failed; ${consequence}`,
    );
  }

  markSucceeded(): void {
    if (this.available) return;
    this.available = true;
    this.log.info(
      { event: 'rate_limit.store_recovered' },
      'Rate-limit store answers again; counting is shared again',
    );
  }
}

/**
 * Longest wait for a Redis reply before the call counts as failed (and the insurance limiter, if any,
 * counts instead). A Redis that hangs without closing the connection would otherwise hold every request.
 */
export const REDIS_TIMEOUT_MS = 1000;

/** Time between two probes of a failed store, in milliseconds. */
export const STORE_PROBE_INTERVAL_MS = 1000;

/** The rate-limiter-flexible store hooks this subclass observes. They are not in the library's typings. */
interface RedisStoreHooks {
  _upsert(...args: unknown[]): Promise<unknown>;
  _get(...args: unknown[]): Promise<unknown>;
  _delete(...args: unknown[]): Promise<unknown>;
}

const STORE_SKIPPED = 'Redis failed recently; counting in the fallback until the next probe';

const parentHooks = RateLimiterRedis.prototype as unknown as RedisStoreHooks;

/**
 * rate-limiter-flexible's Redis limiter (one Lua script, one round trip a hit, atomic across instances),
 * reporting every store success and failure to a StoreHealth. While Redis is not ready, a call fails at
 * once (`rejectIfRedisNotReady`), and the insurance limiter, if any, counts in this process instead.
 */
export class ObservedRedisLimiter extends RateLimiterRedis {
  private readonly health: StoreHealth;

  constructor(
    options: {
      client: RedisClient;
      points: number;
      duration: number;
      keyPrefix: string;
      blockDuration?: number;
      insurance?: SyncLimiter;
    },
    health: StoreHealth,
  ) {
    super({
      storeClient: options.client,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      points: options.points,
      duration: options.duration,
      keyPrefix: options.keyPrefix,
      blockDuration: options.blockDuration ?? 0,
      // The library keeps a second, in-process block list by default; the store's own block is enough.
      inMemoryBlockOnConsumed: 0,
      ...(options.insurance ? { insuranceLimiter: options.insurance } : {}),
    });
    this.health = health;
  }

  _upsert(...args: unknown[]): Promise<unknown> {
    if (this.health.shouldSkipStore()) return Promise.reject(new Error(STORE_SKIPPED));
    return this.observe(parentHooks._upsert.apply(this, args));
  }

  _get(...args: unknown[]): Promise<unknown> {
    if (this.health.shouldSkipStore()) return Promise.reject(new Error(STORE_SKIPPED));
    return this.observe(parentHooks._get.apply(this, args));
  }

  _delete(...args: unknown[]): Promise<unknown> {
    if (this.health.shouldSkipStore()) return Promise.reject(new Error(STORE_SKIPPED));
    return this.observe(parentHooks._delete.apply(this, args));
  }

  private observe<T>(operation: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not reply within ${REDIS_TIMEOUT_MS} ms`)),
        REDIS_TIMEOUT_MS,
      );
    });
    return Promise.race([operation, timeout]).then(
      (value) => {
        clearTimeout(timer);
        this.health.markSucceeded();
        return value;
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.health.markFailed(error);
        throw error;
      },
    );
  }
}

/** True when a limiter promise failed because the key is over its limit, not because the store failed. */
export function isOverLimit(reason: unknown): reason is RateLimiterRes {
  return reason instanceof RateLimiterRes;
}
