import { firstHeader, type HttpResponse } from '../http.js';
import type { Finding, ProbeReport, ProbeStep, Severity } from '../report.js';
import { type ProbeContext, untrustedOrigins } from './context.js';

/** The verdict of one response on one Origin. */
interface CorsVerdict {
  /** The origin may read the response: Access-Control-Allow-Origin echoes it or is `*`. */
  allowed: boolean;
  /** The origin is echoed and Access-Control-Allow-Credentials is true: it reads with the user's cookies. */
  withCredentials: boolean;
  detail: string;
}

function judge(response: HttpResponse, origin: string): CorsVerdict {
  const allowOrigin = firstHeader(response.headers, 'access-control-allow-origin')?.trim();
  const credentials =
    firstHeader(response.headers, 'access-control-allow-credentials')?.trim().toLowerCase() === 'true';
  const echoed = allowOrigin === origin;
  const detail =
    allowOrigin === undefined
      ? `${response.status}, no Access-Control-Allow-Origin`
      : `${response.status}, Access-Control-Allow-Origin: ${allowOrigin}${credentials ? ', Access-Control-Allow-Credentials: true' : ''}`;
  return { allowed: echoed || allowOrigin === '*', withCredentials: echoed && credentials, detail };
}

/**
 * Sends a simple GET and a preflight from each untrusted origin to each path, and from each trusted
 * origin. Fails when an untrusted origin is allowed (worst when it is echoed with credentials) or a
 * trusted one is not.
 */
export async function probeCors(
  context: ProbeContext,
  paths: readonly string[],
  trustedOrigins: readonly string[],
): Promise<{ report: ProbeReport; findings: Finding[] }> {
  const steps: ProbeStep[] = [];
  const findings: Finding[] = [];
  const origins = untrustedOrigins(context.target, trustedOrigins);

  for (const path of paths) {
    const url = context.url(path);
    const allowedOrigins: string[] = [];
    let worst: Severity | null = null;
    let missingVary = false;

    for (const { kind, origin } of origins) {
      for (const preflight of [false, true]) {
        const response = await sendCorsRequest(context, url, origin, preflight);
        const verdict = judge(response, origin);
        steps.push({
          label: `${preflight ? 'preflight' : 'GET'} ${path} from ${origin} (${kind})`,
          passed: !verdict.allowed,
          detail: verdict.detail,
        });
        if (!verdict.allowed) continue;
        if (!allowedOrigins.includes(origin)) allowedOrigins.push(origin);
        const severity: Severity = verdict.withCredentials ? 'high' : isWildcard(response) ? 'low' : 'medium';
        worst = worse(worst, severity);
      }
    }
    if (worst !== null) {
      findings.push({
        id: worst === 'high' ? 'cors.untrusted_origin_with_credentials' : 'cors.untrusted_origin_allowed',
        severity: worst,
        area: 'cors',
        message:
          worst === 'high'
            ? `${path} lets untrusted origins read responses with the user's cookies: ${allowedOrigins.join(', ')}.`
            : `${path} lets untrusted origins read responses: ${allowedOrigins.join(', ')}.`,
        fix: 'Allow only an exact list of trusted origins; never echo the Origin header or match it with a pattern.',
      });
    }

    for (const origin of trustedOrigins) {
      for (const preflight of [false, true]) {
        const response = await sendCorsRequest(context, url, origin, preflight);
        const echoed = firstHeader(response.headers, 'access-control-allow-origin')?.trim() === origin;
        const vary = (firstHeader(response.headers, 'vary') ?? '').toLowerCase();
        if (echoed && !preflight && !vary.includes('origin') && !vary.includes('*')) missingVary = true;
        steps.push({
          label: `${preflight ? 'preflight' : 'GET'} ${path} from trusted ${origin}`,
          passed: echoed,
          detail: judge(response, origin).detail,
        });
        if (!echoed) {
          findings.push({
            id: 'cors.trusted_origin_rejected',
            severity: 'medium',
            area: 'cors',
            message: `${path} does not allow the trusted origin ${origin} (${preflight ? 'preflight' : 'GET'}).`,
            fix: 'Add the origin to the app’s CORS allowlist, spelled exactly (scheme, host and port).',
          });
        }
      }
    }
    if (missingVary) {
      findings.push({
        id: 'cors.missing_vary_origin',
        severity: 'low',
        area: 'cors',
        message: `${path} echoes the Origin without Vary: Origin, so a shared cache can serve one origin's response to another.`,
        fix: 'Send Vary: Origin on every response whose CORS headers depend on the Origin.',
      });
    }
  }

  const failedUntrusted = steps.filter(
    (step) => !step.passed && !step.label.includes(' from trusted '),
  ).length;
  const failedTrusted = steps.filter((step) => !step.passed && step.label.includes(' from trusted ')).length;
  const passed = failedUntrusted === 0 && failedTrusted === 0;
  const summary = passed
    ? `${origins.length} untrusted origins rejected${trustedOrigins.length > 0 ? `, ${trustedOrigins.length} trusted allowed` : ''} on ${paths.join(', ')}`
    : [
        failedUntrusted > 0 ? `${failedUntrusted} request(s) from untrusted origins allowed` : '',
        failedTrusted > 0 ? `${failedTrusted} request(s) from trusted origins rejected` : '',
      ]
        .filter(Boolean)
        .join('; ');
  return { report: { name: 'cors', passed, summary, steps }, findings };
}

function isWildcard(response: HttpResponse): boolean {
  return firstHeader(response.headers, 'access-control-allow-origin')?.trim() === '*';
}

function worse(current: Severity | null, candidate: Severity): Severity {
  const order: Severity[] = ['info', 'low', 'medium', 'high'];
  if (current === null) return candidate;
  return order.indexOf(candidate) > order.indexOf(current) ? candidate : current;
}

function sendCorsRequest(
  context: ProbeContext,
  url: string,
  origin: string,
  preflight: boolean,
): Promise<HttpResponse> {
  if (preflight) {
    return context.send({
      url,
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
        'sec-fetch-mode': 'cors',
      },
    });
  }
  return context.send({
    url,
    method: 'GET',
    headers: { origin, 'sec-fetch-mode': 'cors', accept: 'application/json, */*' },
  });
}
