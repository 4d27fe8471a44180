// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface HeadersOptions {}
export interface RouteHeadersConfig {}
export interface ResolvedHeaders {}

export function resolveHeadersOptions(_options: HeadersOptions | undefined): ResolvedHeaders {
  return {};
}

export async function registerHeaders(_app: FastifyInstance, _resolved: ResolvedHeaders, _context: HardenContext): Promise<void> {}
