import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { captureLogs, cookiePair, send, variesByOrigin } from './csrf-helpers.js';

// The default limit counts every request before CORS, sessions and CSRF can reject it, so a flood of
// requests these measures reject is cut off with 429 like any other. A GET route's automatic HEAD
// route shares the GET route's own limit, so HEAD cannot double it.

const TRUSTED = 'http://127.0.0.1:5173';
const EVIL = 'https://evil.test';
const SECRET = 'w7Kp2Lx9QzR4vT1mN8cY5bH3sD6fG0aEjU';
const LIMIT = 5;

interface Started {
  app: FastifyInstance;
  port: number;
  logs: Array<Record<string, unknown>>;
  handled: () => number;
}

const started: FastifyInstance[] = [];
const directory = mkdtempSync(join(tmpdir(), 'harden-rate-order-'));
after(async () => {
  for (const app of started) await app.close();
  rmSync(directory, { recursive: true, force: true });
});

/** Starts the whole plugin with a default limit of 5 a minute, so each test has a fresh count for 127.0.0.1. */
async function start(): Promise<Started> {
  const logs = captureLogs();
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
  started.push(app);
  let handled = 0;
  await app.register(harden, {
    session: { secret: SECRET },
    store: { sqlite: join(directory, `harden-${started.length}.sqlite`) },
    cors: { origins: [TRUSTED] },
    rateLimit: { default: `${LIMIT}/minute` },
  });
  app.get('/', async () => 'home');
  app.get('/login', async (request) => {
    request.session.set('userId', 'user-1');
    return 'signed in';
  });
  app.post('/api/notes', async () => ({ saved: true }));
  app.get('/healthz', { config: { harden: { rateLimit: 'exempt' } } }, async () => 'ok');
  app.get('/expensive', { config: { harden: { rateLimit: '3/minute' } } }, async () => {
    handled++;
    return 'costly';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port, logs: logs.lines, handled: () => handled };
}

function eventCount(logs: Array<Record<string, unknown>>, event: string): number {
  return logs.filter((line) => line.event === event).length;
}

describe('the default limit counts before other measures answer', () => {
  test('refused preflight flood gets 429 after the default limit', async () => {
    const { port, logs } = await start();
    const preflight: Array<[string, string]> = [
      ['origin', EVIL],
      ['access-control-request-method', 'POST'],
    ];
    const codes: number[] = [];
    for (let index = 0; index < LIMIT + 3; index++) {
      codes.push((await send(port, 'OPTIONS', '/api/notes', preflight)).status);
    }
    assert.deepEqual(codes, [403, 403, 403, 403, 403, 429, 429, 429]);
    // One warn line per refused preflight, and none once the limit sends 429, so the log is bounded too.
    assert.equal(eventCount(logs, 'cors.origin_refused'), LIMIT);
    assert.equal(eventCount(logs, 'rate_limit.exceeded'), 3);
    assert.equal((await send(port, 'GET', '/')).status, 429);
  });

  test('refused preflights are counted: a later GET sees the remaining quota', async () => {
    const { port } = await start();
    const preflight: Array<[string, string]> = [
      ['origin', EVIL],
      ['access-control-request-method', 'DELETE'],
    ];
    await send(port, 'OPTIONS', '/api/notes', preflight);
    await send(port, 'OPTIONS', '/missing', preflight);
    const response = await send(port, 'GET', '/');
    assert.equal(response.status, 200);
    assert.match(String(response.headers.ratelimit), /^"default";r=2;t=\d+$/);
  });

  test('cross-origin posts refused by the origin check get 429 after the default limit', async () => {
    const { port, logs } = await start();
    const codes: number[] = [];
    for (let index = 0; index < LIMIT + 2; index++) {
      const response = await send(
        port,
        'POST',
        '/api/notes',
        [
          ['origin', EVIL],
          ['content-type', 'application/json'],
        ],
        '{}',
      );
      codes.push(response.status);
      // A refused post never stores a session, before the limit or after it.
      assert.equal(cookiePair(response, '__Host-sid'), undefined);
    }
    assert.deepEqual(codes, [403, 403, 403, 403, 403, 429, 429]);
    assert.equal(eventCount(logs, 'csrf.rejected'), LIMIT);
  });

  test('duplicated session cookie flood gets 429 after the default limit', async () => {
    const { port, logs } = await start();
    const cookies: Array<[string, string]> = [['cookie', '__Host-sid=a; __Host-sid=b']];
    const codes: number[] = [];
    for (let index = 0; index < LIMIT + 2; index++) {
      codes.push((await send(port, 'GET', '/', cookies)).status);
    }
    assert.deepEqual(codes, [400, 400, 400, 400, 400, 429, 429]);
    assert.equal(eventCount(logs, 'session.cookie_rejected'), LIMIT);
  });

  test('429 past the limit neither loads, saves nor clears the session', async () => {
    const { port } = await start();
    const login = await send(port, 'GET', '/login');
    const session = cookiePair(login, '__Host-sid');
    assert.ok(session);
    for (let index = 1; index < LIMIT; index++) await send(port, 'GET', '/', [['cookie', session]]);
    const refused = await send(port, 'GET', '/login', [['cookie', session]]);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['set-cookie'], undefined);
  });

  test('429 to a trusted origin still carries its cors headers', async () => {
    const { port } = await start();
    for (let index = 0; index < LIMIT; index++) await send(port, 'GET', '/');
    const refused = await send(port, 'GET', '/', [['origin', TRUSTED]]);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['access-control-allow-origin'], TRUSTED);
    assert.equal(refused.headers['access-control-allow-credentials'], 'true');
    assert.match(String(refused.headers['access-control-expose-headers']), /retry-after/);
    assert.ok(variesByOrigin(refused));

    const untrusted = await send(port, 'GET', '/', [['origin', EVIL]]);
    assert.equal(untrusted.status, 429);
    assert.equal(untrusted.headers['access-control-allow-origin'], undefined);
    assert.ok(variesByOrigin(untrusted));
  });

  test('exempt route is not counted and gets no rate-limit headers', async () => {
    const { port } = await start();
    for (let index = 0; index < LIMIT + 2; index++) {
      const response = await send(port, 'GET', '/healthz');
      assert.equal(response.status, 200);
      assert.equal(response.headers.ratelimit, undefined);
      assert.equal(response.headers['ratelimit-policy'], undefined);
    }
    const home = await send(port, 'GET', '/');
    assert.match(String(home.headers.ratelimit), /^"default";r=4;/);
  });

  test('route limit keeps both policies in the headers', async () => {
    const { port } = await start();
    const response = await send(port, 'GET', '/expensive');
    assert.equal(response.headers['ratelimit-policy'], '"default";q=5;w=60, "route";q=3;w=60');
    assert.match(String(response.headers.ratelimit), /^"default";r=4;t=\d+, "route";r=2;t=\d+$/);
  });
});

describe('HEAD and GET share a route limit', () => {
  test('HEAD requests do not double a GET route limit', async () => {
    const { port, handled } = await start();
    const codes: number[] = [];
    codes.push((await send(port, 'GET', '/expensive')).status);
    codes.push((await send(port, 'GET', '/expensive')).status);
    codes.push((await send(port, 'HEAD', '/expensive')).status);
    codes.push((await send(port, 'HEAD', '/expensive')).status);
    codes.push((await send(port, 'GET', '/expensive')).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal(handled(), 3);
  });

  test('HEAD first, then GET: one count', async () => {
    const { port, handled } = await start();
    const codes: number[] = [];
    for (let index = 0; index < 3; index++) codes.push((await send(port, 'HEAD', '/expensive')).status);
    codes.push((await send(port, 'GET', '/expensive')).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
    assert.equal(handled(), 3);
  });
});
