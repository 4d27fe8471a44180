// The routes every server variant serves, with the same bodies, so that rows differ only by the
// security layer in front of them.

/** GET: an HTML page that reads the signed-in user from the session. */
export const PAGE_PATH = '/page';
/** GET: a small JSON document, called cross-origin by a front end on an allowed origin. */
export const JSON_PATH = '/api/items';
/** POST: a JSON form submission that must pass the CSRF check. */
export const POST_PATH = '/api/items';
/**
 * GET, used only before the measurement: signs the client in (writes the session, so the server sets
 * the session cookie) and returns a CSRF token for that session.
 */
export const SETUP_PATH = '/setup';

/** The one origin trusted for cross-origin API calls; the JSON route is requested from it. */
export const ALLOWED_ORIGIN = 'https://app.bench.test';

/** Session and CSRF secret of every variant. A constant is fine: the servers only ever listen on loopback. */
export const BENCH_SECRET = 'bench-only-secret-0123456789abcdef-0123456789abcdef';

/** Request header that carries the CSRF token on the POST route, in every variant. */
export const CSRF_HEADER = 'x-csrf-token';

/** The limit of every rate limiter: high enough that the benchmark never reaches it. */
export const BENCH_RATE_LIMIT_PER_MINUTE = 1_000_000_000;

/** The JSON document of the JSON route. */
export const ITEMS = {
  items: [
    { id: 1, title: 'First note', done: false },
    { id: 2, title: 'Second note', done: true },
    { id: 3, title: 'Third note', done: false },
  ],
};

/** The body the client posts. */
export const POST_BODY = JSON.stringify({ title: 'A new note' });

/** Renders the HTML page. `nonce` is the response's CSP nonce when the stack has one. */
export function renderPage(user: string, nonce: string | undefined): string {
  const nonceAttribute = nonce === undefined ? '' : ` nonce="${nonce}"`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title></head>
<body><h1>Notes of ${user}</h1>
<ul><li>First note</li><li>Second note</li><li>Third note</li></ul>
<script${nonceAttribute}>document.body.dataset.ready = 'yes';</script>
</body></html>
`;
}
