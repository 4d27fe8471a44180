import { type FormField, type PageForm, parsePage } from '../html.js';
import { firstHeader, followRedirects, type HttpResponse } from '../http.js';
import type { Finding, ProbeReport, ProbeStep } from '../report.js';
import { ATTACKER_ORIGIN, type MethodPath, type ProbeContext } from './context.js';

/** Statuses that count as a rejection of a cross-site request. 419 is Laravel's "page expired". */
export const REJECTION_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 419, 422]);

/** Maximum number of distinct POST forms probed on one page; each costs up to 5 forged posts. */
export const MAX_FORMS_PER_PAGE = 20;

/** Maximum number of POST forms probed in one run, over every `--page`. */
export const MAX_FORMS_TOTAL = 50;

/**
 * Maximum number of characters of a page's HTML read for forms (512 KiB of text). The rest is left
 * unparsed, so a huge page cannot stall the run; forms sit near the top of any real page.
 */
export const MAX_PAGE_HTML_CHARS = 512 * 1024;

/** End of the label of the step that looks for a form's token field. */
const TOKEN_STEP = 'has a token field';

/** Field names that look like an anti-CSRF token. */
const TOKEN_FIELD = /csrf|xsrf|token|authenticity|nonce/i;

/** One forged request: its label, its headers, and whether it only makes sense with a cookie. */
interface ForgedRequest {
  label: string;
  headers: Record<string, string>;
  /** Sent only when the probe holds a cookie of the app: without one it carries no credential. */
  needsCookie: boolean;
}

/**
 * Returns the headers of the cross-site requests a forged form or fetch can make (never with the token):
 * from a browser that sends Fetch Metadata (`Sec-Fetch-Site`), from one that sends only `Origin` (Safari
 * before 16.4), and from one that sends neither (an older browser, or a privacy tool that strips both),
 * which only a token can stop.
 */
function forgedRequests(context: ProbeContext): ForgedRequest[] {
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
      needsCookie: false,
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
      needsCookie: false,
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
      needsCookie: false,
    },
    {
      // A browser without Fetch Metadata: a check on Sec-Fetch-Site alone lets it through.
      label: 'cross-site Origin without Sec-Fetch-Site',
      headers: { origin: ATTACKER_ORIGIN, referer: `${ATTACKER_ORIGIN}/` },
      needsCookie: false,
    },
    {
      // A browser that sends neither header: only the session-bound token can refuse it. Without a
      // cookie such a request is what any non-browser client sends, and carries no credential.
      label: 'cookies without Origin or Sec-Fetch-Site',
      headers: {},
      needsCookie: true,
    },
  ];
}

/**
 * The forged requests to send now: those that need a cookie are left out while the probe holds none,
 * and noted once in `skipped`.
 */
function forgedRequestsToSend(context: ProbeContext, skipped: Set<string>): ForgedRequest[] {
  const hasCookie = context.cookieHeader() !== undefined;
  return forgedRequests(context).filter((forged) => {
    if (forged.needsCookie && !hasCookie) skipped.add(forged.label);
    return hasCookie || !forged.needsCookie;
  });
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
  const skipped = new Set<string>();
  let formsTested = 0;
  /** Forms taken from the pages so far (tested or found to post elsewhere), for MAX_FORMS_TOTAL. */
  let formsConsidered = 0;

  let formsSkipped = 0;
  let duplicatesSkipped = 0;
  let pagesNotFetched = 0;

  for (const page of pages) {
    const followed = await followRedirects(
      { url: context.url(page), headers: {}, timeoutMs: context.timeoutMs, tls: context.tls },
      context.maxRedirects,
      () => context.cookieHeader(),
    );
    for (const response of followed.responses) context.remember(response);
    const { status } = followed.response;
    if (status < 200 || status > 299) {
      // A page that did not render (429, 5xx, a login redirect left unfollowed) shows no form, which
      // is no evidence about the app's CSRF defence: the probe cannot pass on it.
      pagesNotFetched += 1;
      const retryAfter = firstHeader(followed.response.headers, 'retry-after');
      steps.push({
        label: `GET ${page} renders the page`,
        passed: false,
        detail: `${status}${retryAfter === undefined ? '' : `, Retry-After: ${retryAfter}`}`,
      });
      findings.push({
        id: 'csrf.page_not_fetched',
        severity: 'medium',
        area: 'csrf',
        message: `${page} returned status ${status}${retryAfter === undefined ? '' : ` (Retry-After: ${retryAfter})`} instead of a 2xx page, so its forms were not tested.`,
        fix:
          status === 429
            ? 'The app is rate-limiting harden-check: run it again after the Retry-After delay, against a fresh instance, or without an earlier --rate-limit probe on the same app.'
            : 'Pass a --page that answers 2xx with the form (after the redirects harden-check follows on the same host).',
      });
      continue;
    }
    const html = followed.response.body;
    if (html.length > MAX_PAGE_HTML_CHARS) {
      findings.push({
        id: 'csrf.page_truncated',
        severity: 'info',
        area: 'csrf',
        message: `${page} is ${html.length} characters long; forms were looked for in the first ${MAX_PAGE_HTML_CHARS} only.`,
        fix: 'Pass a smaller page that renders the form.',
      });
    }
    const postForms = parsePage(html.slice(0, MAX_PAGE_HTML_CHARS), followed.response.url).forms.filter(
      (form) => form.method === 'POST',
    );
    if (postForms.length === 0) {
      findings.push({
        id: 'csrf.no_post_form',
        severity: 'info',
        area: 'csrf',
        message: `${page} (${status}) has no POST form to probe.`,
        fix: 'Pass a page that renders the form, for example --page /login.',
      });
      continue;
    }
    // The same form repeated (one per row of a list) sends the same requests: probe it once.
    const seenForms = new Set<string>();
    const forms = postForms.filter((form) => {
      const key = JSON.stringify([form.action, form.fields]);
      if (seenForms.has(key)) return false;
      seenForms.add(key);
      return true;
    });
    duplicatesSkipped += postForms.length - forms.length;
    const room = Math.max(0, Math.min(MAX_FORMS_PER_PAGE, MAX_FORMS_TOTAL - formsConsidered));
    formsSkipped += Math.max(0, forms.length - room);
    for (const form of forms.slice(0, room)) {
      formsConsidered += 1;
      formsTested += await probeForm(context, page, form, steps, findings, skipped);
    }
  }

  if (formsSkipped > 0 || duplicatesSkipped > 0) {
    const parts = [
      ...(duplicatesSkipped > 0 ? [`${duplicatesSkipped} repeated an earlier form of the same page`] : []),
      ...(formsSkipped > 0
        ? [
            `${formsSkipped} were over the limit of ${MAX_FORMS_PER_PAGE} per page and ${MAX_FORMS_TOTAL} per run`,
          ]
        : []),
    ];
    findings.push({
      id: 'csrf.forms_skipped',
      severity: 'info',
      area: 'csrf',
      message: `${formsSkipped + duplicatesSkipped} POST form(s) were not probed: ${parts.join('; ')}.`,
      fix: 'Pass pages that each render a few distinct forms; one form of each kind is enough.',
    });
  }

  for (const target of apiTargets) {
    const url = context.url(target.path);
    const bodies = [
      { type: 'application/x-www-form-urlencoded', body: 'harden_check=1' },
      { type: 'text/plain', body: '{"harden_check":1}' },
    ];
    for (const forged of forgedRequestsToSend(context, skipped)) {
      // A fetch in no-cors mode. A browser that sends no Sec-Fetch-Site sends no other Sec-Fetch-* either.
      const fetchMetadata: Record<string, string> =
        'sec-fetch-site' in forged.headers ? { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' } : {};
      for (const { type, body } of bodies) {
        const response = await context.send({
          url,
          method: target.method,
          headers: { ...forged.headers, 'content-type': type, ...fetchMetadata },
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

  if (skipped.size > 0) {
    findings.push({
      id: 'csrf.no_cookie_for_token_check',
      severity: 'info',
      area: 'csrf',
      message:
        'The app set no cookie before the forged requests, so none was sent without Origin and Sec-Fetch-Site (a browser that sends neither): without a cookie such a request carries no credential, and with one only the CSRF token can reject it.',
      fix: 'Pass a --page that starts a session (for example the login page), so the probe holds the session cookie.',
    });
  }

  const failedSteps = steps.filter((step) => !step.passed);
  const passed = failedSteps.length === 0 && !findings.some((finding) => finding.severity === 'high');
  const withoutToken = failedSteps.filter((step) => step.label.endsWith(TOKEN_STEP)).length;
  const notRejected = failedSteps.length - withoutToken - pagesNotFetched;
  const problems = [
    ...(pagesNotFetched > 0 ? [`${pagesNotFetched} page(s) not fetched`] : []),
    ...(withoutToken > 0 ? [`${withoutToken} form(s) without a token field`] : []),
    ...(notRejected > 0 ? [`${notRejected} forged request(s) not rejected`] : []),
  ];
  const nothingTested = formsTested === 0 && apiTargets.length === 0;
  const tested = nothingTested
    ? 'no form tested'
    : `${formsTested} form(s), ${apiTargets.length} API endpoint(s)`;
  let summary: string;
  if (!passed) summary = `${tested}: ${problems.join(', ') || 'see the findings'}`;
  else if (nothingTested) summary = `${tested}: no --page rendered a POST form`;
  else summary = `${tested}: every cross-site request without a token was rejected`;
  return { report: { name: 'csrf', passed, summary, steps }, findings };
}

/** Probes one form; returns 1 when it was submitted, 0 when it was skipped. */
async function probeForm(
  context: ProbeContext,
  page: string,
  form: PageForm,
  steps: ProbeStep[],
  findings: Finding[],
  skipped: Set<string>,
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
    label: `${where} ${TOKEN_STEP}`,
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
  for (const forged of forgedRequestsToSend(context, skipped)) {
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
      ? `${request} accepted a forged request (${variant}) without a CSRF token (${status}).`
      : `${request} answered a forged request (${variant}) without a CSRF token with ${status}, not a rejection (400, 401, 403, 419, 422).`,
    fix: 'Reject unsafe methods whose Sec-Fetch-Site or Origin is not your own (check Origin when Sec-Fetch-Site is absent), and require a valid CSRF token whenever the session cookie is sent.',
  };
}
