import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * Starts a plain-HTTP listener that hands every request to the same app as its HTTPS listener. The
 * app sees those requests as HTTP, so the plugin's forceHttps redirects them (health checks excepted).
 * The caller closes the returned server.
 */
export async function listenHttpRedirect(app: FastifyInstance, host: string, port: number): Promise<Server> {
  const server = createServer(app.routing);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
