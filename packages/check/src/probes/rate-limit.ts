import { randomInt } from 'node:crypto';
import { firstHeader, type HttpResponse } from '../http.js';
import type { Finding, ProbeReport, ProbeStep } from '../report.js';
import type { MethodPath, ProbeContext } from './context.js';

/** Most requests one rate-limit probe may send, whatever limit is expected. */
export const MAX_RATE_LIMIT_REQUESTS = 500;

/** Expected limit when `--rate-limit PATH` gives none: the probe then sends up to 101 requests. */
export const DEFAULT_EXPECTED_LIMIT = 100;

/** One `--rate-limit [METHOD:]PATH[=N]` target. */
export interface RateLimitTarget extends MethodPath {
  /** The limit the app should enforce; the probe sends at most limit + 1 requests. */
  expectedLimit: number;
}

/** Rate-limit headers reported when present (IETF RateLimit drafts and the common X-RateLimit-*). */
const RATE_LIMIT_HEADERS = [
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
];

/**
 * Request headers that name the client's address, each with a spelling of a fresh address. A limiter
 * that reads one of them from an untrusted peer (Fastify's `trustProxy: true`, Express's
 * `trust proxy` set to true) gives every request a new key, so its limit never holds.
 */
const ADDRESS_HEADERS: ReadonlyArray<{ name: string; value: (address: string) => string }> = [
  { name: 'x-forwarded-for', value: (address) => address },
  { name: 'x-real-ip', value: (address) => address },
  { name: 'forwarded', value: (address) => `for=${address}` },
];

/** A random address of 198.18.0.0/15, the range kept for benchmark tests, so it is nobody's client. */
function freshAddress(): string {
  return `198.${randomInt(18, 20)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

function rateLimitHeaders(response: HttpResponse): string {
  return RATE_LIMIT_HEADERS.flatMap((name) => {
    const value = firstHeader(response.headers, name);
    return value === undefined ? [] : [`${name}: ${value}`];
  }).join(', ');
}

/**
 * Sends requests one after another until the first 429, at most expectedLimit + 1 of them. Passes when a
 * 429 with Retry-After arrives within that budget and, unless `skipAddressSpoofCheck`, one request each
 * with a fresh X-Forwarded-For, X-Real-IP and Forwarded address is limited too. Requests carry the
 * target's own Origin so that an origin check does not reject them before the limiter counts them.
 *
 * The address check assumes harden-check reaches the app directly from an address the app does not
 * trust as a proxy, or through the app's real proxy. Run from a trusted proxy address (the loopback
 * peer of an app behind a local proxy), it reports the app's correct trust as a bypass: pass
 * `skipAddressSpoofCheck` there.
 */
export async function probeRateLimit(
  context: ProbeContext,
  target: RateLimitTarget,
  skipAddressSpoofCheck = false,
): Promise<{ report: ProbeReport; findings: Finding[] }> {
  const url = context.url(target.path);
  const budget = Math.min(target.expectedLimit + 1, MAX_RATE_LIMIT_REQUESTS);
  const label = `${target.method} ${target.path}`;
  const hasBody = target.method !== 'GET' && target.method !== 'HEAD';
  const statuses: number[] = [];
  let firstResponse: HttpResponse | null = null;
  let limited: HttpResponse | null = null;

  const send = (extraHeaders: Record<string, string> = {}) =>
    context.send(
      {
        url,
        method: target.method,
        headers: {
          origin: context.origin,
          'sec-fetch-site': 'same-origin',
          ...(hasBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...extraHeaders,
        },
        ...(hasBody ? { body: 'harden_check=1' } : {}),
      },
      false,
    );

  for (let i = 0; i < budget; i++) {
    const response = await send();
    firstResponse ??= response;
    statuses.push(response.status);
    if (response.status === 429) {
      limited = response;
      break;
    }
  }

  const steps: ProbeStep[] = [];
  const findings: Finding[] = [];
  const allowed = limited ? statuses.length - 1 : statuses.length;
  steps.push({
    label: `${label}: requests 1-${Math.max(allowed, 1)}`,
    passed: true,
    detail: `${summarizeStatuses(statuses.slice(0, allowed))}${firstResponse ? `; ${rateLimitHeaders(firstResponse) || 'no rate-limit headers'}` : ''}`,
  });

  if (!limited) {
    steps.push({
      label: `${label}: 429 within ${budget} requests`,
      passed: false,
      detail: 'no 429 received',
    });
    findings.push({
      id: 'rate-limit.not_enforced',
      severity: 'high',
      area: 'rate-limit',
      message: `${label} answered ${budget} requests in a row without a 429 (expected a limit of ${target.expectedLimit}).`,
      fix: 'Rate-limit this route (per client IP, and per account for logins).',
    });
    return {
      report: {
        name: 'rate-limit',
        passed: false,
        summary: `${label}: no limit within ${budget} requests`,
        steps,
      },
      findings,
    };
  }

  const retryAfter = firstHeader(limited.headers, 'retry-after');
  steps.push({
    label: `${label}: request ${statuses.length} limited`,
    passed: retryAfter !== undefined,
    detail: `429; ${rateLimitHeaders(limited) || 'no rate-limit headers'}`,
  });
  if (retryAfter === undefined) {
    findings.push({
      id: 'rate-limit.no_retry_after',
      severity: 'medium',
      area: 'rate-limit',
      message: `${label} answers 429 without Retry-After, so clients cannot tell when to retry.`,
      fix: 'Send Retry-After (seconds) with every 429.',
    });
  }

  const escapes: Array<{ header: string; status: number }> = [];
  if (!skipAddressSpoofCheck) {
    for (const header of ADDRESS_HEADERS) {
      const value = header.value(freshAddress());
      const response = await send({ [header.name]: value });
      const stillLimited = response.status === 429;
      steps.push({
        label: `${label}: still limited with ${header.name}: ${value}`,
        passed: stillLimited,
        detail: String(response.status),
      });
      if (!stillLimited) escapes.push({ header: header.name, status: response.status });
    }
  }
  if (escapes.length > 0) {
    findings.push({
      id: 'rate-limit.client_key_spoofable',
      severity: 'high',
      area: 'rate-limit',
      message: `${label} stops limiting a client that names a new address in ${escapes.map(({ header, status }) => `${header} (${status})`).join(', ')}: the limit trusts a client-supplied address header, so any client that reaches the app directly escapes it.`,
      fix: "Key the limit on the peer address, and trust forwarded-address headers only from your own proxies (trustProxy set to their addresses, never true). This result assumes harden-check talks to the app directly from an address the app does not trust as a proxy: when harden-check runs on a trusted proxy's address (for example on loopback next to an app behind a local proxy), the app rightly believes these headers; pass --skip-address-spoof-check there (library: skipAddressSpoofCheck).",
    });
  }

  const passed = retryAfter !== undefined && escapes.length === 0;
  const found = `${label}: limit found at ${allowed} request(s), 429${retryAfter === undefined ? ' without' : ' with'} Retry-After${retryAfter === undefined ? '' : `: ${retryAfter}`}`;
  return {
    report: {
      name: 'rate-limit',
      passed,
      summary:
        escapes.length > 0
          ? `${found}, escaped with ${escapes.map(({ header }) => header).join(', ')}`
          : found,
      steps,
    },
    findings,
  };
}

/** Summarizes a run of statuses: `200 x4, 403 x1`. */
function summarizeStatuses(statuses: readonly number[]): string {
  if (statuses.length === 0) return 'none';
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${status} x${count}`).join(', ');
}
