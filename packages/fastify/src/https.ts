// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface HttpsOptions {}
export interface RouteHttpsConfig {}
export interface ResolvedHttps {}

export function resolveHttpsOptions(_options: HttpsOptions | undefined): ResolvedHttps {
  return {};
}

export async function registerHttps(_app: FastifyInstance, _resolved: ResolvedHttps, _context: HardenContext): Promise<void> {}
