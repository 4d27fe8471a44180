// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface RateLimitOptions {}
export interface RouteRateLimitConfig {}
export interface ResolvedRateLimit {}

export function resolveRateLimitOptions(_options: RateLimitOptions | undefined): ResolvedRateLimit {
  return {};
}

export async function registerRateLimit(_app: FastifyInstance, _resolved: ResolvedRateLimit, _context: HardenContext): Promise<void> {}
