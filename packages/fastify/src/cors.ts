// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface CorsOptions {}
export interface RouteCorsConfig {}
export interface ResolvedCors {}

export function resolveCorsOptions(_options: CorsOptions | undefined): ResolvedCors {
  return {};
}

export async function registerCors(_app: FastifyInstance, _resolved: ResolvedCors, _context: HardenContext): Promise<void> {}
