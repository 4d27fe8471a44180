import {
  clientKeyFromIp,
  describeValue,
  HardenConfigError,
  INVALID_ADDRESS_KEY,
  parseRates,
  type Rate,
  type RateSpec,
  resolveClientKeyOptions,
} from '@harden/core';
import type { FastifyContextConfig, FastifyInstance, preValidationHookHandler, RouteOptions } from 'fastify';
import type { HardenContext } from './context.js';
import {
  type BruteForceApi,
  type BruteForceOptions,
  createBruteForceApi,
  type ResolvedBruteForce,
  resolveBruteForceOptions,
} from './rate-limit/brute-force.js';
import { type Counter, countAndDecide, formatPolicy, groupCounters } from './rate-limit/counting.js';
import { createLimiterFactory, type LimiterFactory } from './rate-limit/limiters.js';
import { DEFAULT_MEMORY_MAX_KEYS } from './rate-limit/memory-counters.js';
import type { StoreErrorBehavior } from './rate-limit/redis-limiter.js';

export type {
  Attempt,
  AttemptGuard,
  BruteForceApi,
  BruteForceOptions,
  GuardOptions,
} from './rate-limit/brute-force.js';
export { accountKey, mailboxKey, normalizeAccountId } from './rate-limit/brute-force.js';
export type { StoreErrorBehavior } from './rate-limit/redis-limiter.js';

/**
 * Rate limits. Every route gets the default limit per client key, and a route can add its own limits
 * or a named shared limit in `config.harden.rateLimit`. Counters live in the plugin's store.
 */
export interface RateLimitOptions {
  /** Limit of every route, per client key: one rate or several (`['300/minute', '5000/day']`). Default: `'300/minute'`. */
  default?: RateSpec;
  /** Named limits that routes share with `{ shared: name }`, counted once for all of them. Default: none. */
  limits?: Readonly<Record<string, RateSpec>>;
  /**
   * Behaviour when the store (Redis) fails. `'memory-fallback'` (default): each process keeps limiting
   * with its own memory counters until the store is back. `'reject'`: limited requests get 503.
   */
  onStoreError?: StoreErrorBehavior;
  /** IPv6 addresses within one prefix of this length share a client key. Default: 64. */
  ipv6PrefixLength?: number;
  /**
   * Keys one memory table tracks (per limit and window) before it evicts the oldest window, with the
   * memory store and the memory fallback. Default: 100000.
   */
  memoryMaxKeys?: number;
  /** Failed-login and password-reset counting, per account and per client. */
  bruteForce?: BruteForceOptions;
}

/** Route value that turns rate limiting off for one route, for health checks and static assets. */
export const EXEMPT = 'exempt';

/**
 * A route's rate limit under `config.harden.rateLimit`, counted in addition to the default:
 * a rate (`'5/minute'`), several rates (`['5/minute', '100/day']`), a shared limit (`{ shared: 'auth' }`),
 * or `'exempt'`, which turns every limit off for the route (health checks, static assets).
 */
export type RouteRateLimitConfig = RateSpec | { shared: string } | typeof EXEMPT;

/** Validated rate-limit options. */
export interface ResolvedRateLimit {
  readonly defaultRates: readonly Rate[];
  readonly sharedRates: ReadonlyMap<string, readonly Rate[]>;
  readonly onStoreError: StoreErrorBehavior;
  readonly ipv6PrefixLength: number;
  readonly memoryMaxKeys: number;
  readonly bruteForce: ResolvedBruteForce;
}

/** The API the plugin adds to the Fastify instance as `app.harden`. */
export interface HardenApi {
  /** Failed-login and password-reset counting; see AttemptGuard. */
  bruteForce: BruteForceApi;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The plugin's API for route handlers, such as `app.harden.bruteForce.login`. */
    harden: HardenApi;
  }
}

/** Key of a route's config holding its RateLimit-Policy header, when the route has a limit of its own. */
const ROUTE_POLICY: unique symbol = Symbol('harden.rateLimit.policy');

type RouteConfigWithPolicy = FastifyContextConfig & { [ROUTE_POLICY]?: string };

/** Default limit of every route. */
export const DEFAULT_RATE = '300/minute';

const OPTION_KEYS = new Set([
  'default',
  'limits',
  'onStoreError',
  'ipv6PrefixLength',
  'memoryMaxKeys',
  'bruteForce',
]);
const RESERVED_LIMIT_NAMES = new Set(['default', 'route']);
const LIMIT_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;

/** Validates the rate-limit options once, at registration. Throws HardenConfigError naming the option. */
export function resolveRateLimitOptions(options: RateLimitOptions | undefined): ResolvedRateLimit {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new HardenConfigError(
      'rateLimit',
      options,
      'it is not an object',
      "give { default: '300/minute' } or leave it out",
    );
  }
  for (const key of Object.keys(options ?? {})) {
    if (!OPTION_KEYS.has(key)) {
      throw new HardenConfigError(
        `rateLimit.${key}`,
        options?.[key as keyof RateLimitOptions],
        'it is not a known option',
        `use one of ${[...OPTION_KEYS].join(', ')}`,
      );
    }
  }

  const defaultRates = parseRates(options?.default ?? DEFAULT_RATE, 'rateLimit.default');

  const sharedRates = new Map<string, readonly Rate[]>();
  const limits = options?.limits ?? {};
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw new HardenConfigError(
      'rateLimit.limits',
      limits,
      'it is not an object of named limits',
      "give { auth: ['10/minute', '100/day'] }",
    );
  }
  for (const [name, spec] of Object.entries(limits)) {
    if (!LIMIT_NAME_PATTERN.test(name) || RESERVED_LIMIT_NAMES.has(name)) {
      throw new HardenConfigError(
        `rateLimit.limits.${name}`,
        name,
        'a limit name must be 1 to 40 lower-case letters, digits, - or _, starting with a letter, and not "default" or "route"',
        "rename it, for example 'auth'",
      );
    }
    sharedRates.set(name, parseRates(spec, `rateLimit.limits.${name}`));
  }

  const onStoreError = options?.onStoreError ?? 'memory-fallback';
  if (onStoreError !== 'memory-fallback' && onStoreError !== 'reject') {
    throw new HardenConfigError(
      'rateLimit.onStoreError',
      onStoreError,
      "it must be 'memory-fallback' or 'reject'",
      "use 'memory-fallback' to keep limiting per process, or 'reject' to answer 503",
    );
  }

  const { ipv6PrefixLength } = resolveClientKeyOptions(
    options?.ipv6PrefixLength === undefined ? undefined : { ipv6PrefixLength: options.ipv6PrefixLength },
    'rateLimit.ipv6PrefixLength',
  );

  const memoryMaxKeys = options?.memoryMaxKeys ?? DEFAULT_MEMORY_MAX_KEYS;
  if (!Number.isInteger(memoryMaxKeys) || memoryMaxKeys < 1000) {
    throw new HardenConfigError(
      'rateLimit.memoryMaxKeys',
      memoryMaxKeys,
      'it must be a whole number of at least 1000',
      'give 100000 (about 10 MB per limit) or more',
    );
  }

  const bruteForce = resolveBruteForceOptions(options?.bruteForce, 'rateLimit.bruteForce');
  return { defaultRates, sharedRates, onStoreError, ipv6PrefixLength, memoryMaxKeys, bruteForce };
}

/**
 * Registers the rate limits and the brute-force guard.
 *
 * Where the counting runs: the default limit in the plugin's first `onRequest` hook, before the body is
 * read and before CORS, sessions and CSRF can reject a request, so every request is counted and a flood costs no
 * body parsing and no session lookup. Register rate limits before those measures. A route's own or shared limit in `preValidation`, after the body is parsed (within
 * Fastify's bodyLimit), so the app's onRejection can show a refused form again with what the user typed.
 * The brute-force guard runs in the handler, which has the parsed body and the account name.
 *
 * Route limits are planned in `onRoute`, so only routes added after the plugin get their own limits;
 * register the plugin first. Every request counts against the default limit, including requests that
 * match no route, except on routes whose `config.harden.rateLimit` is 'exempt'.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  resolved: ResolvedRateLimit,
  context: HardenContext,
): Promise<void> {
  const factory = createLimiterFactory(context.store, resolved, app.log);
  const counting = { onRejection: context.onRejection };
  const prefixLength = resolved.ipv6PrefixLength;
  const clientKeyOf = createClientKeyCache(prefixLength);

  const defaultCounters = buildCounters(factory, 'default', 'default', resolved.defaultRates);
  const defaultGroup = groupCounters(defaultCounters);
  const defaultPolicy = defaultCounters.map((counter) => counter.policy).join(', ');

  const sharedCounters = new Map<string, readonly Counter[]>();
  for (const [name, rates] of resolved.sharedRates) {
    sharedCounters.set(name, buildCounters(factory, name, `shared:${name}`, rates));
  }

  // Route counters by storage name and rates, so routes of one name share one set of counters whatever
  // the store. Fastify's automatic HEAD route of a GET route takes the GET route's name (it runs the
  // same handler without the body), so HEAD and GET share one count.
  const routeCounterCache = new Map<string, readonly Counter[]>();
  const getRouteNames = new Map<string, string>();
  const routeCountersFor = (method: RouteOptions['method'], url: string, rates: readonly Rate[]) => {
    const ratesKey = rates.map((rate) => rate.source).join(',');
    const methods = Array.isArray(method) ? method : [method];
    let name = `route:${methods.join(',')}:${url}`;
    if (methods.includes('GET')) getRouteNames.set(`${url} ${ratesKey}`, name);
    else if (method === 'HEAD') name = getRouteNames.get(`${url} ${ratesKey}`) ?? name;
    const cacheKey = `${name} ${ratesKey}`;
    let counters = routeCounterCache.get(cacheKey);
    if (counters === undefined) {
      counters = buildCounters(factory, 'route', name, rates);
      routeCounterCache.set(cacheKey, counters);
    }
    return counters;
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    const where = `route ${describeMethods(route.method)} ${route.url}`;
    const config = route.config?.harden?.rateLimit;
    if (config === EXEMPT) return;

    let routeCounters: readonly Counter[] = [];
    if (config !== undefined) {
      const option = `${where} config.harden.rateLimit`;
      if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
        routeCounters = sharedLimitCounters(config, sharedCounters, option);
      } else {
        routeCounters = routeCountersFor(route.method, route.url, parseRouteRates(config, option));
      }
    }
    if (routeCounters.length === 0) return;

    // The default limit's hook below reads the full policy header from the route's config.
    const policyHeader = [defaultPolicy, ...routeCounters.map((counter) => counter.policy)].join(', ');
    route.config = { ...route.config, [ROUTE_POLICY]: policyHeader } as typeof route.config;

    const routeGroup = groupCounters(routeCounters);
    const countRouteLimit: preValidationHookHandler = (request, reply, done) => {
      countAndDecide(routeGroup, clientKeyOf(request.ip), request, reply, counting, done);
    };
    route.preValidation = [countRouteLimit, ...asArray(route.preValidation)];
  });

  // The default limit counts every request here, in the first onRequest hook of the plugin: before
  // CORS rejects a preflight, before the session is loaded and before the cross-origin check, so a
  // flood of requests those measures refuse is counted and cut off with 429 like any other. Requests
  // that match no route count here too.
  app.addHook('onRequest', function countDefaultLimit(request, reply, done) {
    const config = request.is404 ? undefined : (request.routeOptions.config as RouteConfigWithPolicy);
    if (config?.harden?.rateLimit === EXEMPT) {
      done();
      return;
    }
    reply.header('ratelimit-policy', config?.[ROUTE_POLICY] ?? defaultPolicy);
    countAndDecide(defaultGroup, clientKeyOf(request.ip), request, reply, counting, done);
  });

  const bruteForce = createBruteForceApi(resolved.bruteForce, factory, {
    ipv6PrefixLength: prefixLength,
    onRejection: context.onRejection,
  });
  if (app.hasDecorator('harden')) {
    app.harden.bruteForce = bruteForce;
  } else {
    app.decorate('harden', { bruteForce });
  }
}

/** Addresses whose client key is remembered; the cache starts over when full, so a flood cannot grow it. */
const CLIENT_KEY_CACHE_SIZE = 10_000;

/** Returns clientKeyFromIp with a bounded cache, because parsing an IPv6 address
 * costs microseconds (1.6 to 2.8 µs measured on the shared build machine). */
function createClientKeyCache(prefixLength: number): (address: string) => string {
  let cache = new Map<string, string>();
  return (address) => {
    // request.ip is a string for every live socket; a destroyed one can leave it undefined.
    if (typeof address !== 'string') return INVALID_ADDRESS_KEY;
    let key = cache.get(address);
    if (key === undefined) {
      key = clientKeyFromIp(address, prefixLength);
      if (cache.size >= CLIENT_KEY_CACHE_SIZE) cache = new Map();
      cache.set(address, key);
    }
    return key;
  };
}

function buildCounters(
  factory: LimiterFactory,
  limitName: string,
  storageName: string,
  rates: readonly Rate[],
): Counter[] {
  return rates.map((rate) => {
    const policyName = rates.length === 1 ? limitName : `${limitName}-${rate.windowSeconds}s`;
    return {
      limitName,
      policyName,
      rate,
      policy: formatPolicy(policyName, rate),
      limiter: factory.create({
        name: `${storageName}:${rate.windowSeconds}`,
        points: rate.points,
        duration: rate.windowSeconds,
      }),
    };
  });
}

function parseRouteRates(config: unknown, option: string): readonly Rate[] {
  try {
    return parseRates(config, option);
  } catch (error) {
    if (!(error instanceof HardenConfigError)) throw error;
    throw new HardenConfigError(
      option,
      config,
      error.message.replace(/^Invalid option .*? = .*?: /, '').replace(/\. Fix: .*$/, ''),
      `${error.fix}; or { shared: '<name>' } for a limit of rateLimit.limits, or '${EXEMPT}' for no limit`,
    );
  }
}

function sharedLimitCounters(
  config: object,
  shared: ReadonlyMap<string, readonly Counter[]>,
  option: string,
): readonly Counter[] {
  const keys = Object.keys(config);
  const name = (config as { shared?: unknown }).shared;
  if (keys.length !== 1 || typeof name !== 'string') {
    throw new HardenConfigError(
      option,
      config,
      'an object must be exactly { shared: <limit name> }',
      "write { shared: 'auth' } with 'auth' defined in rateLimit.limits",
    );
  }
  const counters = shared.get(name);
  if (counters === undefined) {
    const known = shared.size === 0 ? 'none is defined' : `defined: ${[...shared.keys()].join(', ')}`;
    throw new HardenConfigError(
      option,
      config,
      `no shared limit is named ${describeValue(name)} (${known})`,
      `define it in rateLimit.limits, for example { ${name}: '10/minute' }`,
    );
  }
  return counters;
}

function describeMethods(method: RouteOptions['method']): string {
  return Array.isArray(method) ? method.join(',') : String(method);
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
