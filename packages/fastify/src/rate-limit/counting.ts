import type { Rate } from '@harden/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { RejectionHandler } from '../reject.js';
import { sendRejection } from '../reject.js';
import { SyncLimiter } from './limiter.js';
import type { Limiter } from './limiters.js';
import { isOverLimit } from './redis-limiter.js';

/**
 * One rate of one limit, counted per client key. `policy` is its item of the RateLimit-Policy header
 * (draft-ietf-httpapi-ratelimit-headers-10, September 2025): `"default";q=300;w=60`.
 */
export interface Counter {
  /** Limit name for logs and the rejection: `default`, `route` or a shared limit's name. */
  readonly limitName: string;
  /** Policy name in the RateLimit headers, unique within one response. */
  readonly policyName: string;
  readonly rate: Rate;
  readonly policy: string;
  readonly limiter: Limiter;
}

/** A group of counters that one hook checks together. */
export interface CounterGroup {
  readonly counters: readonly Counter[];
  /** True when every counter counts synchronously (memory, SQLite), so the hook needs no promise. */
  readonly synchronous: boolean;
}

/** A counted hit, or `undefined` when the store failed and nothing could count it. */
type Outcome = RateLimiterRes | undefined;

/** Settings the counting hooks need besides the counters. */
export interface CountingContext {
  readonly onRejection: RejectionHandler | undefined;
}

/** Builds a counter group and records whether it can count synchronously. */
export function groupCounters(counters: readonly Counter[]): CounterGroup {
  return { counters, synchronous: counters.every((counter) => counter.limiter instanceof SyncLimiter) };
}

/** Formats a RateLimit-Policy item: a quoted policy name with its quota (q) and window in seconds (w). */
export function formatPolicy(policyName: string, rate: Rate): string {
  return `"${policyName}";q=${rate.points};w=${rate.windowSeconds}`;
}

/**
 * Counts one hit of every counter of the group for the client key, sets the RateLimit header and sends
 * a 429 (or a 503 when the store failed and `onStoreError` is 'reject'). Calls `done` only when the
 * request may go on, because a hook that has replied must not continue the chain.
 */
export function countAndDecide(
  group: CounterGroup,
  key: string,
  request: FastifyRequest,
  reply: FastifyReply,
  context: CountingContext,
  done: (error?: Error) => void,
): void {
  if (group.synchronous) {
    const outcomes: Outcome[] = [];
    try {
      for (const counter of group.counters) outcomes.push((counter.limiter as SyncLimiter).hit(key));
    } catch {
      // A store error without an insurance limiter: the failure is already logged once by StoreHealth.
      outcomes.length = 0;
      for (const _ of group.counters) outcomes.push(undefined);
    }
    decide(group, outcomes, request, reply, context, done);
    return;
  }

  // consume() turns every store failure into an outcome, so this chain rejects only on a bug in decide().
  Promise.all(group.counters.map((counter) => consume(counter.limiter, key)))
    .then((outcomes) => decide(group, outcomes, request, reply, context, done))
    .catch((error: unknown) => {
      request.log.error({ event: 'rate_limit.failed', err: error }, 'Rate-limit hook failed');
      if (!reply.sent) done(error instanceof Error ? error : new Error(String(error)));
    });
}

function consume(limiter: Limiter, key: string): Promise<Outcome> {
  return limiter.consume(key).then(
    (result) => result,
    (reason: unknown) => {
      if (isOverLimit(reason)) return reason;
      // The store failed and no insurance limiter took over: StoreHealth has logged it.
      return undefined;
    },
  );
}

function decide(
  group: CounterGroup,
  outcomes: readonly Outcome[],
  request: FastifyRequest,
  reply: FastifyReply,
  context: CountingContext,
  done: (error?: Error) => void,
): void {
  let header = '';
  let exceeded: Counter | undefined;
  let retryAfterMs = 0;
  let unavailable = false;

  for (let index = 0; index < group.counters.length; index++) {
    const counter = group.counters[index] as Counter;
    const outcome = outcomes[index];
    if (outcome === undefined) {
      unavailable = true;
      continue;
    }
    const resetSeconds = Math.max(Math.ceil(outcome.msBeforeNext / 1000), 0);
    const item = `"${counter.policyName}";r=${outcome.remainingPoints};t=${resetSeconds}`;
    header = header === '' ? item : `${header}, ${item}`;
    if (outcome.consumedPoints > counter.rate.points && outcome.msBeforeNext >= retryAfterMs) {
      exceeded = counter;
      retryAfterMs = outcome.msBeforeNext;
    }
  }

  if (header !== '') {
    const earlier = reply.getHeader('ratelimit');
    reply.header('ratelimit', typeof earlier === 'string' ? `${earlier}, ${header}` : header);
  }

  if (exceeded !== undefined) {
    const retryAfterSeconds = Math.max(Math.ceil(retryAfterMs / 1000), 1);
    sendRejection(
      request,
      reply,
      {
        status: 429,
        event: 'rate_limit.exceeded',
        reason: 'rate-limited',
        // The wait is in Retry-After and details, so an app's onRejection can word it in its own message.
        message: 'Too many requests.',
        headers: { 'retry-after': String(retryAfterSeconds) },
        details: { limit: exceeded.limitName, rate: exceeded.rate.source, retryAfterSeconds },
      },
      context.onRejection,
    ).catch((error: unknown) => reply.send(error));
    return;
  }

  if (unavailable) {
    sendRejection(
      request,
      reply,
      {
        status: 503,
        // Not `rate_limit.store_unavailable`, which is logged once per outage by StoreHealth.
        event: 'rate_limit.unavailable',
        reason: 'rate-limit-store-unavailable',
        message: 'The service cannot count requests right now.',
        headers: { 'retry-after': '5' },
        details: { retryAfterSeconds: 5 },
      },
      context.onRejection,
    ).catch((error: unknown) => reply.send(error));
    return;
  }

  done();
}
