import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { getAuditFindings, HardenAuditError, type HardenOptions, harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { captureLogs } from './csrf-helpers.js';

const SECRET = 'p4Lx9QzR2vT7mK1wN8cY5bH3sD6fG0aEjU';
const directory = mkdtempSync(join(tmpdir(), 'harden-audit-'));
const savedNodeEnv = process.env.NODE_ENV;
const apps: FastifyInstance[] = [];

after(() => rmSync(directory, { recursive: true, force: true }));
afterEach(async () => {
  process.env.NODE_ENV = savedNodeEnv;
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function build(
  options: Partial<HardenOptions>,
  fastifyOptions: { trustProxy?: boolean | string } = {},
) {
  const logs = captureLogs();
  const app = Fastify({ ...fastifyOptions, logger: { level: 'info', stream: logs.stream } });
  apps.push(app);
  await app.register(harden, {
    session: { secret: SECRET },
    store: { sqlite: join(directory, `${Math.random().toString(36).slice(2)}.sqlite`) },
    ...options,
  });
  app.post('/hooks/mail', { config: { harden: { csrf: { dangerouslyDisable: true } } } }, async () => 'ok');
  app.route({
    method: ['PUT', 'GET'],
    url: '/hooks/pay',
    config: { harden: { csrf: { dangerouslyDisable: true } } },
    handler: async () => 'ok',
  });
  app.post('/notes', async () => 'ok');
  return { app, logs };
}

describe('start-up audit', () => {
  test('lists every csrf opt-out route', async () => {
    const { app, logs } = await build({});
    await app.ready();
    const findings = getAuditFindings(app) ?? [];
    const routes = findings
      .filter((finding) => finding.id === 'csrf-disabled-route')
      .map((finding) => finding.message);
    assert.equal(routes.length, 2);
    assert.match(routes[0] ?? '', /^POST \/hooks\/mail skips the CSRF check/);
    assert.match(routes[1] ?? '', /^PUT \/hooks\/pay skips the CSRF check/);
    const logged = logs.lines.filter(
      (line) => line.event === 'audit.finding' && line.id === 'csrf-disabled-route',
    );
    assert.equal(logged.length, 2);
    assert.equal(logged[0]?.level, 40);
  });

  test('default configuration has no error', async () => {
    const { app } = await build({});
    await app.ready();
    const errors = (getAuditFindings(app) ?? []).filter((finding) => finding.severity === 'error');
    assert.deepEqual(errors, []);
  });

  test('trust proxy true logged as error', async () => {
    const { app, logs } = await build({}, { trustProxy: true });
    await app.ready();
    const ids = (getAuditFindings(app) ?? []).map((finding) => finding.id);
    assert.ok(ids.includes('trust-proxy-all'));
    const line = logs.lines.find(
      (entry) => entry.event === 'audit.finding' && entry.id === 'trust-proxy-all',
    );
    assert.equal(line?.level, 50);
  });

  test('trust proxy cidr accepted', async () => {
    const { app } = await build({}, { trustProxy: '10.0.0.0/8' });
    await app.ready();
    const ids = (getAuditFindings(app) ?? []).map((finding) => finding.id);
    assert.equal(ids.includes('trust-proxy-all'), false);
  });

  test('memory store with several instances', async () => {
    const { app } = await build({
      session: { secret: SECRET, dangerouslyAllowMemoryStore: true },
      store: { memory: true },
      instances: 2,
    });
    await app.ready();
    const ids = (getAuditFindings(app) ?? []).map((finding) => finding.id);
    assert.ok(ids.includes('memory-store-multiple-instances'));
  });

  test('hsts off while https forced', async () => {
    const { app } = await build({ https: { forceHttps: true, dangerouslyDisableHsts: true } });
    await app.ready();
    const ids = (getAuditFindings(app) ?? []).map((finding) => finding.id);
    assert.ok(ids.includes('hsts-off-with-https'));
  });

  test('invalid instances rejected', async () => {
    const app = Fastify();
    apps.push(app);
    app.register(harden, {
      session: { secret: SECRET },
      store: { sqlite: join(directory, 'instances.sqlite') },
      instances: 0,
    });
    await assert.rejects(async () => void (await app.ready()), {
      name: 'HardenConfigError',
      message:
        'Invalid option instances = 0: it must be a whole number, 1 or more. Fix: pass how many copies of the app run at once, such as 2',
    });
  });

  test('production stops on error finding', async () => {
    process.env.NODE_ENV = 'production';
    const { app } = await build({}, { trustProxy: true });
    await assert.rejects(
      async () => void (await app.ready()),
      (error: unknown) => {
        assert.ok(error instanceof HardenAuditError);
        assert.match(
          error.message,
          /^The start-up audit found 1 error\(s\), so the app does not start in production:\n- trust-proxy-all: /,
        );
        return true;
      },
    );
  });

  test('production starts with warnings only', async () => {
    process.env.NODE_ENV = 'production';
    const { app } = await build({});
    await app.ready();
    const severities = new Set((getAuditFindings(app) ?? []).map((finding) => finding.severity));
    assert.equal(severities.has('error'), false);
    assert.ok(severities.has('warning'));
  });
});
