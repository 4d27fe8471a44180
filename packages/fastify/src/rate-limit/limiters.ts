import type { FastifyBaseLogger } from 'fastify';
import type { SharedStore } from '../store.js';
import { SyncLimiter } from './limiter.js';
import { MemoryCounterTable } from './memory-counters.js';
import { ObservedRedisLimiter, type StoreErrorBehavior, StoreHealth } from './redis-limiter.js';
import { SqliteCounterTable } from './sqlite-counters.js';

/** A limiter of any store. SyncLimiter (memory, SQLite) can also count synchronously with `hit`. */
export type Limiter = SyncLimiter | ObservedRedisLimiter;

/** Settings of one limiter the factory builds. */
export interface LimiterSpec {
  /** Unique name of the counter, part of every stored key, for example `default:60`. */
  name: string;
  points: number;
  /** Window in seconds. */
  duration: number;
  /** Seconds a key stays blocked once over the limit. Default 0. */
  blockDuration?: number;
}

/** Builds limiters on the plugin's store, all reporting to one StoreHealth. */
export interface LimiterFactory {
  readonly health: StoreHealth;
  create(spec: LimiterSpec): Limiter;
}

/** Prefix of rate-limit keys inside the store, after the store's own Redis key prefix. */
const KEY_NAMESPACE = 'rl:';

/**
 * Creates the factory for the plugin's store. Memory gives each limiter its own bounded table; SQLite
 * shares one table in the store's file; Redis uses rate-limiter-flexible's Redis limiter, insured by a
 * memory limiter when `onStoreError` is 'memory-fallback'.
 */
export function createLimiterFactory(
  store: SharedStore,
  options: { onStoreError: StoreErrorBehavior; memoryMaxKeys: number },
  log: FastifyBaseLogger,
): LimiterFactory {
  const health = new StoreHealth(log, options.onStoreError);
  const sqliteTable = store.kind === 'sqlite' ? new SqliteCounterTable(store.db) : undefined;

  const memoryLimiter = (spec: LimiterSpec): SyncLimiter =>
    new SyncLimiter(
      {
        points: spec.points,
        duration: spec.duration,
        keyPrefix: KEY_NAMESPACE + spec.name,
        blockDuration: spec.blockDuration ?? 0,
      },
      new MemoryCounterTable(options.memoryMaxKeys),
    );
  const insure = (spec: LimiterSpec): SyncLimiter | undefined =>
    options.onStoreError === 'memory-fallback' ? memoryLimiter(spec) : undefined;

  return {
    health,
    create(spec) {
      if (store.kind === 'memory') return memoryLimiter(spec);

      if (store.kind === 'sqlite' && sqliteTable) {
        const insurance = insure(spec);
        return new SyncLimiter(
          {
            points: spec.points,
            duration: spec.duration,
            keyPrefix: KEY_NAMESPACE + spec.name,
            blockDuration: spec.blockDuration ?? 0,
            ...(insurance ? { insurance: { limiter: insurance, health } } : {}),
          },
          sqliteTable,
        );
      }

      if (store.kind !== 'redis') throw new Error(`Unknown store kind ${store.kind}`);
      const insurance = insure(spec);
      return new ObservedRedisLimiter(
        {
          client: store.client,
          points: spec.points,
          duration: spec.duration,
          keyPrefix: `${store.keyPrefix}${KEY_NAMESPACE}${spec.name}`,
          blockDuration: spec.blockDuration ?? 0,
          ...(insurance ? { insurance } : {}),
        },
        health,
      );
    },
  };
}
