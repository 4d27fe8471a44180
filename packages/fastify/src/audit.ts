import { type AuditFinding, type AuditInput, auditConfiguration, HardenConfigError } from '@harden/core';
import type { FastifyInstance } from 'fastify';
import type { HardenContext } from './context.js';
import type { ResolvedCors } from './cors.js';
import type { CsrfRegistration } from './csrf.js';
import type { ResolvedHeaders } from './headers.js';
import type { ResolvedHttps } from './https.js';
import type { ResolvedSession } from './sessions.js';

/**
 * The start-up audit: gathers the effective options of every measure, runs @harden/core's
 * `auditConfiguration` once Fastify is ready (every route is known by then, so routes that opted out of
 * CSRF are listed), and logs each finding. In production (NODE_ENV=production) an `error` finding makes
 * `ready()` and `listen()` reject with a HardenAuditError.
 */

/** The resolved options the audit reads. */
export interface AuditSources {
  readonly https: ResolvedHttps;
  readonly headers: ResolvedHeaders;
  readonly cors: ResolvedCors;
  readonly session: ResolvedSession | undefined;
  readonly csrf: CsrfRegistration;
  /** Declared number of instances, validated by `resolveInstances`. */
  readonly instances: number;
}

/** Thrown from `ready()` in production when the audit found errors. */
export class HardenAuditError extends Error {
  readonly findings: readonly AuditFinding[];

  constructor(findings: readonly AuditFinding[]) {
    const errors = findings.filter((finding) => finding.severity === 'error');
    const lines = errors.map((finding) => `- ${finding.id}: ${finding.message}. Fix: ${finding.fix}`);
    super(
      `The start-up audit found ${errors.length} error(s), so the app does not start in production:\n${lines.join('\n')}`,
    );
    this.name = 'HardenAuditError';
    this.findings = findings;
  }
}

const findingsByApp = new WeakMap<FastifyInstance, readonly AuditFinding[]>();

/** Returns the findings of the app's last audit, or undefined before `ready()`. */
export function getAuditFindings(app: FastifyInstance): readonly AuditFinding[] | undefined {
  return findingsByApp.get(app);
}

/** Validates the `instances` option. Default: 1. */
export function resolveInstances(instances: unknown): number {
  if (instances === undefined) return 1;
  if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1) {
    throw new HardenConfigError(
      'instances',
      instances,
      'it must be a whole number, 1 or more',
      'pass how many copies of the app run at once, such as 2',
    );
  }
  return instances;
}

/** Builds the audit's plain-data input from the resolved options. */
export function gatherAuditInput(
  app: FastifyInstance,
  sources: AuditSources,
  context: HardenContext,
): AuditInput {
  const pattern = sources.cors.allowlist.pattern;
  return {
    sessionSecrets: sources.session?.secrets ?? [],
    cors: {
      origins: [...sources.cors.allowlist.origins],
      credentials: sources.cors.credentials,
      ...(pattern === undefined ? {} : { pattern: String(pattern) }),
    },
    contentSecurityPolicy: effectiveCsp(sources.headers),
    https: {
      forceHttps: sources.https.forceHttps,
      hsts: sources.https.hstsHeader !== undefined,
      redirectHostPinned: context.publicOrigin !== undefined || sources.https.redirectHosts !== undefined,
    },
    store: context.store.kind,
    instances: sources.instances,
    ...trustProxyOf(app),
    csrfDisabledRoutes: sources.csrf.disabledRoutes,
  };
}

/** Runs the audit when Fastify is ready, logs every finding and stops a production start-up on errors. */
export function registerAudit(app: FastifyInstance, sources: AuditSources, context: HardenContext): void {
  app.addHook('onReady', async () => {
    const findings = auditConfiguration(gatherAuditInput(app, sources, context));
    findingsByApp.set(app, findings);

    for (const finding of findings) {
      const line = { event: 'audit.finding', id: finding.id, severity: finding.severity, fix: finding.fix };
      if (finding.severity === 'error') app.log.error(line, finding.message);
      else if (finding.severity === 'warning') app.log.warn(line, finding.message);
      else app.log.info(line, finding.message);
    }

    const errors = findings.filter((finding) => finding.severity === 'error').length;
    app.log.info(
      { event: 'audit.done', errors, findings: findings.length, production: context.production },
      `start-up audit: ${findings.length} finding(s), ${errors} error(s)`,
    );
    if (context.production && errors > 0) throw new HardenAuditError(findings);
  });
}

/** Returns the policy browsers enforce, with the per-response nonce that the headers module adds to script-src. */
function effectiveCsp(headers: ResolvedHeaders): AuditInput['contentSecurityPolicy'] {
  if (headers.headerSet.cspName !== 'content-security-policy') return false;
  const scriptSrc = headers.directives['script-src'];
  if (scriptSrc === undefined) return headers.directives;
  return { ...headers.directives, 'script-src': [...scriptSrc, "'nonce-per-response'"] };
}

/**
 * Reads Fastify's trustProxy option. Fastify 5 keeps its options under a private symbol described as
 * `fastify.options` and has no public getter for trustProxy.
 */
function trustProxyOf(app: FastifyInstance): Pick<AuditInput, 'trustProxy'> {
  // NOTE: relies on Fastify 5 internals. When the symbol is missing, the trust-proxy check is skipped
  // and the audit test that sets trustProxy: true fails.
  let value: unknown;
  for (let level: object | null = app; level !== null; level = Object.getPrototypeOf(level)) {
    const symbol = Object.getOwnPropertySymbols(level).find(
      (candidate) => candidate.description === 'fastify.options',
    );
    if (symbol === undefined) continue;
    value = (level as Record<symbol, { trustProxy?: unknown } | undefined>)[symbol]?.trustProxy;
    break;
  }
  if (value === undefined) return {};
  if (typeof value === 'function') return { trustProxy: 'function' };
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string')
    return { trustProxy: value };
  if (Array.isArray(value)) return { trustProxy: value.map(String) };
  return {};
}
