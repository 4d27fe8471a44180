import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig, redactUrl } from '../src/config.js';
import { resolveSessionSecret, SECRET_FILE_NAME } from '../src/secret.js';
import { startApp } from './helpers.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

/** Runs src/main.ts with the environment and returns its exit code and output. */
function runMain(
  env: Record<string, string>,
  onReady?: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (onReady && stdout.includes('Server listening')) {
        const ready = onReady;
        onReady = undefined;
        ready(child);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('loadConfig', () => {
  test('defaults match the app contract', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.dataDir, './data');
    assert.equal(config.trustProxy, false);
    assert.deepEqual(config.corsOrigins, []);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.tls, undefined);
    assert.equal(config.smtpUrl, undefined);
    assert.equal(config.sessionSecret, undefined);
  });

  test('TRUST_PROXY=true is rejected with the fix', () => {
    assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), {
      name: 'ConfigError',
      message:
        'Invalid environment variable TRUST_PROXY="true": trusting every peer lets any client forge X-Forwarded-For and X-Forwarded-Proto. Fix: give the addresses or CIDRs of the proxies in front of the app, separated by commas, such as TRUST_PROXY=10.0.0.5 or TRUST_PROXY=10.0.0.0/24, or false when there is no proxy',
    });
  });

  test('TRUST_PROXY hop count is rejected: Fastify 5 would trust no proxy', () => {
    for (const value of ['1', '2', '0', '10', '99']) {
      assert.throws(() => loadConfig({ TRUST_PROXY: value }), {
        name: 'ConfigError',
        message: `Invalid environment variable TRUST_PROXY="${value}": Fastify 5 ignores a hop count and trusts no proxy, so every client would get the proxy's address and HTTPS behind the proxy would go unseen. Fix: give the addresses or CIDRs of the proxies in front of the app, separated by commas, such as TRUST_PROXY=10.0.0.5 or TRUST_PROXY=10.0.0.0/24, or false when there is no proxy`,
      });
    }
  });

  test('TRUST_PROXY accepts addresses, CIDRs and false', () => {
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.5' }).trustProxy, ['10.0.0.5']);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/48' }).trustProxy, [
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/48',
    ]);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '::ffff:10.0.0.0/104,2001:db8::/32' }).trustProxy, [
      '::ffff:10.0.0.0/104',
      '2001:db8::/32',
    ]);
  });

  test('TRUST_PROXY rejects bad entries', () => {
    for (const value of ['yes', '1,10.0.0.5', '10.0.0.0/33', '10.0.0.0/8/1', 'loopback', '1.2.3', '*']) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, value);
          assert.equal(error.variable, 'TRUST_PROXY');
          assert.match(
            error.message,
            /is not an IP address or CIDR\. Fix: give the addresses or CIDRs of the proxies /,
          );
          return true;
        },
      );
    }
  });

  test('TRUST_PROXY ranges that trust every peer are rejected (0.0.0.0/1,128.0.0.0/1)', () => {
    assert.throws(() => loadConfig({ TRUST_PROXY: '0.0.0.0/1,128.0.0.0/1' }), {
      name: 'ConfigError',
      message:
        'Invalid environment variable TRUST_PROXY="0.0.0.0/1,128.0.0.0/1": "0.0.0.0/1" is broader than /8 for IPv4, so a client inside it can forge X-Forwarded-For and X-Forwarded-Proto. Fix: list the addresses of the proxies themselves, or their subnet of /8 or longer for IPv4 and /32 or longer for IPv6, such as 10.0.0.5 or 10.1.0.0/16',
    });
  });

  test('TRUST_PROXY broad ranges in every spelling are rejected (/0, /1, IPv6, IPv4-mapped)', () => {
    const cases: Record<string, RegExp> = {
      '0.0.0.0/0': /"0\.0\.0\.0\/0" is broader than \/8 for IPv4/,
      '10.0.0.1,1.2.3.4/7': /"1\.2\.3\.4\/7" is broader than \/8 for IPv4/,
      '::/0': /"::\/0" is broader than \/32 for IPv6/,
      '::/1,8000::/1': /"::\/1" is broader than \/32 for IPv6/,
      'fd00::/8': /"fd00::\/8" is broader than \/32 for IPv6/,
      '::ffff:0.0.0.0/96': /is broader than \/8 for IPv4/,
      '::FFFF:0:0/96': /is broader than \/8 for IPv4/,
      '::ffff:10.0.0.0/100': /is broader than \/8 for IPv4/,
      // ::/80 contains every IPv4-mapped address, so proxy-addr trusts every IPv4 peer through it.
      '::/80': /"::\/80" is broader than \/8 for IPv4/,
    };
    for (const [value, problem] of Object.entries(cases)) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, value);
          assert.equal(error.variable, 'TRUST_PROXY');
          assert.ok(
            error.message.startsWith(`Invalid environment variable TRUST_PROXY=${JSON.stringify(value)}: `),
          );
          assert.match(error.message, problem, value);
          assert.match(error.message, /Fix: list the addresses of the proxies themselves/);
          return true;
        },
      );
    }
  });

  test('TRUST_PROXY rejects an IPv6 zone id', () => {
    assert.throws(
      () => loadConfig({ TRUST_PROXY: 'fe80::1%eth0' }),
      /"fe80::1%eth0" is not an IP address or CIDR/,
    );
  });

  test('bad PORT is rejected with the value', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), {
      message:
        'Invalid environment variable PORT="eighty": it is not a port number. Fix: give an integer from 0 to 65535, such as 3000',
    });
    for (const value of ['65536', '-1', '3000.5', '0x50', '1e3']) {
      assert.throws(() => loadConfig({ PORT: value }), { name: 'ConfigError' }, value);
    }
    assert.throws(() => loadConfig({ HTTP_PORT: '99999' }), /HTTP_PORT="99999"/);
  });

  test('bad CORS_ORIGINS entry is rejected with the value', () => {
    assert.throws(() => loadConfig({ CORS_ORIGINS: 'https://ok.example,https://app.example/path' }), {
      message:
        'Invalid environment variable CORS_ORIGINS="https://app.example/path": it is not an exact origin (expected https://app.example). Fix: give exact origins such as https://app.example or http://127.0.0.1:5173, separated by commas',
    });
    for (const value of [
      '*',
      'https://*.example',
      'app.example',
      'ftp://app.example',
      'null',
      'https://app.example/',
      'https://user@app.example',
    ]) {
      assert.throws(() => loadConfig({ CORS_ORIGINS: value }), { name: 'ConfigError' }, value);
    }
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example, http://127.0.0.1:5173' }).corsOrigins, [
      'https://a.example',
      'http://127.0.0.1:5173',
    ]);
  });

  test('PUBLIC_ORIGIN must be an exact origin', () => {
    assert.equal(
      loadConfig({ PUBLIC_ORIGIN: 'https://notes.example' }).publicOrigin,
      'https://notes.example',
    );
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: 'https://notes.example/app' }), /PUBLIC_ORIGIN/);
  });

  test('PUBLIC_ORIGIN errors ask for one origin, never a list', () => {
    const fix =
      'Fix: give the one origin users type in the address bar: scheme, host and port only, such as https://notes.example or https://127.0.0.1:3443';
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: 'https://a.example,https://b.example' }), {
      message: `Invalid environment variable PUBLIC_ORIGIN="https://a.example,https://b.example": it holds more than one value, but the app has exactly one public origin. ${fix}`,
    });
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: 'https://a.example https://b.example' }), {
      message: `Invalid environment variable PUBLIC_ORIGIN="https://a.example https://b.example": it holds more than one value, but the app has exactly one public origin. ${fix}`,
    });
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: 'notes.example' }), {
      message: `Invalid environment variable PUBLIC_ORIGIN="notes.example": it is not a URL origin. ${fix}`,
    });
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: 'https://notes.example/' }), {
      message: `Invalid environment variable PUBLIC_ORIGIN="https://notes.example/": it is not an exact origin (expected https://notes.example). ${fix}`,
    });
    for (const value of ['notes.example', 'https://a.example,https://b.example', 'https://*.example']) {
      assert.throws(
        () => loadConfig({ PUBLIC_ORIGIN: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.doesNotMatch(error.message, /separated by commas|expected https:\/\/a\.example,https/);
          return true;
        },
        value,
      );
    }
  });

  test('short SESSION_SECRET is rejected without quoting it', () => {
    assert.throws(
      () => loadConfig({ SESSION_SECRET: 'hunter2' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SESSION_SECRET=\(a secret of 7 bytes\): it is shorter than 32 bytes/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });

  test('REDIS_URL password never appears in an error', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://user:s3cret@cache:6379' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
    assert.equal(redactUrl('redis://user:s3cret@cache:6379/0'), 'redis://user:***@cache:6379/0');
  });

  test('REDIS_KEY_PREFIX is checked', () => {
    assert.equal(loadConfig({}).redisKeyPrefix, 'harden:');
    assert.equal(loadConfig({ REDIS_KEY_PREFIX: 'notes:' }).redisKeyPrefix, 'notes:');
    assert.throws(() => loadConfig({ REDIS_KEY_PREFIX: 'notes *' }), /REDIS_KEY_PREFIX="notes \*"/);
  });

  test('TLS_CERT without TLS_KEY is rejected', () => {
    assert.throws(
      () => loadConfig({ TLS_CERT: '/etc/cert.pem' }),
      /TLS_KEY=\(unset\): TLS_CERT is set but TLS_KEY is not/,
    );
  });

  test('bad LOG_LEVEL and SMTP_URL are rejected', () => {
    assert.throws(() => loadConfig({ LOG_LEVEL: 'verbose' }), /LOG_LEVEL="verbose"/);
    assert.throws(() => loadConfig({ SMTP_URL: 'mail.example' }), /SMTP_URL/);
  });
});

describe('session secret', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'notes-secret-'));
    dirs.push(dir);
    return dir;
  }

  test('generated once with mode 0600 and reused', () => {
    const dataDir = join(tempDir(), 'data');
    const first = resolveSessionSecret(undefined, dataDir);
    const path = join(dataDir, SECRET_FILE_NAME);
    assert.match(first.secret, /^[0-9a-f]{64}$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8').trim(), first.secret);

    const second = resolveSessionSecret(undefined, dataDir);
    assert.equal(second.secret, first.secret);
    assert.doesNotMatch(second.source, /[0-9a-f]{64}/, 'the source description never holds the secret');
  });

  test('SESSION_SECRET wins over the file', () => {
    const dataDir = tempDir();
    const configured = 'x'.repeat(40);
    assert.equal(resolveSessionSecret(configured, dataDir).secret, configured);
  });

  test('loose file mode is tightened to 0600', () => {
    const dataDir = tempDir();
    const path = join(dataDir, SECRET_FILE_NAME);
    writeFileSync(path, `${'a'.repeat(64)}\n`, { mode: 0o644 });
    resolveSessionSecret(undefined, dataDir);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('truncated secret file is rejected', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, SECRET_FILE_NAME), 'short\n', { mode: 0o600 });
    assert.throws(() => resolveSessionSecret(undefined, dataDir), /fewer than 32 characters/);
  });
});

describe('start-up', () => {
  test('bad config exits 1 with the message', async () => {
    const result = await runMain({ TRUST_PROXY: 'true' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Invalid environment variable TRUST_PROXY="true": .+ Fix: /);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  test('port in use exits 1 with the fix', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address === 'object');
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-port-'));
    try {
      const result = await runMain({ DATA_DIR: dataDir, PORT: String(address.port), LOG_LEVEL: 'silent' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the port is already in use\. Fix: stop the other server or set PORT/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('missing TLS certificate exits 1 naming TLS_CERT', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-tls-missing-'));
    try {
      const result = await runMain({
        DATA_DIR: dataDir,
        PORT: '0',
        TLS_CERT: join(dataDir, 'nope.pem'),
        TLS_KEY: join(dataDir, 'nope-key.pem'),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Cannot read .*nope\.pem \(ENOENT\)\. Fix: check TLS_CERT/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('SIGTERM closes the server gracefully', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-main-'));
    try {
      const result = await runMain({ DATA_DIR: dataDir, PORT: '0' }, (child) => child.kill('SIGTERM'));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /"event":"app.stopping","signal":"SIGTERM"/);
      assert.match(result.stdout, /"event":"app.stopped"/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('session secret never appears in the log', async () => {
    const secret = 'configured-secret-'.padEnd(48, 'z');
    const configured = await startApp({ SESSION_SECRET: secret });
    const generated = await startApp();
    try {
      const generatedSecret = readFileSync(join(generated.dataDir, SECRET_FILE_NAME), 'utf8').trim();
      assert.ok(!JSON.stringify(configured.logs).includes(secret));
      assert.ok(!JSON.stringify(generated.logs).includes(generatedSecret));
      assert.ok(
        configured.logs.some(
          (line) => line.event === 'app.configured' && line.sessionSecret === 'SESSION_SECRET',
        ),
      );
    } finally {
      await configured.close();
      await generated.close();
    }
  });

  test('REDIS_URL password never appears in the log', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-redis-log-'));
    const logs: string[] = [];
    const config = loadConfig({
      DATA_DIR: dataDir,
      REDIS_URL: 'redis://:not-the-real-password@127.0.0.1:6379/3',
    });
    // The local Redis has no password, so start-up may fail at AUTH; the configuration line is logged before.
    const app = await buildApp(config, { logStream: { write: (line) => void logs.push(line) } }).catch(
      () => undefined,
    );
    try {
      assert.ok(logs.length > 0);
      assert.ok(!logs.join('').includes('not-the-real-password'));
      assert.ok(logs.some((line) => line.includes('"store":"redis://:***@127.0.0.1:6379/3"')));
    } finally {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
