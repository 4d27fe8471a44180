import { HardenAuditError } from '@harden/fastify';
import { type AppConfig, redactUrl } from './config.js';

/**
 * Turns a start-up failure an operator can fix (a bad plugin option, a port in use, an unreadable
 * certificate) into one line with the fix. Returns undefined for anything else, which is rethrown.
 */
export function describeStartupError(error: unknown, settings: AppConfig): string | undefined {
  // @harden/fastify throws HardenConfigError (from @harden/core, which the app does not import) for an
  // option it rejects at registration, and HardenAuditError when the production start-up audit finds an error.
  if (error instanceof Error && error.name === 'HardenConfigError') return error.message;
  if (error instanceof HardenAuditError) return error.message;
  // The plugin's store throws a plain Error starting `Redis at` when Redis rejects the connection or the
  // credentials. That message names the plugin option, so the app puts its own variable in front.
  if (settings.redisUrl !== undefined && error instanceof Error && error.message.startsWith('Redis at ')) {
    return `Cannot use REDIS_URL=${redactUrl(settings.redisUrl)}: ${error.message} For the notes app, check the host, port, password and database in REDIS_URL.`;
  }
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
