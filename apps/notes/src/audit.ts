// Prints the start-up audit of the notes app as `npm start` would configure it from the same environment,
// without listening. Exits 1 when a finding is an error, 0 otherwise.
import { getAuditFindings, HardenAuditError } from '@harden/fastify';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { describeStartupError } from './startup-error.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

// The app's own log lines would repeat the findings as JSON, so they are dropped here.
let findings: ReturnType<typeof getAuditFindings>;
try {
  const app = await buildApp(config, { logStream: { write: () => {} } });
  try {
    await app.ready();
    findings = getAuditFindings(app);
  } catch (error) {
    // In production an error finding makes ready() reject; the findings come with the error.
    if (!(error instanceof HardenAuditError)) throw error;
    findings = error.findings;
  } finally {
    await app.close();
  }
} catch (error) {
  // A plugin option rejected at registration, or a store that cannot be opened, is reported the way
  // `npm start` reports it: one line with the fix, no stack trace.
  const message = describeStartupError(error, config);
  if (message === undefined) throw error;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const list = findings ?? [];
const mode = process.env.NODE_ENV === 'production' ? 'production' : 'development';
process.stdout.write(`Start-up audit of the notes app (${mode}): ${list.length} finding(s)\n`);
for (const finding of list) {
  process.stdout.write(
    `\n${finding.severity.toUpperCase()} ${finding.id}\n  ${finding.message}\n  fix: ${finding.fix}\n`,
  );
}
if (list.length === 0) process.stdout.write('No problem found.\n');
process.exit(list.some((finding) => finding.severity === 'error') ? 1 : 0);
