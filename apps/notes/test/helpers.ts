import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Dispatcher, request } from 'undici';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/** Name of the session cookie set by @harden/fastify. */
export const SESSION_COOKIE = '__Host-sid';

/** A notes app listening on a free port of 127.0.0.1, with its own temporary DATA_DIR. */
export interface RunningApp {
  app: FastifyInstance;
  origin: string;
  dataDir: string;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Builds and starts the app with a fresh DATA_DIR. `env` adds or overrides environment variables. */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'notes-test-'));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'debug', ...env });
  const logs: Record<string, unknown>[] = [];
  const logStream = { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) };
  const app = await buildApp(config, { logStream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null)
    throw new Error('the app is not listening on a TCP port');
  return {
    app,
    origin: `${config.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`,
    dataDir,
    logs,
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A response as the tests read it. */
export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  location: string | undefined;
  setCookies: string[];
}

/**
 * An HTTP client with a cookie jar handled by hand, like a browser tab: it stores cookies from
 * Set-Cookie (and drops them on Max-Age=0 or a past Expires), sends them back, and sends an Origin
 * header on unsafe requests as browsers do.
 */
export class Client {
  readonly cookies = new Map<string, string>();
  readonly origin: string;
  private readonly dispatcher: Dispatcher | undefined;

  /** `dispatcher` is an undici Agent, for example one that trusts a test's self-signed certificate. */
  constructor(origin: string, dispatcher?: Dispatcher) {
    this.origin = origin;
    this.dispatcher = dispatcher;
  }

  async send(
    method: 'GET' | 'POST' | 'DELETE' | 'HEAD',
    path: string,
    options: {
      form?: Record<string, string>;
      json?: unknown;
      rawBody?: string | Buffer;
      contentType?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (method !== 'GET' && method !== 'HEAD') headers.origin = this.origin;
    let body: string | Buffer | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.rawBody !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/x-www-form-urlencoded';
      body = options.rawBody;
    }
    Object.assign(headers, options.headers);

    const response = await request(`${this.origin}${path}`, {
      method,
      headers,
      body,
      dispatcher: this.dispatcher,
    });
    const text = await response.body.text();
    const setCookie = response.headers['set-cookie'];
    const setCookies = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const line of setCookies) this.store(line);
    const location = response.headers.location;
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      location: typeof location === 'string' ? location : undefined,
      setCookies,
    };
  }

  /** GETs a page, reads the CSRF token of its first form, and POSTs the fields with that token. */
  async submit(pagePath: string, actionPath: string, fields: Record<string, string>): Promise<Response> {
    const page = await this.send('GET', pagePath);
    return this.send('POST', actionPath, { form: { _csrf: csrfTokenOf(page.text), ...fields } });
  }

  get sessionId(): string | undefined {
    return this.cookies.get(SESSION_COOKIE);
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = '', val = ''] = attribute.trim().split('=');
      if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
      return false;
    });
    if (expired || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** Reads the `_csrf` hidden field of the first form on a page. */
export function csrfTokenOf(page: string): string {
  return /name="_csrf" value="([^"]*)"/.exec(page)?.[1] ?? '';
}

/** Registers an account and returns the signed-in client. */
export async function registeredClient(
  origin: string,
  email: string,
  password = 'correct horse battery',
): Promise<Client> {
  const client = new Client(origin);
  const response = await client.submit('/register', '/register', { email, password });
  if (response.status !== 303)
    throw new Error(
      `registration of ${email} failed with ${response.status}: ${response.text.slice(0, 300)}`,
    );
  return client;
}

/** Waits until the outbox holds `count` messages and returns their texts, oldest first. */
export async function readOutbox(dataDir: string, count: number): Promise<string[]> {
  const outbox = join(dataDir, 'outbox');
  for (let attempt = 0; attempt < 100; attempt++) {
    let files: string[] = [];
    try {
      files = readdirSync(outbox)
        .filter((file) => file.endsWith('.eml'))
        .sort();
    } catch {
      // The outbox directory is created with the first message.
    }
    if (files.length >= count) return files.map((file) => readFileSync(join(outbox, file), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the outbox did not reach ${count} messages`);
}

/** Counts the messages in the outbox now. */
export function outboxCount(dataDir: string): number {
  try {
    return readdirSync(join(dataDir, 'outbox')).filter((file) => file.endsWith('.eml')).length;
  } catch {
    return 0;
  }
}

/** The ids of the notes listed on a notes page. */
export function noteIdsOf(page: string): number[] {
  return [...page.matchAll(/id="note-(\d+)"/g)].map((match) => Number(match[1]));
}
