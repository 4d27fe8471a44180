import { evaluateCsp } from '@harden/core';
import { type FollowedResponse, type HttpResponse, rawHeaderValues } from './http.js';
import type { Finding } from './report.js';

/** Headers that name the server software; a version number in any of them helps pick an exploit. */
const DISCLOSURE_HEADERS = [
  'server',
  'x-powered-by',
  'x-aspnet-version',
  'x-aspnetmvc-version',
  'x-generator',
  'via',
];

/** A version number such as 1.2, 8.0.30 or PHP/7. */
const VERSION_PATTERN = /\d+\.\d+|\/\s*v?\d/i;

/** Lists CSP weaknesses with @harden/core's evaluator, for the header policies and meta policies together. */
export function cspFindings(page: HttpResponse, metaPolicies: readonly string[]): Finding[] {
  const headerPolicies = rawHeaderValues(page, 'content-security-policy');
  const policies = [...headerPolicies, ...metaPolicies].filter((policy) => policy.trim() !== '');
  if (policies.length === 0) {
    const reportOnly = rawHeaderValues(page, 'content-security-policy-report-only').length > 0;
    return [
      {
        id: 'csp.missing',
        severity: 'high',
        area: 'csp',
        message: reportOnly
          ? 'Only Content-Security-Policy-Report-Only is sent, so no policy is enforced.'
          : 'No Content-Security-Policy is sent, so an injected script runs unhindered.',
        fix: "Send a Content-Security-Policy with at least default-src 'self', object-src 'none' and base-uri 'none'.",
      },
    ];
  }
  // Several policies are all enforced; the evaluator keeps a finding only when every policy has it.
  return evaluateCsp(policies.join(', ')).map((finding) => ({
    id: finding.id,
    severity: finding.severity,
    area: 'csp' as const,
    message: `${finding.directive}: ${finding.message}`,
    fix: finding.fix,
  }));
}

/** Lists headers that disclose the server software, with a higher severity when they carry a version. */
export function disclosureFindings(page: HttpResponse): Finding[] {
  const findings: Finding[] = [];
  for (const name of DISCLOSURE_HEADERS) {
    for (const value of rawHeaderValues(page, name)) {
      const alwaysVersion = name === 'x-aspnet-version' || name === 'x-aspnetmvc-version';
      const hasVersion = alwaysVersion || VERSION_PATTERN.test(value);
      const headerName = canonicalName(page, name);
      findings.push({
        id: hasVersion ? 'disclosure.version_leak' : 'disclosure.product_leak',
        severity: hasVersion ? 'medium' : 'low',
        area: 'disclosure',
        message: hasVersion
          ? `${headerName}: ${value} discloses the software version.`
          : `${headerName}: ${value} names the server software.`,
        fix: `Remove the ${headerName} header (or at least its version).`,
      });
    }
  }
  return findings;
}

function canonicalName(page: HttpResponse, lowerName: string): string {
  return page.rawHeaders.find(([name]) => name.toLowerCase() === lowerName)?.[0] ?? lowerName;
}

/**
 * Lists transport problems of the redirect chain that started at the target: HSTS sent over plain HTTP
 * (browsers ignore it there, and it often means the app mistakes a proxied HTTP request for HTTPS), a
 * missing or indirect HTTP to HTTPS redirect, a redirect loop, a redirect to another host.
 */
export function transportFindings(followed: FollowedResponse, maxRedirects: number): Finding[] {
  const findings: Finding[] = [];
  for (const response of followed.responses) {
    if (response.tlsVerified === null && rawHeaderValues(response, 'strict-transport-security').length > 0) {
      findings.push({
        id: 'transport.hsts_over_http',
        severity: 'medium',
        area: 'transport',
        message: `${response.url} sends Strict-Transport-Security over plain HTTP, where browsers ignore it.`,
        fix: 'Send HSTS only on HTTPS responses; if a proxy terminates TLS, check which proxies the app trusts.',
      });
      break;
    }
  }

  const first = followed.chain[0];
  if (first && new URL(first.url).protocol === 'http:') {
    const second = followed.chain[1];
    if (!second) {
      findings.push({
        id: 'transport.no_https_redirect',
        severity: 'medium',
        area: 'transport',
        message: `${first.url} is served over plain HTTP and does not redirect to HTTPS.`,
        fix: 'Redirect every plain-HTTP request to the same host on HTTPS (301 or 308).',
      });
    } else if (new URL(second.url).protocol !== 'https:') {
      findings.push({
        id: 'transport.indirect_https_redirect',
        severity: 'medium',
        area: 'transport',
        message: `${first.url} redirects to ${second.url} first, not straight to HTTPS.`,
        fix: 'Make the first redirect go to the same host on HTTPS.',
      });
    }
  }

  if (followed.stoppedBecause === 'max-redirects') {
    findings.push({
      id: 'transport.redirect_loop',
      severity: 'high',
      area: 'transport',
      message: `Stopped after ${maxRedirects} redirects: ${followed.chain
        .slice(0, 4)
        .map((hop) => hop.url)
        .join(' -> ')} ...`,
      fix: 'Fix the redirect loop; check the HTTPS redirect behind a proxy (trusted X-Forwarded-Proto).',
    });
  } else if (followed.stoppedBecause === 'other-host') {
    findings.push({
      id: 'transport.redirect_to_other_host',
      severity: 'info',
      area: 'transport',
      message: `${followed.response.url} redirects to another host, which harden-check does not follow; it scored the redirect response.`,
      fix: 'Run harden-check against the final host directly.',
    });
  }

  if (followed.response.tlsVerified === false) {
    findings.push({
      id: 'transport.tls_not_verified',
      severity: 'info',
      area: 'transport',
      message:
        'The TLS certificate was not verified (--insecure-skip-tls-verify), so HSTS scores as invalid.',
      fix: 'Pass --ca FILE with the CA that signed the certificate instead.',
    });
  }
  return findings;
}
