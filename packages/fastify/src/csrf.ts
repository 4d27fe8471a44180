// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface CsrfOptions {}
export interface RouteCsrfConfig {}
export interface ResolvedCsrf {}

export function resolveCsrfOptions(_options: CsrfOptions | undefined): ResolvedCsrf {
  return {};
}

export async function registerCsrf(_app: FastifyInstance, _resolved: ResolvedCsrf, _context: HardenContext): Promise<void> {}
