import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HardenAuditError } from '@harden/fastify';
import Database from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { describeStartupError } from '../src/startup-error.js';
import { Client, csrfTokenOf, type RunningApp, registeredClient, startApp } from './helpers.js';

const PASSWORD = 'correct horse battery';
const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

/** Every file under `dir` with its permission bits, as `name mode` lines. */
function fileModes(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return `${path.slice(dir.length + 1)} ${(statSync(path).mode & 0o777).toString(8)}`;
    })
    .sort();
}

describe('data files in an existing 0755 DATA_DIR', () => {
  const root = mkdtempSync(join(tmpdir(), 'notes-modes-'));
  const previousUmask = process.umask(0o022);

  after(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });

  test('notes.sqlite, harden.sqlite and their -wal/-shm files are created 0600', async () => {
    const dataDir = join(root, 'fresh');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const logs: string[] = [];
    const app = await buildApp(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' }), {
      logStream: { write: (line) => void logs.push(line) },
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      assert.ok(typeof address === 'object' && address !== null);
      await registeredClient(`http://127.0.0.1:${address.port}`, 'modes@example.com', PASSWORD);

      const modes = fileModes(dataDir);
      for (const name of ['notes.sqlite', 'notes.sqlite-wal', 'harden.sqlite', 'harden.sqlite-wal']) {
        assert.ok(
          modes.some((line) => line.startsWith(`${name} `)),
          `${name} exists: ${modes.join(', ')}`,
        );
      }
      assert.deepEqual(
        modes.filter((line) => !line.endsWith(' 600')),
        [],
        'every file in DATA_DIR is owner-only',
      );
      assert.ok(
        logs.some((line) => line.includes('"event":"app.data_dir_open"') && line.includes('chmod 700')),
        'the open directory is reported with the fix',
      );
    } finally {
      await app.close();
    }
  });

  test('world-readable files left by an older version are tightened to 0600', async () => {
    const dataDir = join(root, 'older');
    mkdirSync(dataDir, { mode: 0o700 });
    for (const name of ['notes.sqlite', 'harden.sqlite'])
      writeFileSync(join(dataDir, name), '', { mode: 0o644 });
    const app = await buildApp(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }));
    try {
      await app.ready();
      assert.deepEqual(
        fileModes(dataDir).filter((line) => !line.endsWith(' 600')),
        [],
      );
    } finally {
      await app.close();
    }
  });
});

describe('refused cross-site posts without a cookie', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  function sessionRows(): number {
    const db = new Database(join(running.dataDir, 'harden.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM harden_sessions').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  test('50 cross-site posts without cookies store 0 session rows', async () => {
    const before = sessionRows();
    for (let index = 0; index < 50; index++) {
      const attacker = new Client(running.origin);
      const response = await attacker.send('POST', '/login', {
        form: { email: `victim${index}@example.com`, password: 'guess' },
        headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', accept: 'text/html' },
      });
      assert.equal(response.status, 403);
      assert.deepEqual(response.setCookies, [], 'no session cookie is set');
    }
    assert.equal(sessionRows() - before, 0);
  });

  test('every form refused without a cookie is shown without a token and stores nothing', async () => {
    const before = sessionRows();
    for (const path of ['/login', '/register', '/password-reset', '/password-reset/some-token']) {
      const response = await new Client(running.origin).send('POST', path, {
        form: { email: 'typed@example.com', password: 'whatever password' },
        headers: { origin: 'null', accept: 'text/html' },
      });
      assert.equal(response.status, 403, path);
      assert.match(response.text, /<form method="post"/, `${path}: the form is shown again`);
      assert.doesNotMatch(response.text, /name="_csrf"/, `${path}: no token, so no session`);
      assert.deepEqual(response.setCookies, [], path);
    }
    assert.equal(sessionRows() - before, 0);
  });

  test('the form shown without a token still signs the user in', async () => {
    await registeredClient(running.origin, 'tokenless@example.com', PASSWORD);
    const client = new Client(running.origin);
    const refused = await client.send('POST', '/login', {
      form: { email: 'tokenless@example.com', password: PASSWORD },
      headers: { origin: 'null', accept: 'text/html' },
    });
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.text, /name="_csrf"/);
    // The browser has no session cookie, so the form's submission from the app's own page needs no token.
    const retried = await client.send('POST', '/login', {
      form: { email: 'tokenless@example.com', password: PASSWORD },
    });
    assert.equal(retried.status, 303);
    assert.equal(retried.location, '/notes');
  });

  test('a refused post that carried a session cookie still gets a token', async () => {
    const client = new Client(running.origin);
    await client.send('GET', '/login');
    assert.equal(client.cookies.size, 1, 'the login page started a session');
    const response = await client.send('POST', '/login', {
      form: { email: 'a@example.com', password: 'x' },
      headers: { accept: 'text/html' },
    });
    assert.equal(response.status, 403, 'no token: token-missing');
    assert.notEqual(csrfTokenOf(response.text), '', 'the form comes back with a token');
  });
});

describe('sign-up probes of existing addresses', () => {
  let running: RunningApp;
  let hashes = 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'notes-register-'));

  before(async () => {
    const app = await buildApp(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }), {
      hashPassword: async (password) => {
        hashes++;
        return (await import('../src/passwords.js')).hashPassword(password);
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(typeof address === 'object' && address !== null);
    running = {
      app,
      origin: `http://127.0.0.1:${address.port}`,
      dataDir,
      logs: [],
      close: async () => {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });

  after(async () => {
    await running.close();
  });

  test('a probe of an existing address gets 409 without an argon2id hash', async () => {
    await registeredClient(running.origin, 'owner@example.com', PASSWORD);
    assert.equal(hashes, 1, 'the real sign-up hashes once');
    for (const spelling of ['owner@example.com', 'OWNER@example.com', ' owner@example.com ']) {
      const response = await new Client(running.origin).submit('/register', '/register', {
        email: spelling,
        password: 'another long password',
      });
      assert.equal(response.status, 409, spelling);
    }
    assert.equal(hashes, 1, 'no probe computed a hash');
  });
});

describe('start-up errors print one message, never a stack trace', () => {
  test('a secret the plugin rejects (HardenConfigError) exits 1 with one line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-config-exit-'));
    try {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
          env: {
            PATH: process.env.PATH ?? '',
            DATA_DIR: dataDir,
            PORT: '0',
            NODE_ENV: 'production',
            LOG_LEVEL: 'silent',
            // 40 bytes, long enough for the app's config, but one character: the plugin refuses it.
            SESSION_SECRET: 'a'.repeat(40),
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Invalid option session\.secret = "<redacted>": .+ Fix: .+\n$/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a Redis that refuses the credentials exits 1 naming REDIS_URL, without the password', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-redis-exit-'));
    try {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
          env: {
            PATH: process.env.PATH ?? '',
            DATA_DIR: dataDir,
            PORT: '0',
            LOG_LEVEL: 'silent',
            // The local test Redis has no password, so AUTH fails at once.
            REDIS_URL: 'redis://:not-the-password@127.0.0.1:6379/3',
            REDIS_KEY_PREFIX: `notes-review-${process.pid}:`,
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Cannot use REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/3: /);
      assert.doesNotMatch(result.stderr, /not-the-password/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a production audit error (HardenAuditError) is described, not rethrown', () => {
    // No environment of the app produces an audit error today (config.ts refuses each such value first),
    // so the error is built here as @harden/fastify throws it from ready().
    const error = new HardenAuditError([
      { id: 'trust-proxy-all', severity: 'error', message: 'trustProxy is true', fix: 'list the proxies' },
    ]);
    const message = describeStartupError(error, loadConfig({}));
    assert.equal(
      message,
      'The start-up audit found 1 error(s), so the app does not start in production:\n- trust-proxy-all: trustProxy is true. Fix: list the proxies',
    );
    assert.equal(
      describeStartupError(new TypeError('a bug'), loadConfig({})),
      undefined,
      'bugs keep their stack',
    );
  });
});

describe('plain HTTP beyond loopback', () => {
  /** Builds the app without listening and returns its warning events. */
  async function warningsFor(env: Record<string, string>): Promise<string[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'notes-plain-http-'));
    const lines: string[] = [];
    const app = await buildApp(loadConfig({ DATA_DIR: dataDir, PORT: '0', ...env }), {
      logStream: { write: (line) => void lines.push(line) },
    });
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    return lines
      .map((line) => JSON.parse(line) as { level: number; event?: string; msg: string })
      .filter((line) => line.level >= 40 && line.event !== 'app.data_dir_open')
      .map((line) => `${line.event}: ${line.msg}`);
  }

  test('HOST=0.0.0.0 over plain HTTP warns that the Secure cookie needs loopback or HTTPS', async () => {
    const warnings = await warningsFor({ HOST: '0.0.0.0' });
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0] ?? '',
      /^app\.plain_http_session_cookie: .+session cookie is Secure.+ Fix: open the app at http:\/\/127\.0\.0\.1/,
    );
  });

  test('loopback hosts and HTTPS behind a proxy do not warn', async () => {
    assert.deepEqual(await warningsFor({}), []);
    assert.deepEqual(await warningsFor({ HOST: 'localhost' }), []);
    assert.deepEqual(
      await warningsFor({ HOST: '0.0.0.0', PUBLIC_ORIGIN: 'https://notes.example', TRUST_PROXY: '10.0.0.5' }),
      [],
    );
  });
});
