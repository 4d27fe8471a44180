/** Memory of the rate limiter's memory store after a number of distinct client keys. */
export interface MemoryStep {
  keys: number;
  /** Keys the store reports it tracks after the inserts, when it can tell. */
  trackedKeys: number | null;
  rssBytes: number;
  heapUsedBytes: number;
  /** (heap used - heap used before any key) / keys, after a full GC. */
  heapBytesPerKey: number;
  durationMs: number;
}

/** The IPv6 flood: many requests from rotating addresses, sampled as they arrive. */
export interface FloodReport {
  requests: number;
  /** Distinct client keys the flood produced (the store's key for each address). */
  distinctKeys: number;
  /** Heap used after GC at each sample point. */
  samples: { requests: number; heapUsedBytes: number; rssBytes: number; trackedKeys: number | null }[];
  /** True when the largest heap of the flood's second half is within 10% of the largest of its first half. */
  bounded: boolean;
}

/** Report of the memory measurement: the fill steps and the flood. */
export interface MemoryReport {
  store: string;
  baselineHeapUsedBytes: number;
  baselineRssBytes: number;
  steps: MemoryStep[];
  flood: FloodReport | null;
  note: string;
}
