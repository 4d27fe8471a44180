import { mkdirSync, readFileSync } from 'node:fs';
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
import { createRejectionHandler, renderFormAgain } from './rejection.js';
import { apiRoutes, sendProblem } from './routes/api.js';
import { assetRoutes } from './routes/assets.js';
import { healthRoutes } from './routes/health.js';
import { loginRoutes } from './routes/login.js';
import { notesRoutes } from './routes/notes.js';
import { passwordResetRoutes } from './routes/password-reset.js';
import { registerRoutes } from './routes/register.js';
import { resolveSessionSecret } from './secret.js';
import { messagePage, sendPage } from './views.js';

/** Settings of `buildApp` that do not come from the environment. */
export interface BuildOptions {
  /** Log destination in place of stdout, such as a test's capture. */
  logStream?: { write(line: string): void };
}

/** Paths whose last segment is a secret token, hidden in the request log. */
const TOKEN_IN_PATH = /^(\/password-reset\/)[^/?#]+/;

/**
 * Builds the notes app: the database, the mailer, @harden/fastify with every measure on, and the routes.
 * The caller listens; `app.close()` closes the database, the store and the mailer.
 */
export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = createFastify(config, options);

  // Owner-only when created here, because the directory contains password hashes, sessions and reset mail.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const db = new NotesDatabase(join(config.dataDir, 'notes.sqlite'));
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

  await app.register(formbody, { parser: parseFormBody });
  await app.register(harden, hardenOptions(config, secret, db));

  // The routes get their own scope, so their error handler (which shows a refused form again) replaces
  // the plugin's only for them. Unknown paths keep the plugin's 404 page.
  const deps: AppDeps = { db, mailer, config };
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
          url: request.url.replace(TOKEN_IN_PATH, '$1[redacted]'),
          remoteAddress: request.ip,
        }),
      },
    },
    // Fastify accepts a hop count at run time (proxy-addr), although its types list only booleans and strings.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: BODY_LIMIT_BYTES,
    https: config.tls
      ? { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) }
      : null,
    // Route ids are never more than a few characters; a long path is rejected before routing.
    routerOptions: { maxParamLength: 200 },
  });
  return app as unknown as FastifyInstance;
}

function hardenOptions(config: AppConfig, secret: string, db: NotesDatabase): HardenOptions {
  return {
    ...(config.publicOrigin !== undefined && { origin: config.publicOrigin }),
    session: { secret },
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
    return sendProblem(reply, status, status === 500 ? 'Internal Server Error' : 'Bad Request', message);
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
