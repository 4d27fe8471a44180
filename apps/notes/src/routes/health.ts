import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/** GET /healthz: liveness, with a database round trip. Exempt from rate limits and the HTTPS redirect. */
export async function healthRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  app.get(
    '/healthz',
    // A load balancer probes over plain HTTP and often, so neither the redirect nor a limit applies.
    { config: { harden: { rateLimit: 'exempt', https: { exempt: true } } } },
    async (_request, reply) => {
      db.sqlite.prepare('SELECT 1').get();
      return reply.header('cache-control', 'no-store').send({ status: 'ok' });
    },
  );
}
