import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type HardenOptions, harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';

// An app whose public origin is https is served over HTTPS, so its plain-HTTP requests are redirected
// without forceHttps being set. Without an https origin nothing changes.

const apps: FastifyInstance[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function plainGet(options: Partial<HardenOptions>) {
  const app = Fastify();
  apps.push(app);
  await app.register(harden, { session: false, store: { memory: true }, ...options });
  app.get('/notes', async () => 'notes');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const response = await request(`${url}/notes?page=2`);
  await response.body.text();
  return { status: response.statusCode, location: response.headers.location };
}

test('https origin alone redirects plain HTTP to it', async () => {
  assert.deepEqual(await plainGet({ origin: 'https://notes.example' }), {
    status: 301,
    location: 'https://notes.example/notes?page=2',
  });
});

test('https origin in upper case and with a port redirects too', async () => {
  assert.deepEqual(await plainGet({ origin: 'HTTPS://Notes.Example:8443' }), {
    status: 301,
    location: 'https://notes.example:8443/notes?page=2',
  });
});

test('http origin keeps plain HTTP for local development', async () => {
  assert.deepEqual(await plainGet({ origin: 'http://127.0.0.1:3000' }), { status: 200, location: undefined });
});

test('no origin keeps plain HTTP', async () => {
  assert.deepEqual(await plainGet({}), { status: 200, location: undefined });
});

test('forceHttps false turns the default redirect off', async () => {
  assert.deepEqual(await plainGet({ origin: 'https://notes.example', https: { forceHttps: false } }), {
    status: 200,
    location: undefined,
  });
});

test('plain-HTTP redirects count against the default rate limit', async () => {
  const app = Fastify();
  apps.push(app);
  await app.register(harden, {
    session: false,
    store: { memory: true },
    origin: 'https://notes.example',
    rateLimit: { default: '3/minute' },
  });
  app.get('/notes', async () => 'notes');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const codes: number[] = [];
  for (let index = 0; index < 5; index++) {
    const response = await request(`${url}/notes`, { headers: { host: 'evil.example' } });
    await response.body.text();
    codes.push(response.statusCode);
  }
  assert.deepEqual(codes, [301, 301, 301, 429, 429]);
});

test('untrusted TLS proxy loop is logged once', async () => {
  const lines: string[] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } } });
  apps.push(app);
  await app.register(harden, { session: false, store: { memory: true }, origin: 'https://notes.example' });
  app.get('/notes', async () => 'notes');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });

  for (let attempt = 0; attempt < 3; attempt++) {
    const response = await request(`${url}/notes`, { headers: { 'x-forwarded-proto': 'https' } });
    await response.body.text();
    assert.equal(response.statusCode, 301);
    assert.equal(response.headers.location, 'https://notes.example/notes');
  }

  const warnings = lines
    .map((line) => JSON.parse(line))
    .filter((line) => line.event === 'https.untrusted_forwarded_proto');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].msg, /set trustProxy to its address/);
});

test('plain HTTP without a proxy header logs nothing', async () => {
  const lines: string[] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } } });
  apps.push(app);
  await app.register(harden, { session: false, store: { memory: true }, origin: 'https://notes.example' });
  app.get('/notes', async () => 'notes');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const response = await request(`${url}/notes`);
  await response.body.text();
  assert.equal(response.statusCode, 301);
  assert.equal(lines.filter((line) => line.includes('untrusted_forwarded_proto')).length, 0);
});
