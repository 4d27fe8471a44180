import { cookieFindings } from './cookies.js';
import { cspFindings, disclosureFindings, transportFindings } from './findings.js';
import { parsePage } from './html.js';
import {
  type FollowedResponse,
  followRedirects,
  type HttpResponse,
  NetworkError,
  rawHeaderValues,
  sendRequest,
  type TlsSettings,
} from './http.js';
import {
  type Grade,
  gradeAtLeast,
  OBSERVATORY_CORS_ORIGIN,
  OBSERVATORY_VERSION,
  type ObservatoryInput,
  type PageHtml,
  scoreObservatory,
} from './observatory/index.js';
import { type MethodPath, ProbeContext } from './probes/context.js';
import { probeCors } from './probes/cors.js';
import { probeCsrf } from './probes/csrf.js';
import { probeRateLimit, type RateLimitTarget } from './probes/rate-limit.js';
import { type CheckReport, type Finding, type ProbeReport, SEVERITIES, type Severity } from './report.js';

/** Settings of one run; the CLI fills them from its options. */
export interface CheckOptions {
  /** The http: or https: URL to check. */
  url: string;
  /** Same-origin pages whose POST forms the CSRF probe submits cross-site. Default: none. */
  pages?: readonly string[];
  /** API endpoints the CSRF probe sends forged requests to. Default: none. */
  csrfTargets?: readonly MethodPath[];
  /** Origins the app must allow through CORS. Default: none. */
  trustedOrigins?: readonly string[];
  /** Paths the CORS probe tests. Default: the target URL's path. */
  corsPaths?: readonly string[];
  /** Rate-limit probes, run last and only when given. Default: none. */
  rateLimits?: readonly RateLimitTarget[];
  /**
   * Skips the rate-limit probe's requests with a fresh X-Forwarded-For, X-Real-IP and Forwarded address.
   * Only for a run from an address the app trusts as its proxy (it then rightly believes those headers).
   * Default: false.
   */
  skipAddressSpoofCheck?: boolean;
  /** A plain-HTTP URL of the same host whose redirect to HTTPS is scored, for an https: target. */
  httpUrl?: string;
  /** Lowest passing grade. Default: B. */
  minGrade?: Grade;
  /** Lowest finding severity that fails the run, or 'none'. Default: high. */
  failOn?: Severity | 'none';
  /** Per-request deadline in milliseconds. Default: 10000. */
  timeoutMs?: number;
  /** Redirects followed per request chain. Default: 10, the Observatory's own bound. */
  maxRedirects?: number;
  tls?: TlsSettings;
}

/** Defaults of CheckOptions. */
export const CHECK_DEFAULTS = {
  minGrade: 'B' as Grade,
  failOn: 'high' as Severity | 'none',
  timeoutMs: 10_000,
  maxRedirects: 10,
};

/**
 * Checks one running app: scores its response the Observatory's way, adds the checker's own findings,
 * runs the CORS probe, and the CSRF and rate-limit probes when asked. Throws NetworkError when the app
 * cannot be reached or a request times out.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const target = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? CHECK_DEFAULTS.timeoutMs;
  const maxRedirects = options.maxRedirects ?? CHECK_DEFAULTS.maxRedirects;
  const tls = options.tls ?? {};
  const minGrade = options.minGrade ?? CHECK_DEFAULTS.minGrade;
  const failOn = options.failOn ?? CHECK_DEFAULTS.failOn;

  const followed = await followRedirects({ url: target.href, timeoutMs, tls }, maxRedirects);
  const page = followed.response;
  const html = isHtml(page) ? parsePage(page.body, page.url) : null;

  const observatoryInput = await collectObservatoryInput(followed, options.httpUrl, {
    timeoutMs,
    tls,
    maxRedirects,
  });
  const observatory = scoreObservatory(observatoryInput, html);

  const findings: Finding[] = [
    ...cspFindings(page, html?.metaCsp ?? []),
    ...disclosureFindings(page),
    ...transportFindings(followed, maxRedirects),
  ];
  if (page.status < 200 || (page.status >= 400 && page.status !== 401 && page.status !== 403)) {
    findings.push({
      id: 'headers.unexpected_status',
      severity: 'info',
      area: 'headers',
      message: `The page answered ${page.status}; the Observatory only scans 2xx, 3xx, 401 and 403 responses.`,
      fix: 'Check a URL that renders a page, for example the home or login page.',
    });
  }

  const context = new ProbeContext(target, timeoutMs, maxRedirects, tls);
  for (const response of followed.responses) context.remember(response);
  const probes: ProbeReport[] = [];
  const corsPaths = options.corsPaths?.length ? options.corsPaths : [target.pathname + target.search];
  const cors = await probeCors(context, corsPaths, options.trustedOrigins ?? []);
  probes.push(cors.report);
  findings.push(...cors.findings);

  if ((options.pages?.length ?? 0) > 0 || (options.csrfTargets?.length ?? 0) > 0) {
    const csrf = await probeCsrf(context, options.pages ?? [], options.csrfTargets ?? []);
    probes.push(csrf.report);
    findings.push(...csrf.findings);
  }
  // Every Set-Cookie seen so far: the target's redirect chain, the CSRF pages and forged requests.
  findings.push(...cookieFindings(context.seenSetCookies));
  // Rate limits go last: once limited, the app would reject the other probes' requests too.
  for (const rateLimit of options.rateLimits ?? []) {
    const result = await probeRateLimit(context, rateLimit, options.skipAddressSpoofCheck ?? false);
    probes.push(result.report);
    findings.push(...result.findings);
  }

  const failures = listFailures(observatory.grade, minGrade, probes, findings, failOn);
  return {
    tool: 'harden-check',
    target: target.href,
    finalUrl: page.url,
    status: page.status,
    observatory: { ...observatory, observatoryVersion: OBSERVATORY_VERSION },
    findings: dedupeFindings(findings),
    probes,
    minGrade,
    failOn,
    passed: failures.length === 0,
    failures,
  };
}

function isHtml(response: HttpResponse): boolean {
  const type = (rawHeaderValues(response, 'content-type')[0] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === '' || type === 'text/html' || type === 'application/xhtml+xml';
}

/**
 * Gathers what the Observatory's tests read. The scored page is the end of the target's redirect chain.
 * When that chain went from http: to https:, it stands in for the Observatory's separate HTTP and HTTPS
 * retrievals, as for a site on the default ports.
 */
async function collectObservatoryInput(
  followed: FollowedResponse,
  httpUrl: string | undefined,
  settings: { timeoutMs: number; tls: TlsSettings; maxRedirects: number },
): Promise<ObservatoryInput> {
  const page = followed.response;
  const pageIsHttps = page.tlsVerified !== null;
  const firstHttpsHop = followed.responses.findIndex((response) => response.tlsVerified !== null);
  const pageSession = pageIsHttps ? followed.responses.slice(firstHttpsHop) : followed.responses;

  let httpRedirects: ObservatoryInput['httpRedirects'] = null;
  if (new URL(followed.chain[0]?.url ?? page.url).protocol === 'http:') {
    httpRedirects = {
      chain: followed.chain,
      verified: followed.responses.every((r) => r.tlsVerified !== false),
    };
  } else if (httpUrl !== undefined) {
    try {
      const http = await followRedirects(
        { url: httpUrl, timeoutMs: settings.timeoutMs, tls: settings.tls },
        settings.maxRedirects,
      );
      httpRedirects = { chain: http.chain, verified: http.responses.every((r) => r.tlsVerified !== false) };
    } catch (error) {
      // The Observatory scores an unreachable HTTP port as "no redirection needed".
      if (!(error instanceof NetworkError)) throw error;
    }
  }

  let cors: ObservatoryInput['cors'] = null;
  try {
    const response = await sendRequest({
      url: page.url,
      method: 'OPTIONS',
      headers: { origin: OBSERVATORY_CORS_ORIGIN, 'access-control-request-method': 'GET' },
      timeoutMs: settings.timeoutMs,
      tls: settings.tls,
    });
    cors = { requestOrigin: OBSERVATORY_CORS_ORIGIN, headers: response.headers };
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
  }

  return {
    page: { url: page.url, status: page.status, headers: page.headers, body: page.body },
    https: pageIsHttps ? { headers: page.headers, verified: page.tlsVerified === true } : null,
    httpRedirects,
    cors,
    setCookies: pageSession.flatMap((response) => rawHeaderValues(response, 'set-cookie')),
  };
}

function listFailures(
  grade: Grade,
  minGrade: Grade,
  probes: readonly ProbeReport[],
  findings: readonly Finding[],
  failOn: Severity | 'none',
): string[] {
  const failures: string[] = [];
  if (!gradeAtLeast(grade, minGrade)) failures.push(`grade ${grade} is below the minimum ${minGrade}`);
  for (const probe of probes) {
    if (!probe.passed) failures.push(`${probe.name} probe failed: ${probe.summary}`);
  }
  if (failOn !== 'none') {
    const threshold = SEVERITIES.indexOf(failOn);
    const failing = findings.filter((finding) => SEVERITIES.indexOf(finding.severity) <= threshold);
    if (failing.length > 0) failures.push(`${failing.length} finding(s) of severity ${failOn} or worse`);
  }
  return failures;
}

function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.id}\u0000${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type { PageHtml };
