import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  buildPermissionsPolicy,
  describeValue,
  HardenConfigError,
  type PermissionsAllowlist,
  validateCspDirectives,
} from '@harden/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onSendHookHandler,
  RouteOptions,
} from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { HardenContext } from './context.js';
import { isHttpsRequest } from './https.js';
import { nextNonce } from './nonce.js';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * This response's CSP nonce (128 random bits, base64) for `<script nonce>` and `<style nonce>`.
     * The first read creates it and adds `'nonce-…'` to the response's script-src and style-src. A
     * response that never reads it gets the policy without a nonce, which allows no inline code at all.
     */
    readonly cspNonce: string;
  }
}

// ---------------------------------------------------------------------------------------------------
// Options

/** Headers the plugin sets, by lower-case name. Each can be turned off through `dangerouslyDisable`. */
export type SecurityHeaderName =
  | 'content-security-policy'
  | 'cross-origin-embedder-policy'
  | 'cross-origin-opener-policy'
  | 'cross-origin-resource-policy'
  | 'origin-agent-cluster'
  | 'permissions-policy'
  | 'referrer-policy'
  | 'x-content-type-options'
  | 'x-dns-prefetch-control'
  | 'x-download-options'
  | 'x-frame-options'
  | 'x-permitted-cross-domain-policies'
  | 'x-xss-protection';

/** Directive overrides: a source list replaces the directive, `true` sets a valueless one, `false` removes it. */
export type CspDirectiveOverrides = Readonly<Record<string, readonly string[] | boolean>>;

/** The Content-Security-Policy. Defaults: DEFAULT_CSP_DIRECTIVES plus a per-response nonce. */
export interface CspOptions {
  /** Directives set over the defaults (at route level: over the plugin's policy). Default: none. */
  directives?: CspDirectiveOverrides;
  /** Sources appended to a directive, such as `{ 'img-src': ['https://images.example'] }`. Default: none. */
  addSources?: Readonly<Record<string, readonly string[]>>;
  /** Starts from an empty policy (at route level: ignores the plugin's policy). Default: false. */
  replaceDefaults?: boolean;
  /** Sends Content-Security-Policy-Report-Only, which browsers do not enforce. Default: false. */
  dangerouslyReportOnly?: boolean;
  /** Lets script-src contain 'unsafe-inline'. Default: false. */
  dangerouslyAllowUnsafeInlineScripts?: boolean;
  /** Lets script-src contain 'unsafe-eval'. Default: false. */
  dangerouslyAllowUnsafeEval?: boolean;
}

/** Referrer-Policy values accepted. `unsafe-url` and `no-referrer-when-downgrade` send full URLs to other sites and are rejected. */
export type ReferrerPolicy =
  | 'no-referrer'
  | 'same-origin'
  | 'origin'
  | 'strict-origin'
  | 'origin-when-cross-origin'
  | 'strict-origin-when-cross-origin';

/** Security headers. Every header is on by default, and DEFAULT_HEADER_VALUES lists the defaults of the configurable ones. */
export interface HeadersOptions {
  /** The Content-Security-Policy. */
  csp?: CspOptions;
  /** Permissions-Policy: features to allow. Default: the powerful features of DISABLED_FEATURES off. */
  permissions?: { allow?: Readonly<Record<string, PermissionsAllowlist>> };
  /** Default: `strict-origin-when-cross-origin`. */
  referrerPolicy?: ReferrerPolicy;
  /** X-Frame-Options. `SAMEORIGIN` also makes the default frame-ancestors `'self'`. Default: `DENY`. */
  frameOptions?: 'DENY' | 'SAMEORIGIN';
  /** Default: `same-origin`. */
  crossOriginOpenerPolicy?: 'same-origin' | 'same-origin-allow-popups' | 'noopener-allow-popups';
  /** Default: `same-origin`. Public assets or APIs embedded by other sites need `cross-origin`. */
  crossOriginResourcePolicy?: 'same-origin' | 'same-site' | 'cross-origin';
  /** Cross-Origin-Embedder-Policy. Default: not sent, because it breaks pages that embed cross-origin resources. */
  crossOriginEmbedderPolicy?: 'require-corp' | 'credentialless';
  /** Headers not to send at all, by lower-case name. Default: none. */
  dangerouslyDisable?: readonly SecurityHeaderName[];
}

/**
 * A route's header settings, under `config.harden.headers`, merged over the plugin's: a value given here
 * replaces the plugin's, `dangerouslyDisable` adds to its list, and `csp` edits the plugin's policy
 * unless `csp.replaceDefaults` is true. Validated when the route is added.
 */
export interface RouteHeadersConfig extends HeadersOptions {}

/** The validated header options and the header values decided from them. */
export interface ResolvedHeaders {
  readonly options: HeadersOptions;
  readonly directives: Readonly<Record<string, readonly string[]>>;
  readonly headerSet: HeaderSet;
}

/**
 * Header values decided once per configuration. `names` and `values` are parallel arrays. The CSP is kept
 * apart because it changes per response: `cspParts` joined with the nonce make it.
 */
interface HeaderSet {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly cspName: string | undefined;
  readonly cspParts: readonly string[];
  readonly cspWithoutNonce: string;
}

/** The policy every page gets, before the nonce is added to script-src and style-src. */
export const DEFAULT_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  // Images from the page's origin and inline data: URLs (icons, small generated images); data: images
  // cannot run script.
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

/** Header values besides the CSP and Permissions-Policy, as the plugin sends them by default. */
export const DEFAULT_HEADER_VALUES = {
  referrerPolicy: 'strict-origin-when-cross-origin',
  frameOptions: 'DENY',
  crossOriginOpenerPolicy: 'same-origin',
  crossOriginResourcePolicy: 'same-origin',
} as const;

/** Every header the headers measure can send, the names `dangerouslyDisable` accepts. */
export const SECURITY_HEADER_NAMES: readonly SecurityHeaderName[] = [
  'content-security-policy',
  'cross-origin-embedder-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'permissions-policy',
  'referrer-policy',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

const HEADER_NAMES: ReadonlySet<string> = new Set<SecurityHeaderName>(SECURITY_HEADER_NAMES);

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'csp',
  'permissions',
  'referrerPolicy',
  'frameOptions',
  'crossOriginOpenerPolicy',
  'crossOriginResourcePolicy',
  'crossOriginEmbedderPolicy',
  'dangerouslyDisable',
]);

const CSP_FLAG_NAMES = [
  'replaceDefaults',
  'dangerouslyReportOnly',
  'dangerouslyAllowUnsafeInlineScripts',
  'dangerouslyAllowUnsafeEval',
] as const;

const CSP_OPTION_NAMES: ReadonlySet<string> = new Set([
  'directives',
  'addSources',
  'replaceDefaults',
  'dangerouslyReportOnly',
  'dangerouslyAllowUnsafeInlineScripts',
  'dangerouslyAllowUnsafeEval',
]);

const CHOICES = {
  referrerPolicy: [
    'no-referrer',
    'same-origin',
    'origin',
    'strict-origin',
    'origin-when-cross-origin',
    'strict-origin-when-cross-origin',
  ],
  frameOptions: ['DENY', 'SAMEORIGIN'],
  crossOriginOpenerPolicy: ['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups'],
  crossOriginResourcePolicy: ['same-origin', 'same-site', 'cross-origin'],
  crossOriginEmbedderPolicy: ['require-corp', 'credentialless'],
} as const;

/** Stands in for the nonce while helmet serializes the policy; the header value is split around it. */
const NONCE_SLOT = 'HardenNonceSlot0000000000';

/** Directives that receive the per-response nonce. */
const NONCE_DIRECTIVES = ['script-src', 'style-src'] as const;

// ---------------------------------------------------------------------------------------------------
// Resolution

/** Validates the headers option and decides every header value. Throws HardenConfigError on a bad value. */
export function resolveHeadersOptions(options: HeadersOptions | undefined): ResolvedHeaders {
  const given = options ?? {};
  validateHeadersOptions(given, 'headers');
  const base = given.csp?.replaceDefaults ? {} : defaultDirectives(given);
  const directives = resolveDirectives(base, given.csp, 'headers.csp');
  return { options: given, directives, headerSet: decideHeaders(given, directives, 'headers') };
}

/** Merges a route's `config.harden.headers` over the plugin's resolved headers and decides the route's header values. */
export function resolveRouteHeaders(
  plugin: ResolvedHeaders,
  route: RouteHeadersConfig,
  routeName: string,
): ResolvedHeaders {
  const prefix = `[${routeName}] config.harden.headers`;
  validateHeadersOptions(route, prefix);
  const merged: HeadersOptions = {
    ...plugin.options,
    ...route,
    csp: { ...plugin.options.csp, ...route.csp },
    permissions: { allow: { ...plugin.options.permissions?.allow, ...route.permissions?.allow } },
    dangerouslyDisable: [...(plugin.options.dangerouslyDisable ?? []), ...(route.dangerouslyDisable ?? [])],
  };
  // The route edits the plugin's final policy, so the plugin's own edits are not applied a second time.
  const routeCsp: CspOptions = {
    ...route.csp,
    dangerouslyAllowUnsafeInlineScripts: merged.csp?.dangerouslyAllowUnsafeInlineScripts,
    dangerouslyAllowUnsafeEval: merged.csp?.dangerouslyAllowUnsafeEval,
  };
  const base = route.csp?.replaceDefaults ? {} : { ...plugin.directives };
  if (route.frameOptions !== undefined && 'frame-ancestors' in base) {
    // Browsers that honour frame-ancestors ignore X-Frame-Options, so the route's choice must reach both.
    base['frame-ancestors'] = route.frameOptions === 'SAMEORIGIN' ? ["'self'"] : ["'none'"];
  }
  const directives = resolveDirectives(base, routeCsp, `${prefix}.csp`);
  return { options: merged, directives, headerSet: decideHeaders(merged, directives, prefix) };
}

function validateHeadersOptions(options: HeadersOptions, prefix: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new HardenConfigError(
      prefix,
      options,
      'it is not an object',
      'pass an object such as { frameOptions: "DENY" }',
    );
  }
  for (const key of Object.keys(options)) {
    if (OPTION_NAMES.has(key)) continue;
    const header = key.toLowerCase();
    const fix = HEADER_NAMES.has(header)
      ? `to turn the header off, write dangerouslyDisable: ['${header}']`
      : `use one of ${[...OPTION_NAMES].join(', ')}`;
    throw new HardenConfigError(
      `${prefix}.${key}`,
      options[key as keyof HeadersOptions],
      'it is not a headers option',
      fix,
    );
  }
  for (const [option, choices] of Object.entries(CHOICES)) {
    const value: unknown = options[option as keyof typeof CHOICES];
    if (value !== undefined && !(choices as readonly unknown[]).includes(value)) {
      const problem =
        option === 'referrerPolicy' && (value === 'unsafe-url' || value === 'no-referrer-when-downgrade')
          ? 'it sends the full URL, path and query included, to other sites'
          : `it is not one of ${choices.join(', ')}`;
      throw new HardenConfigError(`${prefix}.${option}`, value, problem, `use one of ${choices.join(', ')}`);
    }
  }
  const disabled: unknown = options.dangerouslyDisable;
  if (disabled !== undefined) {
    if (!Array.isArray(disabled)) {
      throw new HardenConfigError(
        `${prefix}.dangerouslyDisable`,
        disabled,
        'it is not a list of header names',
        "write a list such as ['x-frame-options']",
      );
    }
    disabled.forEach((name: unknown, index) => {
      if (typeof name !== 'string' || !HEADER_NAMES.has(name)) {
        throw new HardenConfigError(
          `${prefix}.dangerouslyDisable[${index}]`,
          name,
          'it is not a header this plugin sets',
          `use a lower-case name among ${[...HEADER_NAMES].join(', ')}`,
        );
      }
    });
  }
  const csp: unknown = options.csp;
  if (csp !== undefined) {
    if (csp === null || typeof csp !== 'object' || Array.isArray(csp)) {
      throw new HardenConfigError(
        `${prefix}.csp`,
        csp,
        'it is not an object',
        "pass an object such as { addSources: { 'img-src': ['https://images.example'] } }",
      );
    }
    for (const key of Object.keys(csp)) {
      if (!CSP_OPTION_NAMES.has(key)) {
        throw new HardenConfigError(
          `${prefix}.csp.${key}`,
          (csp as Record<string, unknown>)[key],
          'it is not a csp option',
          `use one of ${[...CSP_OPTION_NAMES].join(', ')}`,
        );
      }
    }
    for (const flag of CSP_FLAG_NAMES) {
      const value = (csp as Record<string, unknown>)[flag];
      if (value !== undefined && typeof value !== 'boolean') {
        throw new HardenConfigError(
          `${prefix}.csp.${flag}`,
          value,
          'it is not a boolean',
          'write true or false',
        );
      }
    }
  }
  const permissions: unknown = options.permissions;
  if (permissions !== undefined) {
    const keys = permissions !== null && typeof permissions === 'object' ? Object.keys(permissions) : [];
    if (Array.isArray(permissions) || keys.length === 0 || keys.some((key) => key !== 'allow')) {
      throw new HardenConfigError(
        `${prefix}.permissions`,
        permissions,
        'it is not an object with only an allow table',
        "write { allow: { camera: 'self' } }",
      );
    }
  }
}

function defaultDirectives(options: HeadersOptions): Record<string, readonly string[]> {
  const directives: Record<string, readonly string[]> = { ...DEFAULT_CSP_DIRECTIVES };
  // Browsers that honour frame-ancestors ignore X-Frame-Options, so the two must match.
  if (options.frameOptions === 'SAMEORIGIN') directives['frame-ancestors'] = ["'self'"];
  return directives;
}

/** Applies CSP options to a base policy and validates the result. Returns directives without the nonce. */
function resolveDirectives(
  base: Readonly<Record<string, readonly string[]>>,
  csp: CspOptions | undefined,
  prefix: string,
): Record<string, readonly string[]> {
  const flags = {
    dangerouslyAllowUnsafeInlineScripts: csp?.dangerouslyAllowUnsafeInlineScripts === true,
    dangerouslyAllowUnsafeEval: csp?.dangerouslyAllowUnsafeEval === true,
  };
  const result: Record<string, readonly string[]> = { ...base };

  const overrides = csp?.directives ?? {};
  const set: Record<string, readonly string[] | true> = {};
  for (const [name, value] of Object.entries(overrides)) {
    if (value === false) {
      validateCspDirectives({ [name]: ["'none'"] }, `${prefix}.directives`);
      delete result[name];
    } else {
      set[name] = value;
    }
  }
  validateCspDirectives(set, `${prefix}.directives`, flags);
  for (const [name, value] of Object.entries(set)) result[name] = value === true ? [] : value;

  const additions = csp?.addSources ?? {};
  validateCspDirectives(additions, `${prefix}.addSources`, flags);
  for (const [name, sources] of Object.entries(additions)) {
    // A fetch directive that is absent falls back to default-src, so the new list starts from it.
    const current = result[name] ?? (name.endsWith('-src') ? result['default-src'] : undefined) ?? [];
    const kept = current.filter((source) => source !== "'none'");
    result[name] = [...kept, ...sources.filter((source) => !kept.includes(source))];
  }

  const final = Object.fromEntries(
    Object.entries(result).map(([name, sources]) => [name, sources.length === 0 ? true : sources] as const),
  );
  validateCspDirectives(final, prefix, flags);
  if (!('default-src' in result)) {
    throw new HardenConfigError(
      `${prefix}.directives`,
      Object.keys(result),
      'the policy has no default-src, so every resource type without its own directive is unrestricted',
      "add 'default-src': [\"'self'\"] (or [\"'none'\"])",
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Deciding the header values with helmet

/**
 * Runs helmet's middleware once against a response that only records headers, and returns the recorded
 * values with Permissions-Policy added. Helmet's own validation errors become HardenConfigError.
 */
function decideHeaders(
  options: HeadersOptions,
  directives: Readonly<Record<string, readonly string[]>>,
  prefix: string,
): HeaderSet {
  const disabled = new Set<string>(options.dangerouslyDisable ?? []);
  const on = (name: SecurityHeaderName): boolean => !disabled.has(name);
  const reportOnly = options.csp?.dangerouslyReportOnly === true;

  const helmetOptions: HelmetOptions = {
    contentSecurityPolicy: on('content-security-policy')
      ? { useDefaults: false, reportOnly, directives: withNonceSlots(directives) }
      : false,
    crossOriginEmbedderPolicy:
      options.crossOriginEmbedderPolicy && on('cross-origin-embedder-policy')
        ? { policy: options.crossOriginEmbedderPolicy }
        : false,
    crossOriginOpenerPolicy: on('cross-origin-opener-policy')
      ? { policy: options.crossOriginOpenerPolicy ?? DEFAULT_HEADER_VALUES.crossOriginOpenerPolicy }
      : false,
    crossOriginResourcePolicy: on('cross-origin-resource-policy')
      ? { policy: options.crossOriginResourcePolicy ?? DEFAULT_HEADER_VALUES.crossOriginResourcePolicy }
      : false,
    originAgentCluster: on('origin-agent-cluster'),
    referrerPolicy: on('referrer-policy')
      ? { policy: options.referrerPolicy ?? DEFAULT_HEADER_VALUES.referrerPolicy }
      : false,
    strictTransportSecurity: false,
    xContentTypeOptions: on('x-content-type-options'),
    xDnsPrefetchControl: on('x-dns-prefetch-control') ? { allow: false } : false,
    xDownloadOptions: on('x-download-options'),
    xFrameOptions: on('x-frame-options')
      ? {
          action:
            (options.frameOptions ?? DEFAULT_HEADER_VALUES.frameOptions) === 'DENY' ? 'deny' : 'sameorigin',
        }
      : false,
    xPermittedCrossDomainPolicies: on('x-permitted-cross-domain-policies')
      ? { permittedPolicies: 'none' }
      : false,
    xPoweredBy: true,
    xXssProtection: on('x-xss-protection'),
  };

  let recorded: Map<string, string>;
  try {
    recorded = recordHelmetHeaders(helmetOptions);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new HardenConfigError(
      prefix,
      describeValue(options),
      `helmet rejected it (${message})`,
      'correct the value helmet names',
    );
  }

  if (on('permissions-policy')) {
    recorded.set(
      'permissions-policy',
      buildPermissionsPolicy(options.permissions?.allow, `${prefix}.permissions.allow`),
    );
  }

  const cspName = [...recorded.keys()].find((name) => name.startsWith('content-security-policy'));
  const csp = cspName === undefined ? '' : (recorded.get(cspName) ?? '');
  if (cspName !== undefined) recorded.delete(cspName);

  return {
    names: [...recorded.keys()],
    values: [...recorded.values()],
    cspName,
    cspParts: csp.split(NONCE_SLOT),
    cspWithoutNonce: csp.replaceAll(` 'nonce-${NONCE_SLOT}'`, ''),
  };
}

/** Adds the nonce placeholder to script-src and style-src unless they are `'none'`. */
function withNonceSlots(directives: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [name, sources] of Object.entries(directives)) {
    const takesNonce =
      (NONCE_DIRECTIVES as readonly string[]).includes(name) &&
      sources.length > 0 &&
      !sources.includes("'none'");
    result[name] = takesNonce ? [...sources, `'nonce-${NONCE_SLOT}'`] : [...sources];
  }
  return result;
}

function recordHelmetHeaders(options: HelmetOptions): Map<string, string> {
  const recorded = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]): void {
      recorded.set(name.toLowerCase(), String(value));
    },
    removeHeader(name: string): void {
      recorded.delete(name.toLowerCase());
    },
  };
  let failure: unknown;
  const middleware = helmet(options);
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return recorded;
}

// ---------------------------------------------------------------------------------------------------
// Request time

const NONCE = Symbol('harden.cspNonce');
const ROUTE_HEADERS = Symbol('harden.routeHeaders');

interface ReplyState {
  [NONCE]: string | null;
  [ROUTE_HEADERS]: HeaderSet | null;
}

/**
 * Sends the decided headers on every response (404s and errors included) from one onSend hook, with the
 * nonce spliced into the CSP when the response read `reply.cspNonce`. Routes with `config.harden.headers`
 * get their own values, decided when the route is added. HSTS is added here too, so that a response
 * costs one hook: `strictTransportSecurity` is its value, or undefined when HSTS is off.
 */
export async function registerHeaders(
  app: FastifyInstance,
  resolved: ResolvedHeaders,
  _context: HardenContext,
  strictTransportSecurity: string | undefined,
): Promise<void> {
  app.decorateReply(NONCE as unknown as string, null);
  app.decorateReply(ROUTE_HEADERS as unknown as string, null);
  app.decorateReply('cspNonce', {
    getter(this: FastifyReply): string {
      const state = this as unknown as ReplyState;
      let nonce = state[NONCE];
      if (nonce === null) {
        nonce = nextNonce();
        state[NONCE] = nonce;
      }
      return nonce;
    },
  });

  app.addHook('onRoute', (route: RouteOptions) => {
    const override = route.config?.harden?.headers;
    if (override === undefined) return;
    const routeName = `${[route.method].flat().join(',')} ${route.url}`;
    const headerSet = resolveRouteHeaders(resolved, override, routeName).headerSet;
    const selectHeaders: onRequestHookHandler = (_request, reply, done) => {
      (reply as unknown as ReplyState)[ROUTE_HEADERS] = headerSet;
      done();
    };
    route.onRequest = [...[route.onRequest ?? []].flat(), selectHeaders];
  });

  const defaults = resolved.headerSet;
  const sendHeaders: onSendHookHandler = (request: FastifyRequest, reply: FastifyReply, payload, done) => {
    const state = reply as unknown as ReplyState;
    const set = state[ROUTE_HEADERS] ?? defaults;
    const { names, values } = set;
    for (let index = 0; index < names.length; index++) {
      reply.header(names[index] as string, values[index]);
    }
    if (set.cspName !== undefined) {
      const nonce = state[NONCE];
      reply.header(set.cspName, nonce === null ? set.cspWithoutNonce : set.cspParts.join(nonce));
    }
    if (strictTransportSecurity !== undefined && isHttpsRequest(request)) {
      reply.header('strict-transport-security', strictTransportSecurity);
    }
    done(null, payload);
  };
  app.addHook('onSend', sendHeaders);
}
