// harden-check over HTTPS with a self-signed certificate made here with the openssl CLI and trusted
// for the run with --ca.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatText, shouldUseColor } from '@harden/check';
import {
  makeSelfSignedCertificate,
  respond,
  runChildProcess,
  runInProcess,
  runJson,
  startServer,
  type TestServer,
} from './helpers.js';

const HSTS = 'max-age=31536000; includeSubDomains';

describe('HTTPS target', () => {
  let dir: string;
  let certPath: string;
  let httpsServer: TestServer;
  let redirectServer: TestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'harden-check-tls-'));
    const files = makeSelfSignedCertificate(dir);
    certPath = files.certPath;
    const tls = { key: readFileSync(files.keyPath), cert: readFileSync(files.certPath) };
    httpsServer = await startServer(
      (_req, res) =>
        respond(res, {
          'strict-transport-security': HSTS,
          'set-cookie': '__Host-sid=1; Secure; HttpOnly; SameSite=Lax; Path=/',
        }),
      tls,
    );
    redirectServer = await startServer((req, res) => {
      res.writeHead(301, { location: `https://127.0.0.1:${httpsServer.port}${req.url ?? '/'}` }).end();
    });
  });

  after(async () => {
    await httpsServer.close();
    await redirectServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('trusted CA scores A+', async () => {
    const { code, report } = await runJson([httpsServer.url, '--ca', certPath]);
    // No penalty: bonuses count. CSP default-src 'none' +10, cookies Secure/HttpOnly/SameSite +5,
    // Referrer-Policy no-referrer +5, X-Frame-Options via frame-ancestors +5, CORP same-origin +10.
    // HTTP was not probed (no --http-url), so redirection is "not needed" (0). 100 + 35 = 135.
    assert.equal(report.observatory.score, 135);
    assert.equal(report.observatory.grade, 'A+');
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'strict-transport-security')?.result,
      'hsts-implemented-max-age-at-least-six-months',
    );
    assert.deepEqual(report.findings, []);
    assert.equal(code, 0);
  });

  test('http-url redirect is scored', async () => {
    const { report } = await runJson([httpsServer.url, '--ca', certPath, '--http-url', redirectServer.url]);
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'redirection')?.result,
      'redirection-to-https',
    );
  });

  test('http target follows redirect to HTTPS', async () => {
    const { code, report } = await runJson([redirectServer.url, '--ca', certPath]);
    assert.equal(report.finalUrl, httpsServer.url);
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'redirection')?.result,
      'redirection-to-https',
    );
    assert.equal(report.observatory.grade, 'A+');
    assert.equal(code, 0);
  });

  test('untrusted certificate exits 2', async () => {
    const run = await runChildProcess([httpsServer.url]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /TLS certificate was rejected \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass --ca FILE/);
  });

  test('skipping verification scores HSTS invalid', async () => {
    const { report } = await runJson([httpsServer.url, '--insecure-skip-tls-verify', '--min-grade', 'F']);
    assert.equal(
      report.observatory.tests.find((t) => t.test === 'strict-transport-security')?.result,
      'hsts-invalid-cert',
    );
    assert.ok(report.findings.some((finding) => finding.id === 'transport.tls_not_verified'));
  });

  test('binary prints a passing report', async () => {
    const run = await runChildProcess([httpsServer.url, '--ca', certPath]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Grade A\+ \(135\/100\)/);
    assert.match(run.stdout, /PASSED: grade A\+ >= B/);
  });

  test('colour only on a terminal', async () => {
    const plain = await runInProcess([httpsServer.url, '--ca', certPath]);
    assert.ok(!plain.stdout.includes('\u001b['));
    assert.equal(shouldUseColor({ isTTY: true }, {}), true);
    assert.equal(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(shouldUseColor({ isTTY: false }, {}), false);
    const { report } = await runJson([httpsServer.url, '--ca', certPath]);
    assert.ok(formatText(report, true).includes('\u001b[32m'));
  });
});
