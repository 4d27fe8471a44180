// Child process (started with --expose-gc) that fills the rate limiter's memory counter table with
// distinct client keys and reports heap and RSS to the parent over IPC.
// Usage (started by the runner): memory-child.ts <key counts, comma-separated> <dist|source>

import { defaultMaxKeys, openCounterTable } from './memory-store.js';
import type { MemoryReport, MemoryStep } from './memory-types.js';

const gc = globalThis.gc;
if (!gc) throw new Error('memory-child.ts needs --expose-gc');

function collect(): { heapUsed: number; rss: number } {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, rss: usage.rss };
}

/** Client addresses of the fill: even indexes are IPv4, odd ones distinct IPv6 /64 prefixes. */
function address(index: number): string {
  const n = index >>> 1;
  if (index % 2 === 0) return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  return `2001:db8:${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}::1`;
}

async function measureSteps(
  counts: number[],
  build: 'dist' | 'source',
): Promise<{ baselineHeap: number; baselineRss: number; steps: MemoryStep[] }> {
  const steps: MemoryStep[] = [];
  const first = collect();
  for (const keys of counts) {
    // A fresh table per step, sized for exactly `keys`, so every step measures that many entries.
    const before = collect();
    const table = await openCounterTable(build, keys);
    const now = Date.now();
    const started = performance.now();
    for (let i = 0; i < keys; i++) table.hit(address(i), now);
    const durationMs = performance.now() - started;
    const after = collect();
    steps.push({
      keys,
      trackedKeys: table.size,
      rssBytes: after.rss,
      heapUsedBytes: after.heapUsed,
      heapBytesPerKey: (after.heapUsed - before.heapUsed) / keys,
      durationMs,
    });
  }
  return { baselineHeap: first.heapUsed, baselineRss: first.rss, steps };
}

const counts = (process.argv[2] ?? '10000,100000,1000000').split(',').map(Number);
const build = process.argv[3] === 'source' ? 'source' : 'dist';
try {
  const { baselineHeap, baselineRss, steps } = await measureSteps(counts, build);
  const maxKeys = await defaultMaxKeys(build);
  const report: MemoryReport = {
    store: `@harden/fastify memory counter table (default capacity ${maxKeys} keys per limit and window)`,
    baselineHeapUsedBytes: baselineHeap,
    baselineRssBytes: baselineRss,
    steps,
    flood: null,
    note: `Each step fills a fresh table, sized for its key count, with one hit per distinct client (half IPv4 addresses, half IPv6 /64 prefixes, keyed by clientKeyFromIp), then forces GC; bytes per key = heap growth / keys. The flood sends requests over HTTP through the whole plugin (memory store, default options, sessions off) behind a proxy trusted on loopback, each with a random IPv6 address in X-Forwarded-For, so every request is a new client key; it is bounded when the table stops at its default capacity of ${maxKeys} keys.`,
  };
  process.send?.({ type: 'report', report });
} catch (error) {
  process.send?.({
    type: 'failed',
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  process.exitCode = 1;
}
