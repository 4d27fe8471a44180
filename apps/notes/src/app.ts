import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import formbody from '@fastify/formbody';
import harden, { type HardenOptions, prefersHtml } from '@harden/fastify';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type AppConfig, redactUrl } from './config.js';
import { NotesDatabase } from './db.js';
import type { AppDeps } from './deps.js';
import { BODY_LIMIT_BYTES, FormBodyError, parseFormBody } from './form-body.js';
import { createMailer } from './mail.js';
import { hashPassword } from './passwords.js';
import { createRejectionHandler, renderFormAgain } from './rejection.js';
import { handleRouterError } from './router-errors.js';
import { apiRoutes, sendProblem } from './routes/api.js';
import { assetRoutes } from './routes/assets.js';
import { healthRoutes } from './routes/health.js';
import { loginRoutes } from './routes/login.js';
import { notesRoutes } from './routes/notes.js';
import { passwordResetRoutes } from './routes/password-reset.js';
import { registerRoutes } from './routes/register.js';
import { resolveSessionSecret } from './secret.js';
import { SESSION_COOKIE_NAME } from './session.js';
import { messagePage, sendPage } from './views.js';

/** Settings of `buildApp` that do not come from the environment. */
export interface BuildOptions {
  /** Log destination in place of stdout, such as a test's capture. */
  logStream?: { write(line: string): void };
  /** Password hasher of sign-up in place of `hashPassword`, for a test that counts hashes. Default: `hashPassword`. */
  hashPassword?: (password: string) => Promise<string>;
}

/** Paths whose last segment is a secret token, hidden in the request log. Matched on the decoded path. */
const TOKEN_IN_PATH = /^\/password-reset\/[^?#]/;

/**
 * Builds the notes app: the database, the mailer, @harden/fastify with every measure on, and the routes.
 * The caller listens; `app.close()` closes the database, the store and the mailer.
 */
export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(config, options);

  // Owner-only when created here, because the directory contains password hashes, sessions and reset mail.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  warnIfDataDirOpen(config.dataDir, app);
  const notesFile = join(config.dataDir, 'notes.sqlite');
  prepareOwnerOnlyDatabase(notesFile);
  if (!config.redisUrl) prepareOwnerOnlyDatabase(join(config.dataDir, 'harden.sqlite'));
  const db = new NotesDatabase(notesFile);
  const mailer = createMailer(
    { smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir },
    app.log,
  );
  app.addHook('onClose', async () => {
    mailer.close();
    db.close();
  });

  const { secret, source } = resolveSessionSecret(config.sessionSecret, config.dataDir);
  app.log.info(
    {
      event: 'app.configured',
      sessionSecret: source,
      store: config.redisUrl ? redactUrl(config.redisUrl) : join(config.dataDir, 'harden.sqlite'),
      trustProxy: config.trustProxy,
      corsOrigins: config.corsOrigins,
      mail: config.smtpUrl ? redactUrl(config.smtpUrl) : 'outbox',
    },
    'notes app configured',
  );

  if (config.tls !== undefined && config.publicOrigin === undefined) {
    const hosts = redirectHostsFor(config.host).join(', ');
    app.log.warn(
      { event: 'app.public_origin_unset', hosts: redirectHostsFor(config.host) },
      `PUBLIC_ORIGIN is not set, so the HTTP listener redirects to HTTPS only requests for ${hosts}, and answers 400 for any other host name. Fix: set PUBLIC_ORIGIN to the address users open, such as https://notes.example or https://127.0.0.1:${config.port === 0 ? 3443 : config.port}`,
    );
  }

  if (servesPlainHttpBeyondLoopback(config)) {
    app.log.warn(
      { event: 'app.plain_http_session_cookie', host: config.host },
      `The app serves plain HTTP on ${config.host}, but its session cookie is Secure: browsers keep it over plain HTTP only for localhost and 127.0.0.1, so signing in from another address fails. Fix: open the app at http://127.0.0.1 or http://localhost, or serve HTTPS (TLS_CERT and TLS_KEY, or a TLS proxy with PUBLIC_ORIGIN=https://...)`,
    );
  }

  await app.register(formbody, { parser: parseFormBody });
  useStrictJsonParser(app);
  await app.register(harden, hardenOptions(config, secret, db));

  // The routes get their own scope, so their error handler (which shows a refused form again) replaces
  // the plugin's only for them. Unknown paths keep the plugin's 404 page.
  const deps: AppDeps = { db, mailer, config, hashPassword: options.hashPassword ?? hashPassword };
  await app.register(async (routes) => {
    routes.setErrorHandler((error: FastifyError, request, reply) => handleError(error, request, reply, db));
    await routes.register(registerRoutes, deps);
    await routes.register(loginRoutes, deps);
    await routes.register(passwordResetRoutes, deps);
    await routes.register(notesRoutes, deps);
    await routes.register(apiRoutes, deps);
    await routes.register(healthRoutes, deps);
    await routes.register(assetRoutes);
  });
  return app;
}

/**
 * Creates the Fastify instance with its logger, proxy trust, body limit and, when configured, TLS.
 * The instance is typed as a plain HTTP one: routes use nothing that differs between the two.
 */
function createFastify(config: AppConfig, options: BuildOptions): FastifyInstance {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(options.logStream && { stream: options.logStream }),
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'req.headers["x-csrf-token"]',
          'res.headers["set-cookie"]',
          '*.password',
          '*._csrf',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: redactTokenPath(request.url),
          remoteAddress: request.ip,
        }),
      },
    },
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    https: config.tls
      ? { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) }
      : null,
    // Route ids are never more than a few characters; a long path is rejected before routing.
    routerOptions: { maxParamLength: 200 },
    // Fastify rejects undecodable URLs and over-long parameters before any hook runs: see router-errors.ts.
    frameworkErrors: handleRouterError,
  });
  return app as unknown as FastifyInstance;
}

function hardenOptions(config: AppConfig, secret: string, db: NotesDatabase): HardenOptions {
  return {
    ...(config.publicOrigin !== undefined && { origin: config.publicOrigin }),
    session: { secret, cookieName: SESSION_COOKIE_NAME },
    store: config.redisUrl
      ? { redis: config.redisUrl, keyPrefix: config.redisKeyPrefix }
      : { sqlite: join(config.dataDir, 'harden.sqlite') },
    cors: { origins: config.corsOrigins },
    // With TLS, the plain-HTTP listener of main.ts feeds this app, and forceHttps redirects its requests.
    https: {
      forceHttps: config.tls !== undefined,
      ...(config.tls !== undefined && config.port !== 0 && { httpsPort: config.port }),
      // Without PUBLIC_ORIGIN, the redirect may only go to the listening host or a loopback name, never
      // to a host that a forged Host header names.
      ...(config.publicOrigin === undefined && { redirectHosts: redirectHostsFor(config.host) }),
    },
    onRejection: createRejectionHandler(db),
  };
}

/**
 * Replaces Fastify's JSON parser with the same parser fed by a strict UTF-8 decoder: Fastify decodes the
 * body with U+FFFD for invalid bytes, so a note posted to the API was stored with replacement characters
 * where the form parser answers 400.
 */
function useStrictJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decoder.decode(body as Buffer);
    } catch {
      done(new FormBodyError('The JSON body is not valid UTF-8.'), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

/**
 * Hides the token of a reset link in a logged URL. The path is decoded first, because the router also
 * routes `/%70assword-reset/<token>` to the reset page; an undecodable path is matched as it is.
 */
export function redactTokenPath(url: string): string {
  const queryStart = url.search(/[?#]/);
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Kept as it is: the router refuses this URL, and the raw spelling is what gets logged.
  }
  if (!TOKEN_IN_PATH.test(decoded) && !TOKEN_IN_PATH.test(path)) return url;
  return `/password-reset/[redacted]${queryStart === -1 ? '' : url.slice(queryStart)}`;
}

/**
 * Makes a SQLite database file owner-only before it is opened: creates it with mode 0600, or tightens an
 * existing one and its journal files. SQLite gives the -wal and -shm files it creates later the mode of
 * the database file, so they stay owner-only whatever the umask and the directory's mode.
 */
function prepareOwnerOnlyDatabase(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Logs a warning when DATA_DIR existed with access for the group or others; its files stay owner-only. */
function warnIfDataDirOpen(dataDir: string, app: FastifyInstance): void {
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  app.log.warn(
    { event: 'app.data_dir_open', mode: mode.toString(8) },
    `DATA_DIR can be listed by other users (mode ${mode.toString(8)}); the app's files in it are owner-only. Fix: chmod 700 ${dataDir}`,
  );
}

/**
 * True when browsers may reach the app over plain HTTP at an address other than loopback, where they
 * drop the Secure session cookie. A PUBLIC_ORIGIN with https means a TLS proxy is in front.
 */
function servesPlainHttpBeyondLoopback(config: AppConfig): boolean {
  if (config.tls !== undefined || config.publicOrigin?.startsWith('https:')) return false;
  const host = config.host.toLowerCase();
  return !(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host));
}

/** Host names the HTTPS redirect may target when no PUBLIC_ORIGIN fixes one: loopback, and HOST itself. */
function redirectHostsFor(listeningHost: string): string[] {
  const hosts = ['localhost', '127.0.0.1'];
  const isWildcard = listeningHost === '0.0.0.0' || listeningHost === '::';
  if (!isWildcard && !listeningHost.includes(':') && !hosts.includes(listeningHost))
    hosts.push(listeningHost);
  return hosts;
}

/**
 * Writes an error: a 4xx keeps its status and a plain message (a form route shows its form again), and
 * anything else is logged with its stack and gets a generic 500 that reveals nothing.
 */
async function handleError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  db: NotesDatabase,
): Promise<FastifyReply> {
  const status =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500;
  const message =
    status === 500 ? 'Something went wrong on our side. Try again later.' : clientMessage(error);
  if (status === 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ event: 'request.invalid', status, code: error.code }, error.message);

  reply.code(status);
  if (status < 500 && (await renderFormAgain(request, reply, db, message))) return reply;
  if (!prefersHtml(request.headers.accept))
    return sendProblem(reply, status, STATUS_CODES[status] ?? 'Bad Request', message);
  return sendPage(
    reply,
    messagePage(reply, status === 500 ? 'Something went wrong' : 'Request not accepted', message),
  );
}

/** Messages for Fastify's client errors. Their own messages can quote the body, so they are never sent. */
const CLIENT_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The submitted data is too large.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'This content type is not accepted here.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The body is empty but its content type is JSON.',
};

function clientMessage(error: FastifyError): string {
  if (error instanceof FormBodyError) return error.message;
  return CLIENT_MESSAGES[error.code] ?? 'The request was not accepted.';
}
