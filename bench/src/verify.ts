import { type Credentials, requestFor } from './load.js';
import { ALLOWED_ORIGIN } from './routes.js';
import type { Variant } from './variants.js';

/**
 * Checks, before a variant is measured, that each of its measures is really at work (and, for the
 * Harden rows, that the measures it turns off really are off), so a row never measures a layer that
 * silently did nothing. Returns the failed checks; empty when all hold.
 */
export async function verifyVariant(
  variant: Variant,
  port: number,
  credentials: Credentials,
): Promise<string[]> {
  const expected = expectedMeasures(variant);
  const failures: string[] = [];
  const check = (condition: boolean, failure: string) => {
    if (!condition) failures.push(failure);
  };

  const page = await send('page', port, credentials);
  check(page.status === 200, `GET page answered ${page.status}`);
  if (expected.session)
    check(page.body.includes('Notes of bench'), 'the page did not read the user from the session');
  const csp = page.headers.get('content-security-policy');
  if (expected.headers === true) check(csp !== null, 'the page has no Content-Security-Policy');
  if (expected.headers === false)
    check(csp === null, 'the page has a Content-Security-Policy though headers are off');
  if (expected.nonce) check(csp?.includes("'nonce-") === true, 'the page CSP has no nonce');

  const json = await send('json', port, credentials);
  check(json.status === 200, `GET JSON answered ${json.status}`);
  const allowOrigin = json.headers.get('access-control-allow-origin');
  if (expected.cors === true)
    check(allowOrigin === ALLOWED_ORIGIN, `the JSON route allowed origin ${allowOrigin}`);
  if (expected.cors === false)
    check(allowOrigin === null, 'the JSON route sent CORS headers though CORS is off');
  const rateLimited = json.headers.has('ratelimit') || json.headers.has('ratelimit-policy');
  if (expected.rateLimit === true) check(rateLimited, 'the JSON route has no RateLimit header');
  if (expected.rateLimit === false)
    check(!rateLimited, 'the JSON route has a RateLimit header though rate limits are off');

  const post = await send('post', port, credentials);
  check(post.status === 200, `POST with the token answered ${post.status}`);
  if (expected.csrf !== undefined) {
    const forged = await send('post', port, { ...credentials, csrfToken: '' }, true);
    if (expected.csrf)
      check(forged.status === 403, `POST without a token answered ${forged.status}, not 403`);
    else check(forged.status === 200, `POST without a token answered ${forged.status} though CSRF is off`);
  }
  return failures;
}

interface ExpectedMeasures {
  session: boolean;
  /** true: must be at work; false: must be absent; undefined: not checked. */
  headers: boolean | undefined;
  nonce: boolean;
  cors: boolean | undefined;
  rateLimit: boolean | undefined;
  csrf: boolean | undefined;
}

function expectedMeasures(variant: Variant): ExpectedMeasures {
  switch (variant.stack) {
    case 'fastify-bare':
      return { session: false, headers: false, nonce: false, cors: false, rateLimit: false, csrf: false };
    case 'fastify-floor':
      return { session: false, headers: true, nonce: false, cors: false, rateLimit: false, csrf: false };
    case 'express':
      return { session: true, headers: true, nonce: false, cors: true, rateLimit: true, csrf: true };
    case 'harden':
    case 'harden-flood': {
      const m = variant.measures;
      return {
        session: m.session,
        headers: m.headers,
        nonce: m.headers,
        cors: m.cors,
        rateLimit: m.rateLimit,
        csrf: csrfExpectation(m.csrf, m.session),
      };
    }
  }
}

/** Returns whether a POST without a token must be rejected: the token check needs a session, and without one only the origin check runs, which passes here. */
function csrfExpectation(csrf: boolean, session: boolean): boolean | undefined {
  if (!csrf) return false;
  if (session) return true;
  return undefined;
}

async function send(
  route: 'page' | 'json' | 'post',
  port: number,
  credentials: Credentials,
  dropToken = false,
): Promise<{ status: number; body: string; headers: Headers }> {
  const request = requestFor(route, port, credentials);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value === 'string' && !(dropToken && name === 'x-csrf-token')) headers[name] = value;
  }
  const response = await fetch(`http://127.0.0.1:${port}${request.path}`, {
    method: request.method ?? 'GET',
    headers,
    ...(typeof request.body === 'string' ? { body: request.body } : {}),
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}
