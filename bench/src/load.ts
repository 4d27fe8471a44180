import autocannon from 'autocannon';
import {
  ALLOWED_ORIGIN,
  CSRF_HEADER,
  JSON_PATH,
  PAGE_PATH,
  POST_BODY,
  POST_PATH,
  SETUP_PATH,
} from './routes.js';

/** The three requests measured against every server. */
export type RouteId = 'page' | 'json' | 'post';

/** Route ids in table order. */
export const ROUTES: readonly { id: RouteId; label: string }[] = [
  { id: 'page', label: 'GET HTML page (reads session)' },
  { id: 'json', label: 'GET JSON (cross-origin, allowed)' },
  { id: 'post', label: 'POST JSON (CSRF checked)' },
];

/** Session cookie and CSRF token from the setup request, which pass a server's session and CSRF checks. */
export interface Credentials {
  /** `Cookie` request header: every cookie the setup response set, as name=value pairs. */
  cookie: string;
  /** CSRF token for that session, sent in the `x-csrf-token` header. */
  csrfToken: string;
}

/** How much load one measurement sends: for a duration, or a fixed number of requests (smoke test). */
export type LoadSize = { seconds: number } | { requests: number };

/** The numbers kept from one autocannon run. */
export interface RunResult {
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Responses by status code. */
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /**
   * CPU time of the server process per response, in microseconds (user + system, from the server's
   * process.cpuUsage around the run). Less sensitive than requests/s to other load on a shared machine.
   */
  serverCpuMicrosPerRequest: number;
  totalRequests: number;
}

/**
 * Signs in once: requests the setup route as a same-origin browser would and keeps the session cookie
 * and CSRF token the server returned.
 */
export async function fetchCredentials(port: number): Promise<Credentials> {
  const origin = `http://127.0.0.1:${port}`;
  const response = await fetch(`${origin}${SETUP_PATH}`, {
    headers: { accept: 'application/json', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
  });
  if (response.status !== 200) {
    throw new Error(
      `Setup request to ${SETUP_PATH} failed with status ${response.status}: ${await response.text()}`,
    );
  }
  const body = (await response.json()) as { csrfToken?: unknown };
  if (typeof body.csrfToken !== 'string')
    throw new Error(`Setup response has no csrfToken string: ${JSON.stringify(body)}`);
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';', 1)[0] ?? '')
    .filter((pair) => pair.includes('='))
    .join('; ');
  return { cookie, csrfToken: body.csrfToken };
}

/** Builds the request of a route, with the headers a browser would send. */
export function requestFor(route: RouteId, port: number, credentials: Credentials): autocannon.Request {
  const cookie = credentials.cookie ? { cookie: credentials.cookie } : {};
  switch (route) {
    case 'page':
      return {
        method: 'GET',
        path: PAGE_PATH,
        headers: {
          accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
          'sec-fetch-site': 'same-origin',
          'sec-fetch-mode': 'navigate',
          'sec-fetch-dest': 'document',
          ...cookie,
        },
      };
    case 'json':
      return {
        method: 'GET',
        path: JSON_PATH,
        headers: {
          accept: 'application/json',
          origin: ALLOWED_ORIGIN,
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'cors',
          'sec-fetch-dest': 'empty',
          ...cookie,
        },
      };
    case 'post':
      return {
        method: 'POST',
        path: POST_PATH,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          origin: `http://127.0.0.1:${port}`,
          'sec-fetch-site': 'same-origin',
          'sec-fetch-mode': 'cors',
          'sec-fetch-dest': 'empty',
          [CSRF_HEADER]: credentials.csrfToken,
          ...cookie,
        },
        body: POST_BODY,
      };
  }
}

/** Runs autocannon against one route of a server on loopback. */
export async function runLoad(
  port: number,
  route: RouteId,
  credentials: Credentials,
  connections: number,
  size: LoadSize,
): Promise<RunResult> {
  const request = requestFor(route, port, credentials);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    ...('seconds' in size ? { duration: size.seconds } : { amount: Math.max(size.requests, connections) }),
    requests: [request],
    timeout: 10,
  });

  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stats.count ?? 0;
  const totalRequests = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
  return {
    requestsPerSecond: result.duration > 0 ? totalRequests / result.duration : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes,
    errors: result.errors,
    totalRequests,
    serverCpuMicrosPerRequest: 0,
  };
}
