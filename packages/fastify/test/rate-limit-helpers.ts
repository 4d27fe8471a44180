// Shared set-up of the rate-limit tests: a real listening Fastify app with only the rate-limit measure,
// its log lines captured, on a store of the test's choosing.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { request } from 'undici';
import type { HardenContext } from '../src/context.js';
import { type RateLimitOptions, registerRateLimit, resolveRateLimitOptions } from '../src/rate-limit.js';
import type { RejectionHandler } from '../src/reject.js';
import { openStore, type StoreOptions } from '../src/store.js';

export interface LogLine {
  event?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface TestApp {
  app: FastifyInstance;
  url: string;
  logs: LogLine[];
  /** Log lines of one event. */
  events(name: string): LogLine[];
}

export interface TestAppOptions {
  rateLimit?: RateLimitOptions;
  store?: StoreOptions;
  /** Fastify's trustProxy. Fastify 5.12 reads a number as "trust no proxy", so tests pass addresses. */
  trustProxy?: FastifyServerOptions['trustProxy'] | number;
  host?: string;
  onRejection?: RejectionHandler;
  routes?: (app: FastifyInstance) => void;
}

/** Returns a Redis key prefix of its own for one test, so tests never see each other's counters. */
export function uniqueRedisPrefix(): string {
  return `harden-test:${randomBytes(6).toString('hex')}:`;
}

/** Starts a Fastify app with the rate-limit measure registered as the plugin does, listening on loopback. */
export async function startApp(options: TestAppOptions): Promise<TestApp> {
  const logs: LogLine[] = [];
  const app = Fastify({
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    logger: {
      level: 'info',
      stream: {
        write(line: string) {
          logs.push(JSON.parse(line) as LogLine);
        },
      },
    },
  });

  const resolved = resolveRateLimitOptions(options.rateLimit);
  const { store, close } = await openStore(options.store ?? { memory: true }, app.log);
  app.addHook('onClose', close);
  const context: HardenContext = {
    store,
    publicOrigin: undefined,
    onRejection: options.onRejection,
    production: false,
  };
  await registerRateLimit(app, resolved, context);

  if (options.routes) {
    options.routes(app);
  } else {
    app.get('/', async () => ({ ok: true }));
  }

  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: 0, host });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = host.includes(':') ? `http://[${host}]:${address.port}` : `http://${host}:${address.port}`;
  return { app, url, logs, events: (name) => logs.filter((line) => line.event === name) };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one request and reads the whole body. */
export async function send(
  url: string,
  options: { method?: 'GET' | 'POST' | 'HEAD'; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const response = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** Sends `count` requests one after another and returns their status codes. */
export async function statuses(
  count: number,
  url: string,
  options: Parameters<typeof send>[1] = {},
): Promise<number[]> {
  const codes: number[] = [];
  for (let index = 0; index < count; index++) codes.push((await send(url, options)).status);
  return codes;
}
