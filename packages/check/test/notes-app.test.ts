// harden-check against the reference app, started as users start it (apps/notes/src/main.ts in its own
// process), over plain HTTP and over HTTPS with a certificate made here and trusted with --ca.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CheckReport, runCheck } from '@harden/check';
import { sendRequest } from '../src/http.js';
import { makeSelfSignedCertificate, runChildProcess } from './helpers.js';

const TRUSTED_ORIGIN = 'https://app.example.com';
const ROOT = new URL('../../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A notes app process with its own DATA_DIR, stopped by its pid in `stop`. */
interface NotesProcess {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

async function startNotes(env: Record<string, string>, readyUrl: string, ca?: Buffer): Promise<NotesProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'harden-check-notes-'));
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'apps/notes/src/main.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', CORS_ORIGINS: TRUSTED_ORIGIN, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) break;
    try {
      await sendRequest({ url: readyUrl, timeoutMs: 1000, tls: ca ? { ca } : {} });
      return { child, output: () => output, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  throw new Error(`the notes app did not start:\n${output}`);
}

function testResult(report: CheckReport, name: string): string | undefined {
  return report.observatory.tests.find((entry) => entry.test === name)?.result;
}

describe('notes app over HTTP', () => {
  let notes: NotesProcess;
  let origin: string;

  before(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    notes = await startNotes({ PORT: String(port) }, `${origin}/healthz`);
  });
  after(async () => {
    await notes?.stop();
  });

  test('binary grades and probes the app', async () => {
    const run = await runChildProcess([
      `${origin}/login`,
      '--page',
      '/login',
      '--page',
      '/register',
      '--csrf',
      'POST:/api/notes',
      '--cors-path',
      '/api/me',
      '--trusted-origin',
      TRUSTED_ORIGIN,
      '--rate-limit',
      'GET:/login=400',
      '--min-grade',
      'C',
      '--json',
    ]);
    assert.equal(run.stderr, '');
    const report = JSON.parse(run.stdout) as CheckReport;

    // Plain HTTP costs 40 points the Observatory cannot give back without HTTPS (no HSTS, no redirect),
    // and leaves 60, under the 90 that bonuses need: grade C+.
    assert.equal(testResult(report, 'strict-transport-security'), 'hsts-not-implemented-no-https');
    assert.equal(testResult(report, 'redirection'), 'redirection-missing');
    assert.equal(report.observatory.scoreWithoutBonuses, 60);
    assert.equal(report.observatory.grade, 'C+');
    for (const test of report.observatory.tests) {
      if (test.test !== 'strict-transport-security' && test.test !== 'redirection') {
        assert.equal(test.pass, true, `${test.test}: ${test.result}`);
      }
    }

    for (const probe of report.probes) assert.equal(probe.passed, true, `${probe.name}: ${probe.summary}`);
    const rateLimit = report.probes.find((probe) => probe.name === 'rate-limit');
    assert.match(rateLimit?.summary ?? '', /429 with Retry-After/);
    assert.deepEqual(
      report.findings.filter((finding) => finding.severity === 'high').map((finding) => finding.id),
      [],
    );
    assert.equal(report.passed, true);
    assert.equal(run.code, 0);
  });
});

describe('notes app over HTTPS', () => {
  let notes: NotesProcess;
  let dir: string;
  let ca: Buffer;
  let origin: string;
  let httpOrigin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'harden-check-notes-tls-'));
    const { certPath, keyPath } = makeSelfSignedCertificate(dir);
    ca = readFileSync(certPath);
    const [port, httpPort] = [await freePort(), await freePort()];
    origin = `https://127.0.0.1:${port}`;
    httpOrigin = `http://127.0.0.1:${httpPort}`;
    notes = await startNotes(
      {
        PORT: String(port),
        HTTP_PORT: String(httpPort),
        TLS_CERT: certPath,
        TLS_KEY: keyPath,
        PUBLIC_ORIGIN: origin,
      },
      `${origin}/healthz`,
      ca,
    );
  });
  after(async () => {
    await notes?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('library API grades the app A+', async () => {
    const report = await runCheck({
      url: `${origin}/login`,
      httpUrl: `${httpOrigin}/login`,
      pages: ['/login', '/register'],
      csrfTargets: [{ method: 'POST', path: '/api/notes' }],
      corsPaths: ['/api/me'],
      trustedOrigins: [TRUSTED_ORIGIN],
      tls: { ca },
    });
    assert.equal(
      testResult(report, 'strict-transport-security'),
      'hsts-implemented-max-age-at-least-six-months',
    );
    assert.equal(testResult(report, 'redirection'), 'redirection-to-https');
    assert.equal(testResult(report, 'cookies'), 'cookies-secure-with-httponly-sessions-and-samesite');
    for (const test of report.observatory.tests)
      assert.equal(test.pass, true, `${test.test}: ${test.result}`);
    assert.equal(report.observatory.scoreWithoutBonuses, 100);
    assert.equal(report.observatory.grade, 'A+');
    for (const probe of report.probes) assert.equal(probe.passed, true, `${probe.name}: ${probe.summary}`);
    assert.deepEqual(report.failures, []);
    assert.equal(report.passed, true);
  });

  test('binary markdown table passes', async () => {
    const run = await runChildProcess([
      `${origin}/login`,
      '--ca',
      join(dir, 'cert.pem'),
      '--http-url',
      `${httpOrigin}/login`,
      '--markdown',
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /grade \*\*A\+\*\*/);
    assert.match(
      run.stdout,
      /^\| strict-transport-security \| pass \(0\) \| hsts-implemented-max-age-at-least-six-months \|$/m,
    );
  });
});
