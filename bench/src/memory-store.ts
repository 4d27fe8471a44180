// The rate limiter's memory store as the memory measurement drives it: the plugin's own counter table,
// filled directly to measure bytes per key.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientKeyFromIp } from '@harden/core';
import type * as MemoryCounters from '../../packages/fastify/src/rate-limit/memory-counters.js';

const PACKAGE_ROOT = join(import.meta.dirname, '..', '..', 'packages', 'fastify');
const WINDOW_MS = 60_000;

/**
 * Loads the plugin's memory counter table. It is internal to @harden/fastify (not exported), so it is
 * imported by path, from the same build as the plugin: a renamed file fails this run loudly.
 */
export async function loadCounterTable(build: 'dist' | 'source'): Promise<typeof MemoryCounters> {
  const file =
    build === 'source'
      ? join(PACKAGE_ROOT, 'src', 'rate-limit', 'memory-counters.ts')
      : join(PACKAGE_ROOT, 'dist', 'rate-limit', 'memory-counters.js');
  return (await import(pathToFileURL(file).href)) as typeof MemoryCounters;
}

/** A table filled the way the default limit fills it: one hit per client key, the key from the address. */
export interface FilledTable {
  hit(address: string, now: number): void;
  readonly size: number;
}

/** Opens an empty memory counter table that can hold `maxKeys` keys. */
export async function openCounterTable(build: 'dist' | 'source', maxKeys: number): Promise<FilledTable> {
  const { MemoryCounterTable } = await loadCounterTable(build);
  const table = new MemoryCounterTable(maxKeys);
  return {
    hit: (address, now) => {
      table.upsert(clientKeyFromIp(address), 1, WINDOW_MS, false, now);
    },
    get size() {
      return table.size;
    },
  };
}

/** Returns the default capacity of the memory store, as the plugin exports it. */
export async function defaultMaxKeys(build: 'dist' | 'source'): Promise<number> {
  return (await loadCounterTable(build)).DEFAULT_MEMORY_MAX_KEYS;
}

/** Returns a random IPv6 address. Its /64 prefix is new nearly every time, so each call makes a new client key. */
export function randomIpv6(): string {
  const bytes = randomBytes(16);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
