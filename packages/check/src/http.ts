import http from 'node:http';
import https from 'node:https';
import { rootCertificates, type TLSSocket } from 'node:tls';

/** Header values as node:http folds them: repeated headers joined with ", ", Set-Cookie kept as a list. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** TLS settings shared by every request of one run. */
export interface TlsSettings {
  /** Extra certificate authorities (PEM) trusted on top of Node's bundled ones. Default: none. */
  ca?: string | Buffer;
  /** Skips certificate verification. Default: false. */
  insecureSkipVerify?: boolean;
}

/** One HTTP request of the checker. */
export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole-request deadline, in milliseconds. */
  timeoutMs: number;
  tls?: TlsSettings;
}

/** One response, with the raw header list kept for duplicate headers and every Set-Cookie. */
export interface HttpResponse {
  url: string;
  status: number;
  headers: HeaderMap;
  /** Header name and value pairs in arrival order, names as the server wrote them. */
  rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** The body as UTF-8, cut at MAX_BODY_BYTES. */
  body: string;
  /** For HTTPS, whether the certificate chain verified; null for plain HTTP. */
  tlsVerified: boolean | null;
}

/** A request that failed before a response arrived: refused, timed out, TLS rejected, bad address. */
export class NetworkError extends Error {
  readonly url: string;
  constructor(url: string, message: string) {
    super(`${url}: ${message}`);
    this.name = 'NetworkError';
    this.url = url;
  }
}

/** Body bytes kept per response; a page larger than this is scored on its first 2 MiB. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** Sends one request without following redirects, and rejects with NetworkError on any transport failure. */
export function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const url = new URL(request.url);
  const isHttps = url.protocol === 'https:';
  const transport = isHttps ? https : http;
  const headers: Record<string, string> = {
    'user-agent': 'harden-check',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    ...request.headers,
  };
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new NetworkError(request.url, message));
    };

    const req = transport.request(
      url,
      {
        method: request.method ?? 'GET',
        headers,
        agent: false,
        ...(isHttps
          ? {
              ca: request.tls?.ca === undefined ? undefined : [...rootCertificates, request.tls.ca],
              rejectUnauthorized: !request.tls?.insecureSkipVerify,
            }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
          size += chunk.length;
        });
        res.on('error', (error) => fail(`the response failed: ${error.message}`));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const rawHeaders: [string, string][] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            rawHeaders.push([res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '']);
          }
          const socket = res.socket as TLSSocket | null;
          resolve({
            url: url.href,
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
            tlsVerified: isHttps ? socket?.authorized === true : null,
          });
        });
      },
    );

    const timer = setTimeout(() => fail(`timed out after ${request.timeoutMs} ms`), request.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail(describeTransportError(error)));
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}

/** One hop of a redirect chain. */
export interface RedirectHop {
  url: string;
  status: number;
}

/** The response at the end of a redirect chain, and why following stopped. */
export interface FollowedResponse {
  response: HttpResponse;
  /** Every URL requested, the first included, with its status. */
  chain: RedirectHop[];
  /** Every response of the chain, in order (for the Set-Cookie headers of each hop). */
  responses: HttpResponse[];
  /** Set when following stopped on a redirect: too many, or one to another host. */
  stoppedBecause: 'max-redirects' | 'other-host' | null;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Follows redirects up to `maxRedirects` times, and only to the same host name (any scheme or port), so
 * the checker never sends traffic to a host it was not given.
 */
export async function followRedirects(
  request: HttpRequest,
  maxRedirects: number,
  cookieHeader?: () => string | undefined,
): Promise<FollowedResponse> {
  const startHost = new URL(request.url).hostname;
  const chain: RedirectHop[] = [];
  const responses: HttpResponse[] = [];
  let current: HttpRequest = request;

  for (;;) {
    const cookie = cookieHeader?.();
    const response = await sendRequest(
      cookie ? { ...current, headers: { ...current.headers, cookie } } : current,
    );
    chain.push({ url: response.url, status: response.status });
    responses.push(response);

    const location = firstHeader(response.headers, 'location');
    if (!REDIRECT_STATUSES.has(response.status) || location === undefined) {
      return { response, chain, responses, stoppedBecause: null };
    }
    if (chain.length > maxRedirects) {
      return { response, chain, responses, stoppedBecause: 'max-redirects' };
    }
    let next: URL;
    try {
      next = new URL(location, response.url);
    } catch {
      return { response, chain, responses, stoppedBecause: null };
    }
    if (next.hostname !== startHost || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
      return { response, chain, responses, stoppedBecause: 'other-host' };
    }
    current = { ...current, url: next.href, method: 'GET', body: undefined };
  }
}

/** Returns the first value of a header from a folded header map. */
export function firstHeader(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Returns every value of a header, in order, from the raw header list. */
export function rawHeaderValues(response: HttpResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return response.rawHeaders.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
}

function describeTransportError(error: NodeJS.ErrnoException): string {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused: is the app running on that host and port?';
  if (code === 'ECONNRESET') return 'the connection was reset by the server';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name could not be resolved';
  if (
    code === 'EPROTO' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    /wrong version number/i.test(error.message)
  ) {
    return 'the TLS handshake failed: is this port serving plain HTTP? Use an http:// URL for it';
  }
  if (TLS_ERROR_CODES.has(code)) {
    return `the TLS certificate was rejected (${code}): pass --ca FILE to trust its CA, or --insecure-skip-tls-verify`;
  }
  return `the request failed: ${error.message}`;
}
