// Command lines that cannot run exit with status 2 and one clear line on stderr, before any request.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parseCommandLine, USAGE, UsageError } from '@harden/check';
import { runChildProcess, runInProcess, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe('usage errors exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['missing URL', [], /Missing the URL to check/],
    ['bad URL', ['not a url'], /Invalid URL "not a url": give an absolute http:\/\/ or https:\/\/ URL/],
    ['relative URL', ['/login'], /Invalid URL "\/login"/],
    ['non-http scheme', ['ftp://127.0.0.1/'], /Unsupported scheme ftp: in "ftp:\/\/127.0.0.1\/"/],
    ['file scheme', ['file:///etc/passwd'], /Unsupported scheme file:/],
    [
      'unknown option',
      ['http://127.0.0.1:9/', '--colour'],
      /Unknown option --colour\. Run harden-check --help/,
    ],
    ['option without value', ['http://127.0.0.1:9/', '--page'], /--page/],
    ['two URLs', ['http://127.0.0.1:9/', 'http://127.0.0.1:8/'], /Expected one URL, got 2/],
    [
      'page on another origin',
      ['http://127.0.0.1:9/', '--page', 'http://example.com/login'],
      /--page "http:\/\/example.com\/login" is on http:\/\/example.com, not on http:\/\/127.0.0.1:9/,
    ],
    [
      'page on another port',
      ['http://127.0.0.1:9/', '--page', 'http://127.0.0.1:10/login'],
      /is on http:\/\/127.0.0.1:10, not on/,
    ],
    [
      'protocol-relative page',
      ['http://127.0.0.1:9/', '--page', '//example.com/x'],
      /is on http:\/\/example.com/,
    ],
    [
      'csrf on another origin',
      ['http://127.0.0.1:9/', '--csrf', 'POST:https://example.com/api'],
      /--csrf "https:\/\/example.com\/api" is on https:\/\/example.com/,
    ],
    [
      'rate limit above the cap',
      ['http://127.0.0.1:9/', '--rate-limit', '/login=500'],
      /N must be 1 to 499, because the probe sends at most N\+1 = 500 requests/,
    ],
    ['rate limit of zero', ['http://127.0.0.1:9/', '--rate-limit', '/login=0'], /N must be 1 to 499/],
    [
      'bad grade',
      ['http://127.0.0.1:9/', '--min-grade', 'E'],
      /Invalid --min-grade "E": use one of A\+, A, A-/,
    ],
    ['bad severity', ['http://127.0.0.1:9/', '--fail-on', 'critical'], /Invalid --fail-on "critical"/],
    [
      'bad timeout',
      ['http://127.0.0.1:9/', '--timeout', '5s'],
      /Invalid --timeout "5s": give a whole number/,
    ],
    [
      'trusted origin with path',
      ['http://127.0.0.1:9/', '--trusted-origin', 'https://a.test/app'],
      /give an origin only/,
    ],
    [
      'http-url on another host',
      ['https://127.0.0.1:9/', '--http-url', 'http://example.com/'],
      /same host as the target/,
    ],
    [
      'missing CA file',
      ['https://127.0.0.1:9/', '--ca', '/nonexistent/ca.pem'],
      /Cannot read --ca "\/nonexistent\/ca.pem"/,
    ],
    ['json and markdown', ['http://127.0.0.1:9/', '--json', '--markdown'], /cannot be combined/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const run = await runInProcess(args);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /^harden-check: /);
      assert.equal(run.stdout, '');
    });
  }
});

describe('network errors exit 2', () => {
  test('connection refused', async () => {
    const server = await startServer((_req, res) => res.end());
    const { url } = server;
    await server.close();
    const run = await runChildProcess([url]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /network error: http:\/\/127\.0\.0\.1:\d+\/: connection refused: is the app running/,
    );
  });

  test('HTTPS URL on an HTTP port', async () => {
    const server = await startServer((_req, res) => res.end('plain'));
    servers.push(server);
    const run = await runInProcess([server.url.replace('http:', 'https:')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /TLS handshake failed: is this port serving plain HTTP\?/);
  });
});

describe('command line', () => {
  test('help exits 0', async () => {
    const run = await runChildProcess(['--help']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${USAGE}\n`);
  });

  test('rate-limit syntax', () => {
    const command = parseCommandLine([
      'http://127.0.0.1:3000/',
      '--rate-limit',
      'POST:/login=5',
      '--rate-limit',
      '/search',
      '--csrf',
      'delete:/api/notes/1',
      '--csrf',
      '/api/notes',
    ]);
    assert.deepEqual(command.options?.rateLimits, [
      { method: 'POST', path: '/login', expectedLimit: 5 },
      { method: 'GET', path: '/search', expectedLimit: 100 },
    ]);
    assert.deepEqual(command.options?.csrfTargets, [
      { method: 'DELETE', path: '/api/notes/1' },
      { method: 'POST', path: '/api/notes' },
    ]);
    assert.equal(command.options?.skipAddressSpoofCheck, false);
  });

  test('skip-address-spoof-check is off unless given', () => {
    const command = parseCommandLine(['http://127.0.0.1:3000/', '--skip-address-spoof-check']);
    assert.equal(command.options?.skipAddressSpoofCheck, true);
  });

  test('same-origin absolute page accepted', () => {
    const command = parseCommandLine([
      'http://127.0.0.1:3000/',
      '--page',
      'http://127.0.0.1:3000/login?next=/notes',
    ]);
    assert.deepEqual(command.options?.pages, ['/login?next=/notes']);
  });

  test('parse error is a UsageError', () => {
    assert.throws(() => parseCommandLine(['gopher://x/']), UsageError);
  });
});
