import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/** GET /healthz: liveness, with a database round trip. Exempt from rate limits and the HTTPS redirect. */
export async function healthRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  app.get(
    '/healthz',
    {
      // NOTE: the exemption settings follow the route config of @harden/fastify; check their names
      // against options.ts when the rate-limit and HTTPS measures change.
      config: { harden: { rateLimit: false, https: { exempt: true } } as never },
    },
    async (_request, reply) => {
      db.sqlite.prepare('SELECT 1').get();
      return reply.header('cache-control', 'no-store').send({ status: 'ok' });
    },
  );
}
