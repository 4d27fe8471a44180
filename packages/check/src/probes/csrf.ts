import { type FormField, type PageForm, parsePage } from '../html.js';
import { followRedirects, type HttpResponse } from '../http.js';
import type { Finding, ProbeReport, ProbeStep } from '../report.js';
import { ATTACKER_ORIGIN, type MethodPath, type ProbeContext } from './context.js';

/** Statuses that count as a rejection of a cross-site request. 419 is Laravel's "page expired". */
export const REJECTION_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 419, 422]);

/** Field names that look like an anti-CSRF token. */
const TOKEN_FIELD = /csrf|xsrf|token|authenticity|nonce/i;

/** Returns the headers of the cross-site requests a forged form or fetch can make (never with the token). */
function forgedRequestHeaders(
  context: ProbeContext,
): Array<{ label: string; headers: Record<string, string> }> {
  const host = context.target.hostname;
  const port = context.target.port ? `:${context.target.port}` : '';
  return [
    {
      label: 'cross-site',
      headers: {
        origin: ATTACKER_ORIGIN,
        referer: `${ATTACKER_ORIGIN}/`,
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
    },
    {
      // A sandboxed iframe or a data: URL page sends Origin: null.
      label: 'null origin',
      headers: {
        origin: 'null',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'iframe',
      },
    },
    {
      // A sibling subdomain is same-site, so SameSite cookies do not stop it.
      label: 'same-site subdomain',
      headers: {
        origin: `${context.target.protocol}//evil.${host}${port}`,
        'sec-fetch-site': 'same-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
    },
  ];
}

/** A value that passes common input validation, so a rejection points at the CSRF defence. */
function placeholderValue(field: FormField): string {
  if (field.value !== '') return field.value;
  if (field.type === 'email' || /mail/i.test(field.name)) return 'harden-check@example.invalid';
  if (field.type === 'password') return 'harden-check-Probe-1';
  if (field.type === 'number') return '1';
  return 'harden-check';
}

function formBody(fields: readonly FormField[]): string {
  const params = new URLSearchParams();
  for (const field of fields) {
    if (TOKEN_FIELD.test(field.name)) continue;
    if ((field.type === 'checkbox' || field.type === 'radio') && field.value === '') continue;
    if (field.type === 'submit' || field.type === 'button' || field.type === 'file') continue;
    params.append(field.name, placeholderValue(field));
  }
  return params.toString();
}

function verdict(response: HttpResponse): { passed: boolean; detail: string } {
  const location = response.headers.location;
  const detail = location ? `${response.status} -> ${location}` : String(response.status);
  return { passed: REJECTION_STATUSES.has(response.status), detail };
}

/**
 * Finds the POST forms of each page, checks each has a token-like hidden field, then submits each one
 * cross-site without the token and expects a rejection (400, 401, 403, 419 or 422). Each API path in
 * `apiTargets` gets the same forged requests, with a form body and a text/plain JSON body.
 */
export async function probeCsrf(
  context: ProbeContext,
  pages: readonly string[],
  apiTargets: readonly MethodPath[],
): Promise<{ report: ProbeReport; findings: Finding[] }> {
  const steps: ProbeStep[] = [];
  const findings: Finding[] = [];
  let formsTested = 0;

  for (const page of pages) {
    const followed = await followRedirects(
      { url: context.url(page), headers: {}, timeoutMs: context.timeoutMs, tls: context.tls },
      context.maxRedirects,
      () => context.cookieHeader(),
    );
    for (const response of followed.responses) context.remember(response);
    const forms = parsePage(followed.response.body, followed.response.url).forms.filter(
      (form) => form.method === 'POST',
    );
    if (forms.length === 0) {
      findings.push({
        id: 'csrf.no_post_form',
        severity: 'info',
        area: 'csrf',
        message: `${page} (${followed.response.status}) has no POST form to probe.`,
        fix: 'Pass a page that renders the form, for example --page /login.',
      });
      continue;
    }
    for (const form of forms) {
      formsTested += await probeForm(context, page, form, steps, findings);
    }
  }

  for (const target of apiTargets) {
    const url = context.url(target.path);
    const bodies = [
      { type: 'application/x-www-form-urlencoded', body: 'harden_check=1' },
      { type: 'text/plain', body: '{"harden_check":1}' },
    ];
    for (const forged of forgedRequestHeaders(context)) {
      for (const { type, body } of bodies) {
        const response = await context.send({
          url,
          method: target.method,
          headers: {
            ...forged.headers,
            'content-type': type,
            'sec-fetch-mode': 'no-cors',
            'sec-fetch-dest': 'empty',
          },
          body,
        });
        context.remember(response);
        const result = verdict(response);
        steps.push({ label: `${target.method} ${target.path} ${forged.label}, ${type}`, ...result });
        if (!result.passed)
          findings.push(unrejectedFinding(`${target.method} ${target.path}`, forged.label, response.status));
      }
    }
  }

  const failed = steps.filter((step) => !step.passed).length;
  const passed = failed === 0 && !findings.some((finding) => finding.severity === 'high');
  const tested = `${formsTested} form(s), ${apiTargets.length} API endpoint(s)`;
  const summary = passed
    ? `${tested}: every cross-site request without a token was rejected`
    : `${tested}: ${failed} forged request(s) not rejected`;
  return { report: { name: 'csrf', passed, summary, steps }, findings };
}

/** Probes one form; returns 1 when it was submitted, 0 when it was skipped. */
async function probeForm(
  context: ProbeContext,
  page: string,
  form: PageForm,
  steps: ProbeStep[],
  findings: Finding[],
): Promise<number> {
  const action = new URL(form.action);
  const where = `form on ${page} -> ${action.pathname}`;
  if (action.origin !== context.origin) {
    findings.push({
      id: 'csrf.form_to_other_origin',
      severity: 'info',
      area: 'csrf',
      message: `The ${where} posts to ${action.origin}, which harden-check does not probe.`,
    });
    return 0;
  }

  const tokenField = form.fields.find((field) => field.type === 'hidden' && TOKEN_FIELD.test(field.name));
  steps.push({
    label: `${where} has a token field`,
    passed: tokenField !== undefined,
    detail: tokenField ? `hidden field ${tokenField.name}` : 'no hidden field named like a token',
  });
  if (!tokenField) {
    findings.push({
      id: 'csrf.form_without_token',
      severity: 'high',
      area: 'csrf',
      message: `The ${where} has no anti-CSRF token field.`,
      fix: 'Render a per-session CSRF token in a hidden field and verify it on every POST.',
    });
  }

  const body = formBody(form.fields);
  for (const forged of forgedRequestHeaders(context)) {
    const response = await context.send({
      url: action.href,
      method: 'POST',
      headers: { ...forged.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const result = verdict(response);
    steps.push({ label: `POST ${action.pathname} ${forged.label}, no token`, ...result });
    if (!result.passed)
      findings.push(unrejectedFinding(`POST ${action.pathname}`, forged.label, response.status));
  }
  return 1;
}

function unrejectedFinding(request: string, variant: string, status: number): Finding {
  const accepted = status >= 200 && status < 400;
  return {
    id: accepted ? 'csrf.forged_request_accepted' : 'csrf.forged_request_not_rejected',
    severity: accepted ? 'high' : 'medium',
    area: 'csrf',
    message: accepted
      ? `${request} accepted a ${variant} request without a CSRF token (${status}).`
      : `${request} answered a ${variant} request without a CSRF token with ${status}, not a rejection (400, 401, 403, 419, 422).`,
    fix: 'Reject unsafe methods whose Origin (or Sec-Fetch-Site) is not your own, and require a valid CSRF token.',
  };
}
