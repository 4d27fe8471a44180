import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createClient } from 'redis';
import { startServer } from './child.js';
import { runFlood } from './flood.js';
import { fetchCredentials, ROUTES, type RouteId, runLoad } from './load.js';
import { describeMachine } from './machine.js';
import { runMemoryChild } from './memory-child-runner.js';
import type { MemoryReport } from './memory-types.js';
import type { BenchSettings } from './options.js';
import { formatMarkdown } from './report.js';
import { type BenchResults, type RoundMeasurement, summarize } from './results.js';
import { evaluateTargets } from './targets.js';
import { VARIANTS, type Variant } from './variants.js';
import { verifyVariant } from './verify.js';

/** Key prefix of every Redis key the Express rows write; the plugin writes under `harden:`. */
export const BENCH_REDIS_PREFIX = 'bench:';
const REFERENCE = 'fastify';

type Progress = (line: string) => void;

/**
 * Measures every selected variant on every route, alternating over rounds, then the memory store,
 * and returns the results. Writes nothing; see `writeResults`.
 */
export async function runBench(settings: BenchSettings, progress: Progress): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const variants = selectVariants(settings.only);
  const scratch = mkdtempSync(join(tmpdir(), 'harden-bench-'));
  const measurements = new Map<string, RoundMeasurement[]>();
  const failures: BenchResults['failures'] = [];
  const failed = new Set<string>();

  if (variants.some((v) => v.store === 'redis')) await deleteBenchKeys(settings.redisUrl);
  try {
    for (let round = 1; round <= settings.rounds; round++) {
      // Reverse the order every other round so a slow drift of the machine hits every variant alike.
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      const referenceRps = new Map<RouteId, number>();
      const roundRuns: { variant: Variant; route: RouteId; run: Omit<RoundMeasurement, 'ratio'> }[] = [];

      for (const variant of order) {
        if (failed.has(variant.id)) continue;
        try {
          const runs = await measureVariant(variant, settings, scratch, round, progress);
          for (const [route, run] of runs) {
            roundRuns.push({ variant, route, run: { ...run, round } });
            if (variant.id === REFERENCE) referenceRps.set(route, run.requestsPerSecond);
          }
        } catch (error) {
          failed.add(variant.id);
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ variant: variant.id, error: message });
          progress(`  ${variant.id} FAILED: ${message.split('\n')[0]}`);
        }
      }

      for (const { variant, route, run } of roundRuns) {
        const reference = referenceRps.get(route);
        const ratio = reference ? run.requestsPerSecond / reference : Number.NaN;
        const key = `${variant.id}\u0000${route}`;
        measurements.set(key, [...(measurements.get(key) ?? []), { ...run, ratio }]);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (variants.some((v) => v.store === 'redis')) await deleteBenchKeys(settings.redisUrl);
  }

  const cases = variants.flatMap((variant) =>
    ROUTES.flatMap((route) => {
      const rounds = measurements.get(`${variant.id}\u0000${route.id}`);
      return rounds ? [summarize(variant.id, variant.label, route.id, rounds)] : [];
    }),
  );

  let memory: MemoryReport | null = null;
  if (!settings.skipMemory) {
    progress('memory: rate-limit memory store');
    try {
      memory = await runMemoryChild(settings);
      if (settings.floodRequests > 0) {
        progress(`memory: flood of ${settings.floodRequests} requests from rotating IPv6 addresses`);
        memory.flood = await runFlood(settings);
      }
    } catch (error) {
      failures.push({ variant: 'memory', error: error instanceof Error ? error.message : String(error) });
    }
  }

  return {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtEnd: describeMachine().loadAverage,
    settings: {
      load: 'seconds' in settings.size ? `${settings.size.seconds} s` : `${settings.size.requests} requests`,
      warmupSeconds: settings.warmupSeconds,
      rounds: settings.rounds,
      connections: settings.connections,
      pluginBuild: settings.build,
      nodeEnv: 'production',
    },
    routes: ROUTES.map((r) => ({ ...r })),
    cases,
    targets: evaluateTargets(cases, memory),
    memory,
    failures,
  };
}

/** Writes latest.json and a dated copy under the results directory, and BENCHMARKS.md when asked. */
export function writeResults(
  results: BenchResults,
  settings: BenchSettings,
  repositoryRoot: string,
): string[] {
  const written: string[] = [];
  if (!settings.resultsDir) return written;
  mkdirSync(settings.resultsDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const dated = join(settings.resultsDir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  const latest = join(settings.resultsDir, 'latest.json');
  writeFileSync(dated, json);
  writeFileSync(latest, json);
  written.push(latest, dated);
  if (settings.writeMarkdown) {
    const markdown = join(repositoryRoot, 'BENCHMARKS.md');
    writeFileSync(markdown, formatMarkdown(results, relative(repositoryRoot, dated)));
    written.push(markdown);
  }
  return written;
}

function selectVariants(only: string[] | undefined): Variant[] {
  if (!only) return [...VARIANTS];
  for (const id of only) {
    if (!VARIANTS.some((v) => v.id === id)) {
      throw new Error(
        `Unknown variant "${id}" in --only. Known variants: ${VARIANTS.map((v) => v.id).join(', ')}.`,
      );
    }
  }
  return VARIANTS.filter((v) => v.id === REFERENCE || only.includes(v.id));
}

async function measureVariant(
  variant: Variant,
  settings: BenchSettings,
  scratch: string,
  round: number,
  progress: Progress,
) {
  const server = await startServer(variant.id, settings.build, {
    BENCH_REDIS_URL: settings.redisUrl,
    BENCH_REDIS_PREFIX: BENCH_REDIS_PREFIX,
    BENCH_SQLITE_PATH: join(scratch, `${variant.id}-${round}.sqlite`),
  });
  const runs = new Map<RouteId, Awaited<ReturnType<typeof runLoad>>>();
  try {
    const credentials = await fetchCredentials(server.port);
    const failedChecks = await verifyVariant(variant, server.port, credentials);
    if (failedChecks.length > 0)
      throw new Error(`Variant ${variant.id} failed its checks: ${failedChecks.join('; ')}`);
    for (const route of ROUTES) {
      if (settings.warmupSeconds > 0) {
        await runLoad(server.port, route.id, credentials, settings.connections, {
          seconds: settings.warmupSeconds,
        });
      }
      const cpuBefore = await server.cpuMicroseconds();
      const run = await runLoad(server.port, route.id, credentials, settings.connections, settings.size);
      const cpuAfter = await server.cpuMicroseconds();
      run.serverCpuMicrosPerRequest = run.totalRequests > 0 ? (cpuAfter - cpuBefore) / run.totalRequests : 0;
      runs.set(route.id, run);
      const codes = Object.entries(run.statusCodes)
        .map(([code, count]) => `${code}x${count}`)
        .join(' ');
      progress(
        `round ${round} ${variant.id.padEnd(20)} ${route.id.padEnd(5)} ${Math.round(run.requestsPerSecond).toString().padStart(7)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  ${codes}${run.errors ? ` errors ${run.errors}` : ''}`,
      );
    }
  } finally {
    await server.stop();
  }
  return runs;
}

/** Deletes the keys the benchmark wrote in its Redis database: `bench:*` (Express rows) and `harden:*` (plugin rows). */
export async function deleteBenchKeys(url: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (const pattern of [`${BENCH_REDIS_PREFIX}*`, 'harden:*']) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
    }
  } finally {
    await client.close();
  }
}
