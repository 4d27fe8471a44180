import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';

/** A response as the test client saw it. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request with node:http. Headers are given as pairs, so a test can repeat a header, send
 * an unusual spelling or pass bytes that fetch would refuse.
 */
export function send(
  port: number,
  method: string,
  path: string,
  headers: Array<[string, string]> = [],
  body?: string,
): Promise<RawResponse> {
  const raw = headers.flat();
  // Node adds no Host header when headers are given as a list.
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) raw.push('host', `127.0.0.1:${port}`);
  // An explicit length, 0 without a body: otherwise Node sends POST and PUT chunked, as if a body followed.
  if (method !== 'GET' && method !== 'HEAD')
    raw.push('content-length', String(Buffer.byteLength(body ?? '')));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers: raw }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

/** Names of the CORS response headers present on a response. */
export function corsHeaderNames(response: RawResponse): string[] {
  return Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));
}

/** Tells whether the Vary header lists `Origin`. */
export function variesByOrigin(response: RawResponse): boolean {
  const vary = response.headers.vary;
  const value = Array.isArray(vary) ? vary.join(',') : (vary ?? '');
  return value
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .includes('origin');
}

/** Creates a pino destination that keeps every log line as a parsed object. */
export function captureLogs(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { stream, lines };
}

/** Returns the `name=value` pair of a Set-Cookie header, for sending the cookie back. */
export function cookiePair(response: RawResponse, name: string): string | undefined {
  const setCookie = response.headers['set-cookie'];
  let all: string[] = [];
  if (Array.isArray(setCookie)) all = setCookie;
  else if (setCookie !== undefined) all = [setCookie];
  for (const cookie of all) {
    const pair = cookie.split(';')[0] ?? '';
    if (pair.startsWith(`${name}=`)) return pair;
  }
  return undefined;
}
