// Test servers with only the headers, HTTPS and error measures of the plugin, so these tests do not
// depend on sessions, rate limits or CSRF, and raw requests for headers an HTTP client refuses to send.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { HardenContext } from '../src/context.js';
import { registerErrorHandlers } from '../src/errors.js';
import { type HeadersOptions, registerHeaders, resolveHeadersOptions } from '../src/headers.js';
import { type HttpsOptions, registerHttps, resolveHttpsOptions } from '../src/https.js';

export interface TestServerOptions {
  headers?: HeadersOptions;
  https?: HttpsOptions;
  origin?: string;
  trustProxy?: FastifyServerOptions['trustProxy'];
  tls?: { key: string; cert: string };
  bodyLimit?: number;
  /** Receives the app's pino log lines (JSON) at level info and above. Default: no logging. */
  logLines?: string[];
  routes?: (app: FastifyInstance) => void;
}

/** Starts a Fastify server on 127.0.0.1 with the headers, HTTPS and error measures registered. */
export async function startServer(
  options: TestServerOptions,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({
    logger: options.logLines
      ? { level: 'info', stream: { write: (line: string) => options.logLines?.push(line) } }
      : false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ...(options.tls && { https: options.tls }),
  }) as unknown as FastifyInstance;
  const context: HardenContext = {
    store: { kind: 'memory' },
    publicOrigin: options.origin,
    onRejection: undefined,
    production: false,
  };
  const https = resolveHttpsOptions(options.https);
  const headers = resolveHeadersOptions(options.headers);
  await registerHttps(app, https, context);
  await registerHeaders(app, headers, context, https.hstsHeader);
  registerErrorHandlers(app);
  options.routes?.(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: address };
}

/** Creates a self-signed certificate for localhost and 127.0.0.1 with the openssl CLI, in a temp dir. */
export function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'harden-tls-'));
  try {
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A raw HTTP/1.1 response: status code, lower-cased headers (repeated ones joined by ", ") and body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a request written byte for byte over a TCP socket, for headers that HTTP clients refuse to send
 * (line breaks, duplicates, malformed Host values). The request must carry `Connection: close`.
 */
export function rawRequest(url: string, request: string): Promise<RawResponse> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1'))));
    socket.write(request);
  });
}

function parseRawResponse(text: string): RawResponse {
  const headerEnd = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, headerEnd === -1 ? text.length : headerEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: headerEnd === -1 ? '' : text.slice(headerEnd + 4),
  };
}
