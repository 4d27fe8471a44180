// Child process (started with --expose-gc) that fills the rate limiter's memory store with distinct
// client keys and floods it with rotating IPv6 addresses, and reports heap and RSS to the parent.
// Usage (started by the runner): memory-child.ts <key counts, comma-separated> <flood requests>
import { randomBytes } from 'node:crypto';
import { openMemoryStore, type StoreUnderTest } from './memory-store.js';
import type { FloodReport, MemoryReport, MemoryStep } from './memory-types.js';

const FLOOD_SAMPLES = 4;

const gc = globalThis.gc;
if (!gc) throw new Error('memory-child.ts needs --expose-gc');

function collect(): { heapUsed: number; rss: number } {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, rss: usage.rss };
}

function ipv4Key(index: number): string {
  return `10.${(index >>> 16) & 255}.${(index >>> 8) & 255}.${index & 255}`;
}

function ipv6Key(index: number): string {
  // Distinct /64 prefixes, so a store that groups IPv6 clients by /64 still sees distinct clients.
  return `2001:db8:${((index >>> 16) & 0xffff).toString(16)}:${(index & 0xffff).toString(16)}::1`;
}

function randomIpv6(): string {
  const bytes = randomBytes(16);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

async function fill(store: StoreUnderTest, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const address = i % 2 === 0 ? ipv4Key(i >>> 1) : ipv6Key(i >>> 1);
    await store.hit(address);
  }
}

async function measureSteps(
  counts: number[],
): Promise<{ baseline: { heapUsed: number; rss: number }; steps: MemoryStep[] }> {
  const steps: MemoryStep[] = [];
  let baseline = collect();
  for (const keys of counts) {
    // A fresh store per step, so every step measures exactly `keys` entries.
    const store = await openMemoryStore();
    baseline = collect();
    const started = performance.now();
    await fill(store, 0, keys);
    const durationMs = performance.now() - started;
    const after = collect();
    steps.push({
      keys,
      trackedKeys: store.size(),
      rssBytes: after.rss,
      heapUsedBytes: after.heapUsed,
      heapBytesPerKey: (after.heapUsed - baseline.heapUsed) / keys,
      durationMs,
    });
    await store.close();
  }
  return { baseline, steps };
}

async function flood(requests: number): Promise<FloodReport> {
  const store = await openMemoryStore();
  const samples: FloodReport['samples'] = [];
  const distinct = new Set<string>();
  const sampleEvery = Math.max(1, Math.floor(requests / FLOOD_SAMPLES));
  for (let i = 1; i <= requests; i++) {
    const address = randomIpv6();
    const key = await store.hit(address);
    if (distinct.size < 5_000_000) distinct.add(key);
    if (i % sampleEvery === 0 || i === requests) {
      const usage = collect();
      samples.push({
        requests: i,
        heapUsedBytes: usage.heapUsed,
        rssBytes: usage.rss,
        trackedKeys: store.size(),
      });
    }
  }
  await store.close();
  const distinctKeys = distinct.size;
  distinct.clear();
  const middle = samples[Math.floor((samples.length - 1) / 2)];
  const last = samples.at(-1);
  const bounded =
    middle !== undefined && last !== undefined && last.heapUsedBytes <= middle.heapUsedBytes * 1.1;
  return { requests, distinctKeys, samples, bounded };
}

const counts = (process.argv[2] ?? '10000,100000,1000000').split(',').map(Number);
const floodRequests = Number(process.argv[3] ?? '2000000');
try {
  const name = (await openMemoryStore()).name;
  const { baseline, steps } = await measureSteps(counts);
  const floodReport = floodRequests > 0 ? await flood(floodRequests) : null;
  const report: MemoryReport = {
    store: name,
    baselineHeapUsedBytes: baseline.heapUsed,
    baselineRssBytes: baseline.rss,
    steps,
    flood: floodReport,
    note: `Store: ${name}. Each step fills a fresh store with distinct client keys (half IPv4, half IPv6 /64s), one hit each, then forces GC twice; bytes per key = heap growth / keys.`,
  };
  process.send?.({ type: 'report', report });
} catch (error) {
  process.send?.({
    type: 'failed',
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  process.exitCode = 1;
}
