import Fastify, { type FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { ITEMS, JSON_PATH, PAGE_PATH, POST_PATH, renderPage, SETUP_PATH } from '../routes.js';

/** Bare Fastify with the benchmark routes: the reference every ratio is taken against. */
export async function buildBareFastify(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  addPlainRoutes(app);
  return app;
}

/**
 * Bare Fastify plus helmet's default headers written as constant strings by a hook with no logic:
 * the cost of the header bytes alone, which no header layer can beat.
 */
export async function buildFloorFastify(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const headers = captureHelmetDefaults();
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  addPlainRoutes(app);
  return app;
}

function addPlainRoutes(app: FastifyInstance): void {
  app.get(SETUP_PATH, async () => ({ csrfToken: 'none' }));
  app.get(PAGE_PATH, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderPage('bench', undefined)),
  );
  app.get(JSON_PATH, async () => ITEMS);
  app.post(POST_PATH, async () => ({ saved: true }));
}

/**
 * Runs helmet 8's middleware with its defaults once against a recording response and returns the
 * headers it set, so the floor row sends the same bytes as helmet's defaults.
 */
export function captureHelmetDefaults(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let called = false;
  const middleware = helmet() as unknown as (
    request: object,
    response: object,
    next: (error?: unknown) => void,
  ) => void;
  middleware({}, response, (error) => {
    if (error) throw error;
    called = true;
  });
  if (!called)
    throw new Error('helmet did not call next() synchronously; the floor headers could not be captured');
  return headers;
}
