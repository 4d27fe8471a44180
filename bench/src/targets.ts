import type { RouteId } from './load.js';
import type { MemoryReport } from './memory-types.js';
import { type CaseResult, median, type TargetResult } from './results.js';

/** Ratio targets to bare Fastify, per variant and routes; a target holds when every listed route meets it. */
const RATIO_TARGETS: {
  id: string;
  description: string;
  variant: string;
  routes: RouteId[];
  threshold: number;
}[] = [
  {
    id: 'json-headers-cors-ratelimit',
    description: 'JSON route, headers + CORS + default rate limit, memory store, vs bare Fastify',
    variant: 'harden-api-memory',
    routes: ['json'],
    threshold: 0.75,
  },
  {
    id: 'html-headers-cors-ratelimit-nonce',
    description: 'HTML route, same plus a per-response CSP nonce, vs bare Fastify',
    variant: 'harden-api-memory',
    routes: ['page'],
    threshold: 0.65,
  },
  {
    id: 'all-measures-sqlite',
    description: 'every measure on, SQLite store, worst route vs bare Fastify',
    variant: 'harden-all-sqlite',
    routes: ['page', 'json', 'post'],
    threshold: 0.5,
  },
  {
    id: 'all-measures-redis',
    description: 'every measure on, Redis store, worst route vs bare Fastify',
    variant: 'harden-all-redis',
    routes: ['page', 'json', 'post'],
    threshold: 0.45,
  },
];

/** Hardened Fastify against the Express stack on the same kind of store: requests per second, worst route. */
const VERSUS_EXPRESS: { id: string; harden: string; express: string }[] = [
  { id: 'vs-express-sqlite-default', harden: 'harden-all-sqlite', express: 'express-memory' },
  { id: 'vs-express-memory', harden: 'harden-all-memory', express: 'express-memory' },
  { id: 'vs-express-redis', harden: 'harden-all-redis', express: 'express-redis' },
];
const VERSUS_EXPRESS_THRESHOLD = 4;
const MEMORY_BYTES_PER_KEY_MAX = 150;

/** Checks every target against this run's medians and memory report. */
export function evaluateTargets(cases: readonly CaseResult[], memory: MemoryReport | null): TargetResult[] {
  const find = (variant: string, route: RouteId) =>
    cases.find((c) => c.variant === variant && c.route === route);
  const targets: TargetResult[] = [];

  for (const target of RATIO_TARGETS) {
    const found = target.routes.map((route) => find(target.variant, route));
    const measured = found.every((c) => c?.allExpectedStatus)
      ? Math.min(...found.map((c) => c?.median.ratio ?? 0))
      : null;
    // Server CPU per request is steadier than requests/s on a shared machine, so it is shown beside the ratio.
    const cpuRatios = target.routes.map((route) => {
      const reference = find('fastify', route)?.median.serverCpuMicrosPerRequest ?? Number.NaN;
      const variant = find(target.variant, route)?.median.serverCpuMicrosPerRequest ?? Number.NaN;
      return reference / variant;
    });
    const cpuRatio = Math.min(...cpuRatios);
    const cpuNote = Number.isFinite(cpuRatio)
      ? `; bare/variant server CPU per request ${cpuRatio.toFixed(2)}`
      : '';
    targets.push(
      minTarget(
        target.id,
        target.description,
        measured,
        target.threshold,
        `${target.variant} on ${target.routes.join(', ')}${cpuNote}`,
      ),
    );
  }

  for (const pair of VERSUS_EXPRESS) {
    const perRoute: number[] = [];
    for (const route of ['page', 'json', 'post'] as const) {
      const harden = find(pair.harden, route);
      const express = find(pair.express, route);
      if (!harden?.allExpectedStatus || !express?.allExpectedStatus) continue;
      // Pair the rounds: both were measured in the same round, so machine drift cancels out.
      const ratios = harden.rounds.map((round) => {
        const other = express.rounds.find((r) => r.round === round.round);
        return other ? round.requestsPerSecond / other.requestsPerSecond : Number.NaN;
      });
      perRoute.push(median(ratios.filter(Number.isFinite)));
    }
    const measured = perRoute.length === 3 ? Math.min(...perRoute) : null;
    targets.push(
      minTarget(
        pair.id,
        `${pair.harden} vs ${pair.express}, requests/s, worst route`,
        measured,
        VERSUS_EXPRESS_THRESHOLD,
        'times the Express stack',
      ),
    );
  }

  const largest = memory?.steps.at(-1);
  targets.push({
    id: 'memory-bytes-per-key',
    description: 'rate-limit memory store, heap bytes per tracked key (largest key count)',
    measured: largest ? Math.round(largest.heapBytesPerKey) : null,
    threshold: MEMORY_BYTES_PER_KEY_MAX,
    kind: 'max',
    status: passOrMiss(largest ? largest.heapBytesPerKey <= MEMORY_BYTES_PER_KEY_MAX : null),
    detail: largest ? `${largest.keys} keys` : 'no memory run',
  });
  const flood = memory?.flood;
  targets.push({
    id: 'memory-flood-bounded',
    description: 'rate-limit memory store under a flood of rotating IPv6 addresses stays bounded',
    measured: flood ? (flood.samples.at(-1)?.heapUsedBytes ?? null) : null,
    threshold: 0,
    kind: 'max',
    status: passOrMiss(flood ? flood.bounded : null),
    detail: flood ? `${flood.requests} requests, ${flood.distinctKeys} distinct keys` : 'no flood run',
  });
  return targets;
}

function minTarget(
  id: string,
  description: string,
  measured: number | null,
  threshold: number,
  detail: string,
): TargetResult {
  return {
    id,
    description,
    measured: measured === null ? null : Math.round(measured * 100) / 100,
    threshold,
    kind: 'min',
    status: passOrMiss(measured === null ? null : measured >= threshold),
    detail,
  };
}

function passOrMiss(met: boolean | null): TargetResult['status'] {
  if (met === null) return 'not measured';
  return met ? 'pass' : 'miss';
}
