import type { RouteId, RunResult } from './load.js';
import type { MachineDescription } from './machine.js';
import type { MemoryReport } from './memory-types.js';

/** One measurement of one variant on one route in one round. */
export interface RoundMeasurement extends RunResult {
  round: number;
  /** Requests per second divided by bare Fastify's on the same route in the same round. */
  ratio: number;
}

/** A variant on a route, over all rounds. */
export interface CaseResult {
  variant: string;
  label: string;
  route: RouteId;
  rounds: RoundMeasurement[];
  /** Medians over rounds. The ratio is the median of the per-round ratios. */
  median: {
    requestsPerSecond: number;
    p50: number;
    p99: number;
    ratio: number;
    serverCpuMicrosPerRequest: number;
  };
  /** True when every response had the expected status (200) and no request failed. */
  allExpectedStatus: boolean;
}

/** A target of the benchmark, checked against the medians of this run. */
export interface TargetResult {
  id: string;
  description: string;
  /** The measured value (a ratio, or bytes per key). */
  measured: number | null;
  threshold: number;
  /** `min`: measured must be at least the threshold; `max`: at most. */
  kind: 'min' | 'max';
  /** pass, miss, or `not measured` when a variant or the memory run is absent. */
  status: 'pass' | 'miss' | 'not measured';
  detail: string;
}

/** Everything one run wrote: bench/results/latest.json and a dated copy. */
export interface BenchResults {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  machine: MachineDescription;
  /** 1, 5 and 15 minute load averages when the run finished; compare with the machine's at start. */
  loadAverageAtEnd: [number, number, number];
  settings: {
    load: string;
    warmupSeconds: number;
    rounds: number;
    connections: number;
    pluginBuild: string;
    nodeEnv: string;
  };
  routes: { id: RouteId; label: string }[];
  cases: CaseResult[];
  targets: TargetResult[];
  memory: MemoryReport | null;
  /** Variants that failed to start or to serve, with the error. */
  failures: { variant: string; error: string }[];
}

/** Median of a non-empty list; NaN for an empty one. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Tells whether every response of a run had status 200 and no connection failed. */
export function allExpected(run: RunResult): boolean {
  const codes = Object.keys(run.statusCodes);
  return run.errors === 0 && run.totalRequests > 0 && codes.length === 1 && codes[0] === '200';
}

/** Summarizes the rounds of a variant on a route. */
export function summarize(
  variant: string,
  label: string,
  route: RouteId,
  rounds: RoundMeasurement[],
): CaseResult {
  return {
    variant,
    label,
    route,
    rounds,
    median: {
      requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      ratio: median(rounds.map((r) => r.ratio)),
      serverCpuMicrosPerRequest: median(rounds.map((r) => r.serverCpuMicrosPerRequest)),
    },
    allExpectedStatus: rounds.length > 0 && rounds.every(allExpected),
  };
}
