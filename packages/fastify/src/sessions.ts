// PLACEHOLDER: replaced by the real module. Keep the exported names.
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';

export interface SessionOptions {}
export interface RouteSessionConfig {}
export interface ResolvedSession {}

export function resolveSessionOptions(_options: SessionOptions | undefined): ResolvedSession {
  return {};
}

export async function registerSession(_app: FastifyInstance, _resolved: ResolvedSession, _context: HardenContext): Promise<void> {}
