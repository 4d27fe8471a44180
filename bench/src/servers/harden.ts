import { type HardenOptions, harden, SECURITY_HEADER_NAMES } from '@harden/fastify';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
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

declare module 'fastify' {
  interface Session {
    /** The signed-in user of the benchmark's session. */
    user?: string;
  }
}

/** Store of the hardened server's sessions and rate-limit counters. */
export type HardenStore =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; client: ReturnType<typeof createClient>; keyPrefix: string };

/**
 * Builds Fastify with @harden/fastify, configured through its public options only. The measures of
 * `measures` are on with their defaults, except a rate limit the benchmark never reaches. The others
 * are turned off as far as the options allow, so a row includes whatever a disabled measure still costs.
 */
export async function buildHardenFastify(measures: MeasureSet, store: HardenStore): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(harden, hardenOptions(measures, store));

  const hasSession = app.hasRequestDecorator('session');
  const hasNonce = app.hasReplyDecorator('cspNonce');
  const hasCsrf = app.hasReplyDecorator('generateCsrf');

  // A measure that is off is turned off on every route where the options only allow that per route.
  const rateLimit = measures.rateLimit ? {} : { rateLimit: 'exempt' as const };
  const getConfig = { config: { harden: { ...rateLimit } } };
  const postConfig = { config: { harden: { ...rateLimit, csrf: { dangerouslyDisable: !measures.csrf } } } };

  app.get(SETUP_PATH, getConfig, async (request: FastifyRequest, reply: FastifyReply) => {
    if (hasSession) request.session.set('user', 'bench');
    return { csrfToken: hasCsrf ? await reply.generateCsrf() : 'none' };
  });
  app.get(PAGE_PATH, getConfig, async (request: FastifyRequest, reply: FastifyReply) => {
    const user = hasSession ? String(request.session.get('user') ?? 'guest') : 'bench';
    return reply
      .type('text/html; charset=utf-8')
      .send(renderPage(user, hasNonce ? reply.cspNonce : undefined));
  });
  app.get(JSON_PATH, getConfig, async () => ITEMS);
  app.post(POST_PATH, postConfig, async () => ({ saved: true }));
  return app;
}

/**
 * Builds the target of the IPv6 flood: the plugin with its defaults on the memory store, sessions off
 * because the flood sends no cookie, behind a proxy trusted on loopback so X-Forwarded-For names the client.
 */
export async function buildFloodTarget(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: '127.0.0.1' });
  await app.register(harden, { session: false, store: { memory: true } });
  app.get('/', async () => ({ ok: true }));
  return app;
}

function hardenOptions(measures: MeasureSet, store: HardenStore): HardenOptions {
  return {
    session: measures.session
      ? { secret: BENCH_SECRET, dangerouslyAllowMemoryStore: store.kind === 'memory' }
      : false,
    store:
      store.kind === 'memory'
        ? { memory: true }
        : store.kind === 'sqlite'
          ? { sqlite: store.path }
          : { redis: store.client, keyPrefix: store.keyPrefix },
    headers: measures.headers ? {} : { dangerouslyDisable: SECURITY_HEADER_NAMES },
    cors: measures.cors ? { origins: [ALLOWED_ORIGIN] } : {},
    // The default limit's counting, with a quota the benchmark never reaches: every request comes from 127.0.0.1.
    rateLimit: { default: `${BENCH_RATE_LIMIT_PER_MINUTE}/minute` },
  };
}
