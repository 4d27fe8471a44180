// Child process that serves one variant on 127.0.0.1 and reports its port to the parent over IPC.
// Usage (started by the runner): server-child.ts <variant-id>, with BENCH_REDIS_URL, BENCH_REDIS_PREFIX
// and BENCH_SQLITE_PATH in the environment.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createClient } from 'redis';
import { findVariant, type Variant } from './variants.js';

/** Messages the child sends to the runner. */
export type ChildMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'memory'; heapUsedBytes: number; rssBytes: number }
  | { type: 'cpu'; microseconds: number }
  | { type: 'profile'; path: string };

type RedisClient = ReturnType<typeof createClient>;

async function start(variant: Variant): Promise<{ port: number; stop: () => Promise<void> }> {
  let redis: RedisClient | undefined;
  if (variant.store === 'redis') {
    redis = createClient({ url: requireEnv('BENCH_REDIS_URL') });
    await redis.connect();
  }
  const closeRedis = async () => {
    if (redis?.isOpen) await redis.close();
  };

  // Each stack is imported only in its own child, so one variant's dependencies cannot break or slow another.
  if (variant.stack === 'express') {
    const { buildExpressServer } = await import('./servers/express.js');
    const prefix = requireEnv('BENCH_REDIS_PREFIX');
    const server = buildExpressServer(redis ? { kind: 'redis', client: redis, prefix } : { kind: 'memory' });
    const port = await listenNode(server);
    const stop = async () => {
      await closeNode(server);
      await closeRedis();
    };
    return { port, stop };
  }

  const app = await buildFastify(variant, redis);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const stop = async () => {
    await app.close();
    await closeRedis();
  };
  return { port, stop };
}

async function buildFastify(variant: Variant, redis: RedisClient | undefined): Promise<FastifyInstance> {
  if (variant.stack === 'fastify-bare') return (await import('./servers/fastify.js')).buildBareFastify();
  if (variant.stack === 'fastify-floor') return (await import('./servers/fastify.js')).buildFloorFastify();

  const { buildFloodTarget, buildHardenFastify } = await import('./servers/harden.js');
  if (variant.stack === 'harden-flood') return buildFloodTarget();
  if (redis) {
    const keyPrefix = `${requireEnv('BENCH_REDIS_PREFIX')}harden:`;
    return buildHardenFastify(variant.measures, { kind: 'redis', client: redis, keyPrefix });
  }
  if (variant.store === 'sqlite') {
    return buildHardenFastify(variant.measures, { kind: 'sqlite', path: requireEnv('BENCH_SQLITE_PATH') });
  }
  return buildHardenFastify(variant.measures, { kind: 'memory' });
}

function listenNode(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeNode(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the runner sets it for this variant`);
  return value;
}

/** Sends heap and RSS after a full GC. The runner starts the child with --expose-gc when it requests memory. */
function sendMemory(): void {
  if (!globalThis.gc) {
    send({ type: 'failed', error: 'memory was requested but the child runs without --expose-gc' });
    return;
  }
  globalThis.gc();
  globalThis.gc();
  const usage = process.memoryUsage();
  send({ type: 'memory', heapUsedBytes: usage.heapUsed, rssBytes: usage.rss });
}

let profiler: Session | undefined;

/** Starts the V8 CPU profiler in this process, so a profile covers only the load the runner sends. */
async function startProfile(): Promise<void> {
  profiler = new Session();
  profiler.connect();
  await post(profiler, 'Profiler.enable');
  await post(profiler, 'Profiler.start');
}

/** Stops the profiler, writes the profile to a temporary file and sends its path. */
async function stopProfile(): Promise<void> {
  if (!profiler) throw new Error('profile-stop without profile-start');
  const { profile } = (await post(profiler, 'Profiler.stop')) as { profile: object };
  profiler.disconnect();
  profiler = undefined;
  const path = join(mkdtempSync(join(tmpdir(), 'harden-bench-profile-')), `${process.argv[2]}.cpuprofile`);
  writeFileSync(path, JSON.stringify(profile));
  send({ type: 'profile', path });
}

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

const variantId = process.argv[2];
if (!variantId) throw new Error('Usage: server-child.ts <variant-id>');

try {
  const { port, stop } = await start(findVariant(variantId));
  // tsx turns source maps on, which makes every Error's stack expensive to read. A production server
  // runs the compiled code without them, so the measured server does too.
  process.setSourceMapsEnabled(false);
  process.on('message', (message) => {
    if (message === 'profile-start' || message === 'profile-stop') {
      (message === 'profile-start' ? startProfile() : stopProfile()).catch((error: unknown) => {
        send({ type: 'failed', error: String(error) });
      });
      return;
    }
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', microseconds: usage.user + usage.system });
      return;
    }
    if (message === 'memory') {
      sendMemory();
      return;
    }
    if (message !== 'stop') return;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'listening', port });
} catch (error) {
  const summary = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  send({ type: 'failed', error: `${summary}\n${stack}` });
  process.exit(1);
}
