import type { FastifyInstance } from 'fastify';

/** The page icon: a note sheet, as SVG. Served from this origin, so the CSP needs no exception. */
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="2" y="1" width="12" height="14" rx="2" fill="#f4c542"/><path d="M5 5h6M5 8h6M5 11h4" stroke="#6b5200" stroke-width="1.2"/></svg>`;

/** GET /favicon.svg, linked from every page so browsers do not request a missing /favicon.ico. */
export async function assetRoutes(app: FastifyInstance): Promise<void> {
  app.get('/favicon.svg', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(ICON_SVG),
  );
}
