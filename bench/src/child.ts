import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './server-child.js';

const SERVER_CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Build of @harden/fastify that the children import: the compiled dist, or the TypeScript sources. */
export type PluginBuild = 'dist' | 'source';

/** A server variant running in its own process. */
export interface RunningServer {
  port: number;
  pid: number;
  /** Heap used and RSS of the child after a full GC; needs the child started with --expose-gc. */
  memory: () => Promise<{ heapUsedBytes: number; rssBytes: number }>;
  /** Starts the CPU profiler in the child. */
  startProfile: () => void;
  /** Stops the CPU profiler in the child and resolves with the path of the .cpuprofile it wrote. */
  stopProfile: () => Promise<string>;
  /** CPU time (user + system) the child has used so far, in microseconds. */
  cpuMicroseconds: () => Promise<number>;
  stop: () => Promise<void>;
}

/**
 * Starts a variant in a child process (through tsx, since the bench is TypeScript) and resolves once
 * it listens. `build` picks the export condition of @harden/fastify.
 */
export function startServer(
  variantId: string,
  build: PluginBuild,
  env: NodeJS.ProcessEnv,
  extraExecArgv: readonly string[] = [],
): Promise<RunningServer> {
  const execArgv = [
    '--import',
    'tsx',
    ...(build === 'source' ? ['--conditions=source'] : []),
    ...extraExecArgv,
  ];
  const child = fork(SERVER_CHILD, [variantId], {
    execArgv,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Variant ${variantId} did not listen within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Variant ${variantId} exited with code ${code} before listening`));
    });
    child.once('message', (message: ChildMessage) => {
      clearTimeout(timer);
      if (message.type === 'failed') {
        reject(new Error(`Variant ${variantId} failed to start: ${message.error}`));
        return;
      }
      if (message.type !== 'listening') {
        reject(new Error(`Variant ${variantId} sent ${message.type} before listening`));
        return;
      }
      child.removeAllListeners('exit');
      resolve({
        port: message.port,
        pid: child.pid ?? -1,
        memory: () => requestMemory(child),
        cpuMicroseconds: () => requestCpu(child),
        startProfile: () => child.send('profile-start'),
        stopProfile: () => requestProfile(child),
        stop: () => stopChild(child),
      });
    });
  });
}

function requestProfile(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    child.once('message', (message: ChildMessage) => {
      if (message.type === 'profile') resolve(message.path);
      else reject(new Error(`Expected a profile from the child, got ${JSON.stringify(message)}`));
    });
    child.send('profile-stop');
  });
}

function requestCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('message', (message: ChildMessage) => {
      if (message.type === 'cpu') resolve(message.microseconds);
      else reject(new Error(`Expected a CPU report from the child, got ${JSON.stringify(message)}`));
    });
    child.send('cpu');
  });
}

function requestMemory(child: ChildProcess): Promise<{ heapUsedBytes: number; rssBytes: number }> {
  return new Promise((resolve, reject) => {
    child.once('message', (message: ChildMessage) => {
      if (message.type === 'memory')
        resolve({ heapUsedBytes: message.heapUsedBytes, rssBytes: message.rssBytes });
      else reject(new Error(`Expected a memory report from the child, got ${JSON.stringify(message)}`));
    });
    child.send('memory');
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send('stop');
  });
}
