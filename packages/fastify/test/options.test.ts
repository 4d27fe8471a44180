import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { harden } from '@harden/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

// Every top-level option is checked at registration: a misspelled option must not be ignored, or the
// measure the user meant to configure silently keeps its default.

const VALID =
  'origin, session, store, headers, https, rateLimit, cors, csrf, instances, errorHandlers, onRejection';

const apps: FastifyInstance[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function register(options: unknown): Promise<void> {
  const app = Fastify();
  apps.push(app);
  await app.register(harden, options as never);
  await app.ready();
}

const misspelled: Array<[string, Record<string, unknown>, string]> = [
  [
    'misspelled rateLimt',
    { session: false, store: { memory: true }, rateLimt: { default: '5/minute' } },
    `Invalid option rateLimt = "(an object)": it is not an option of @harden/fastify. Fix: did you mean rateLimit? use one of ${VALID}`,
  ],
  [
    'lower-case ratelimit',
    { session: false, store: { memory: true }, ratelimit: { default: '5/minute' } },
    `Invalid option ratelimit = "(an object)": it is not an option of @harden/fastify. Fix: did you mean rateLimit? use one of ${VALID}`,
  ],
  [
    'singular header',
    { session: false, store: { memory: true }, header: {} },
    `Invalid option header = "(an object)": it is not an option of @harden/fastify. Fix: did you mean headers? use one of ${VALID}`,
  ],
  [
    'plural origins at the top',
    { session: false, store: { memory: true }, origins: ['https://app.example'] },
    `Invalid option origins = "(an array)": it is not an option of @harden/fastify. Fix: did you mean origin? use one of ${VALID}`,
  ],
  [
    'unrelated option',
    { session: false, store: { memory: true }, helmet: true },
    `Invalid option helmet = "(a boolean)": it is not an option of @harden/fastify. Fix: use one of ${VALID}`,
  ],
];

for (const [name, options, message] of misspelled) {
  test(`rejects ${name}`, async () => {
    await assert.rejects(() => register(options), { name: 'HardenConfigError', message });
  });
}

test('secret put at the top level is not quoted', async () => {
  const secret = 'w7Kp2Lx9QzR4vT1mN8cY5bH3sD6fG0aEjU';
  await assert.rejects(
    () => register({ session: false, store: { memory: true }, secret }),
    (error: unknown) =>
      error instanceof Error &&
      error.name === 'HardenConfigError' &&
      error.message.startsWith('Invalid option secret = "(a string)": it is not an option') &&
      !error.message.includes(secret),
  );
});

test('known options and Fastify register options pass', async () => {
  await register({ session: false, store: { memory: true }, instances: 1, errorHandlers: true });
  await register({ session: false, store: { memory: true }, logLevel: 'warn' });
});
