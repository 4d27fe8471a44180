import { parseArgs } from 'node:util';
import type { PluginBuild } from './child.js';
import type { LoadSize } from './load.js';

/** Settings of one benchmark run, from flags, then environment variables, then defaults. */
export interface BenchSettings {
  /** Load per measurement: seconds (default 5, `--duration` / BENCH_DURATION) or `--requests` N. */
  size: LoadSize;
  /** Warm-up seconds per route before each measurement (default 1; 0 with `--requests`). */
  warmupSeconds: number;
  /** Rounds over every variant; medians are taken over them (default 3). */
  rounds: number;
  /** Concurrent connections of autocannon (default 50). */
  connections: number;
  /** Variant ids to run; bare Fastify is always added as the reference. Default: all. */
  only: string[] | undefined;
  /** Skip the memory measurement. */
  skipMemory: boolean;
  /** Distinct keys of the memory measurement (default 10k, 100k and 1M). */
  memoryKeyCounts: number[];
  /** Requests of the rotating-IPv6 flood (default 1M, `--flood`). */
  floodRequests: number;
  /** Build of @harden/fastify to load (default dist). */
  build: PluginBuild;
  /** Redis URL for the Redis rows (default redis://127.0.0.1:6379/6). */
  redisUrl: string;
  /** Directory of the results JSON (default bench/results). An empty string writes nothing. */
  resultsDir: string;
  /** Rewrite BENCHMARKS.md at the repository root from the results (default true for full runs). */
  writeMarkdown: boolean;
}

const HELP = `Usage: npm run bench -- [options]

  --duration SECONDS    load per measurement (env BENCH_DURATION, default 5)
  --requests N          fixed number of requests per measurement instead of a duration
  --warmup SECONDS      warm-up load per route before each measurement (env BENCH_WARMUP, default 1)
  --rounds N            rounds over all variants, medians are taken over them (env BENCH_ROUNDS, default 3)
  --connections N       concurrent connections (env BENCH_CONNECTIONS, default 50)
  --only a,b            only these variant ids (bare Fastify is always measured)
  --skip-memory         skip the memory-store measurement
  --memory-keys a,b     distinct keys of the memory measurement (default 10000,100000,1000000)
  --flood N             requests of the rotating-IPv6 flood (default 1000000)
  --source              load @harden/fastify from its TypeScript sources instead of dist
  --redis URL           Redis for the Redis rows (env BENCH_REDIS_URL, default redis://127.0.0.1:6379/6)
  --results DIR         where results JSON goes (default bench/results; '' writes nothing)
  --no-markdown         do not rewrite BENCHMARKS.md
`;

/** Parses the command line and environment into settings, or prints help and exits. */
export function parseSettings(
  argv: string[],
  env: NodeJS.ProcessEnv,
  defaultResultsDir: string,
): BenchSettings {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      requests: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      'skip-memory': { type: 'boolean' },
      'memory-keys': { type: 'string' },
      flood: { type: 'string' },
      source: { type: 'boolean' },
      redis: { type: 'string' },
      results: { type: 'string' },
      'no-markdown': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }

  const requests = values.requests === undefined ? undefined : positiveInteger('--requests', values.requests);
  const size: LoadSize =
    requests === undefined
      ? { seconds: positiveNumber('--duration', values.duration ?? env.BENCH_DURATION ?? '5') }
      : { requests };
  return {
    size,
    warmupSeconds: nonNegativeNumber(
      '--warmup',
      values.warmup ?? env.BENCH_WARMUP ?? (requests === undefined ? '1' : '0'),
    ),
    rounds: positiveInteger('--rounds', values.rounds ?? env.BENCH_ROUNDS ?? '3'),
    connections: positiveInteger('--connections', values.connections ?? env.BENCH_CONNECTIONS ?? '50'),
    only: values.only
      ? values.only
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
      : undefined,
    skipMemory: values['skip-memory'] ?? false,
    memoryKeyCounts: (values['memory-keys'] ?? '10000,100000,1000000')
      .split(',')
      .map((n) => positiveInteger('--memory-keys', n)),
    floodRequests: positiveInteger('--flood', values.flood ?? '1000000'),
    build: values.source ? 'source' : 'dist',
    redisUrl: values.redis ?? env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/6',
    resultsDir: values.results ?? defaultResultsDir,
    writeMarkdown: !(values['no-markdown'] ?? false),
  };
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${flag} must be a positive number, got "${text}"`);
  return value;
}

function nonNegativeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${flag} must be zero or a positive number, got "${text}"`);
  return value;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${flag} must be a positive integer, got "${text}"`);
  return value;
}
