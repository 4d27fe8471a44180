import type { Server } from 'node:http';
import { HardenAuditError } from '@harden/fastify';
import { buildApp } from './app.js';
import { type AppConfig, ConfigError, loadConfig } from './config.js';
import { listenHttpRedirect } from './server.js';

/** How long a graceful shutdown may take before the process exits anyway, in milliseconds. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

// Files the app creates (mail in the outbox, SQLite files, the session secret) are owner-only, whatever
// the shell's umask: they hold notes, password hashes, sessions and reset links.
process.umask(0o077);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The logger is not configured yet, so the message goes to stderr as it is.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

let app: Awaited<ReturnType<typeof buildApp>>;
let httpRedirect: Server | undefined;
try {
  app = await buildApp(config);
  await app.listen({ host: config.host, port: config.port });
  // With TLS, a plain-HTTP listener hands its requests to the same app, whose forceHttps redirects them.
  httpRedirect = config.tls ? await listenHttpRedirect(app, config.host, config.httpPort) : undefined;
} catch (error) {
  const message = describeStartupError(error, config);
  if (message === undefined) throw error;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
if (httpRedirect) {
  app.log.info(
    { event: 'app.http_redirect', port: config.httpPort },
    'plain-HTTP listener redirects to HTTPS',
  );
}

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ event: 'app.stopping', signal }, 'shutting down');
  const timer = setTimeout(() => {
    app.log.error(
      { event: 'app.stop_timeout', timeoutMs: SHUTDOWN_TIMEOUT_MS },
      'shutdown timed out; exiting',
    );
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  httpRedirect?.close();
  await app.close();
  app.log.info({ event: 'app.stopped' }, 'stopped');
}

process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

/**
 * Turns a start-up failure an operator can fix (a bad plugin option, a port in use, an unreadable
 * certificate) into one line with the fix. Returns undefined for anything else, which is rethrown.
 */
function describeStartupError(error: unknown, settings: AppConfig): string | undefined {
  // @harden/fastify throws HardenConfigError (from @harden/core, which the app does not import) for an
  // option it rejects at registration, and HardenAuditError when the production start-up audit finds an error.
  if (error instanceof Error && error.name === 'HardenConfigError') return error.message;
  if (error instanceof HardenAuditError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const path = (error as NodeJS.ErrnoException | undefined)?.path;
  if (code === 'EADDRINUSE') {
    return `Cannot listen on ${settings.host}: the port is already in use. Fix: stop the other server or set PORT (and HTTP_PORT with TLS) to a free port.`;
  }
  if (code === 'EACCES' && path === undefined) {
    return `Cannot listen on ${settings.host}: permission denied for the port. Fix: use a port above 1023, or grant the process the right to bind low ports.`;
  }
  if ((code === 'ENOENT' || code === 'EACCES') && path !== undefined) {
    let variable = 'DATA_DIR';
    if (path === settings.tls?.certPath) variable = 'TLS_CERT';
    if (path === settings.tls?.keyPath) variable = 'TLS_KEY';
    return `Cannot read ${path} (${code}). Fix: check ${variable} and the file's permissions.`;
  }
  return undefined;
}
