// Profiles one variant: starts it, warms it up, records a V8 CPU profile of one route under load, and
// prints the packages and functions with the most self time, to find where a missed target's cost is.
// Usage: node --import tsx bench/src/profile.ts <variant-id> [page|json|post] [seconds] [--source]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './child.js';
import { fetchCredentials, type RouteId, runLoad } from './load.js';
import { BENCH_REDIS_PREFIX, deleteBenchKeys } from './run.js';
import { findVariant } from './variants.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

const TOP = 30;

const args = process.argv.slice(2).filter((a) => a !== '--source');
const source = process.argv.includes('--source');
const [variantId = 'fastify', route = 'page', seconds = '5'] = args;
const variant = findVariant(variantId);
const scratch = mkdtempSync(join(tmpdir(), 'harden-bench-'));
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/6';

const server = await startServer(variant.id, source ? 'source' : 'dist', {
  BENCH_REDIS_URL: redisUrl,
  BENCH_REDIS_PREFIX,
  BENCH_SQLITE_PATH: join(scratch, 'profile.sqlite'),
});
let profilePath: string;
try {
  const credentials = await fetchCredentials(server.port);
  // Warm up first and profile only the measured load, so start-up and JIT compilation stay out.
  await runLoad(server.port, route as RouteId, credentials, 50, { seconds: 1 });
  server.startProfile();
  const run = await runLoad(server.port, route as RouteId, credentials, 50, { seconds: Number(seconds) });
  profilePath = await server.stopProfile();
  process.stdout.write(
    `${variant.id} ${route}: ${Math.round(run.requestsPerSecond)} req/s, ${JSON.stringify(run.statusCodes)}\n`,
  );
} finally {
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
  if (variant.store === 'redis') await deleteBenchKeys(redisUrl);
}

const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfSamples = new Map<string, number>();
for (const id of profile.samples) {
  const frame = byId.get(id)?.callFrame;
  if (!frame) continue;
  const where = frame.url
    ? `${frame.url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:${frame.lineNumber + 1}`
    : '';
  const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  selfSamples.set(key, (selfSamples.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
const idle = selfSamples.get('(idle)') ?? 0;
process.stdout.write(
  `profile: ${profilePath}\n${total} samples, ${((idle / total) * 100).toFixed(1)}% idle\n`,
);
const byPackage = new Map<string, number>();
for (const id of profile.samples) {
  const url = byId.get(id)?.callFrame.url ?? '';
  const name = packageOf(url);
  byPackage.set(name, (byPackage.get(name) ?? 0) + 1);
}
process.stdout.write('self time by package:\n');
for (const [name, count] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  process.stdout.write(`${((count / total) * 100).toFixed(1).padStart(5)}%  ${name}\n`);
}
process.stdout.write('self time by function:\n');
for (const [key, count] of [...selfSamples].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  process.stdout.write(`${((count / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
}

/** Groups a script URL by npm package, workspace package or Node.js internals. */
function packageOf(url: string): string {
  if (url === '') return '(native, GC, idle or program)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const workspace = url.match(/\/(packages\/[^/]+|bench)\//);
  return workspace?.[1] ?? url;
}
