import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { RateLimitOptions } from '../src/rate-limit.js';
import { accountKey, normalizeAccountId } from '../src/rate-limit.js';
import { send, startApp, type TestApp } from './rate-limit-helpers.js';

const apps: TestApp[] = [];
after(async () => {
  for (const started of apps) await started.app.close();
});

const OWNER = 'victim@example.com';
const OWNER_PASSWORD = 'correct horse battery staple';
const OWNER_TAGGED = ['victim+a@example.com', 'victim+b@example.com', 'Victim+C@Example.com'];

/**
 * A small account app that uses the guard the way the notes app does: `check` before the password is
 * verified, then `recordFailure` or `recordSuccess`. Password-reset requests count per email and client.
 */
function accountRoutes(app: FastifyInstance): void {
  const passwords = new Map<string, string>([
    [OWNER, OWNER_PASSWORD],
    // Accounts whose mail lands in the owner's inbox, for the tagged-address flood.
    ...OWNER_TAGGED.map((email): [string, string] => [email, OWNER_PASSWORD]),
  ]);
  const resetTokens = new Map<string, string>();

  app.post<{ Body: { email: string; password: string } }>('/login', async (request, reply) => {
    const { email, password } = request.body;
    const attempt = await app.harden.bruteForce.login.check(request, email);
    if (!attempt.allowed) return attempt.reject(reply);

    if (passwords.get(email) !== password) {
      attempt.recordFailure();
      return reply.code(401).send({ signedIn: false });
    }
    await attempt.recordSuccess();
    return { signedIn: true };
  });

  app.post<{ Body: { email: string } }>('/password-reset', async (request, reply) => {
    const attempt = await app.harden.bruteForce.passwordReset.check(request, request.body.email);
    if (!attempt.allowed) return attempt.reject(reply);
    if (passwords.has(request.body.email) && attempt.sendMail) {
      const token = randomBytes(16).toString('hex');
      resetTokens.set(token, request.body.email);
      // This header replaces the mailbox: only the test that plays the owner reads the token.
      reply.header('x-test-mailbox-token', token);
    }
    return { sent: 'if the account exists' };
  });

  app.post<{ Params: { token: string }; Body: { password: string } }>(
    '/password-reset/:token',
    async (request, reply) => {
      const email = resetTokens.get(request.params.token);
      if (email === undefined) return reply.code(400).send({ reset: false });
      resetTokens.delete(request.params.token);
      passwords.set(email, request.body.password);
      await app.harden.bruteForce.login.clearAccount(email);
      return { reset: true };
    },
  );
}

async function start(rateLimit: RateLimitOptions = {}): Promise<TestApp> {
  const started = await startApp({ rateLimit, trustProxy: '127.0.0.1', routes: accountRoutes });
  apps.push(started);
  return started;
}

function json(address: string, body: unknown) {
  return {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  };
}

describe('credential stuffing', () => {
  test('50 addresses against one account: the account locks', async () => {
    const { url } = await start();
    const codes: number[] = [];
    for (let index = 1; index <= 50; index++) {
      codes.push(
        (
          await send(
            `${url}/login`,
            json(`198.51.100.${index}`, { email: OWNER, password: `guess-${index}` }),
          )
        ).status,
      );
    }
    assert.deepEqual(codes.slice(0, 10), new Array(10).fill(401));
    assert.deepEqual(codes.slice(10), new Array(40).fill(429));

    const ownerLogin = await send(
      `${url}/login`,
      json('192.0.2.10', { email: OWNER, password: OWNER_PASSWORD }),
    );
    assert.equal(ownerLogin.status, 429);
    // The first block lasts one window (an hour), counted from the attempt that crossed the limit.
    const retryAfter = Number(ownerLogin.headers['retry-after']);
    assert.ok(retryAfter > 3000, `Retry-After ${retryAfter}`);
    assert.ok(retryAfter <= 3600, `Retry-After ${retryAfter}`);
  });

  test('locked account: the reset flow still works for its owner', async () => {
    const { url } = await start();
    for (let index = 1; index <= 12; index++) {
      await send(`${url}/login`, json(`198.51.100.${index}`, { email: OWNER, password: 'wrong' }));
    }
    assert.equal(
      (await send(`${url}/login`, json('192.0.2.10', { email: OWNER, password: OWNER_PASSWORD }))).status,
      429,
    );

    const resetRequest = await send(`${url}/password-reset`, json('192.0.2.10', { email: OWNER }));
    assert.equal(resetRequest.status, 200);
    const token = String(resetRequest.headers['x-test-mailbox-token']);
    const resetDone = await send(
      `${url}/password-reset/${token}`,
      json('192.0.2.10', { password: 'a brand new passphrase' }),
    );
    assert.equal(resetDone.status, 200);

    const login = await send(
      `${url}/login`,
      json('192.0.2.10', { email: OWNER, password: 'a brand new passphrase' }),
    );
    assert.equal(login.status, 200);
  });

  test('spellings of one email share the account count', async () => {
    const { url } = await start({ bruteForce: { login: { perAccount: '3/hour' } } });
    const spellings = [
      OWNER,
      ' Victim@Example.com ',
      'VICTIM@EXAMPLE.COM',
      'ｖｉｃｔｉｍ@ｅｘａｍｐｌｅ.ｃｏｍ',
    ];
    const codes: number[] = [];
    for (const [index, email] of spellings.entries()) {
      codes.push(
        (await send(`${url}/login`, json(`198.51.100.${index + 1}`, { email, password: 'wrong' }))).status,
      );
    }
    assert.deepEqual(codes, [401, 401, 401, 429]);
  });

  test('parallel guesses cannot pass the account limit', async () => {
    const { url } = await start({ bruteForce: { login: { perAccount: '5/hour' } } });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        send(`${url}/login`, json(`198.51.100.${index + 1}`, { email: OWNER, password: 'wrong' })),
      ),
    );
    const codes = replies.map((reply) => reply.status);
    assert.equal(codes.filter((code) => code === 401).length, 5);
    assert.equal(codes.filter((code) => code === 429).length, 15);
  });
});

describe('per-client counting', () => {
  test('one client guessing many accounts gets blocked', async () => {
    const { url } = await start({ bruteForce: { login: { perClient: '3/hour' } } });
    const codes: number[] = [];
    for (let index = 1; index <= 5; index++) {
      codes.push(
        (
          await send(
            `${url}/login`,
            json('203.0.113.9', { email: `user${index}@example.com`, password: 'wrong' }),
          )
        ).status,
      );
    }
    assert.deepEqual(codes, [401, 401, 401, 429, 429]);
    // Another client is not blocked.
    assert.equal(
      (await send(`${url}/login`, json('203.0.113.10', { email: OWNER, password: OWNER_PASSWORD }))).status,
      200,
    );
  });

  test('a success resets the client count', async () => {
    const { url } = await start({ bruteForce: { login: { perClient: '3/hour' } } });
    const client = '203.0.113.20';
    const codes: number[] = [];
    for (const password of ['typo1', 'typo2', OWNER_PASSWORD, 'typo3', 'typo4', 'typo5']) {
      codes.push((await send(`${url}/login`, json(client, { email: OWNER, password }))).status);
    }
    assert.deepEqual(codes, [401, 401, 200, 401, 401, 401]);
    assert.equal((await send(`${url}/login`, json(client, { email: OWNER, password: 'typo6' }))).status, 429);
  });

  test('password spraying survives own-account login', async () => {
    const { url } = await start({ bruteForce: { login: { perClient: '3/hour' } } });
    const client = '203.0.113.21';
    const sprayed = ['a@example.com', 'b@example.com'];
    const codes: number[] = [];
    for (const email of sprayed) {
      codes.push((await send(`${url}/login`, json(client, { email, password: 'guess' }))).status);
    }
    // The attacker signs in to an account of its own (here the owner's, which it knows): the two
    // failures on other accounts stay counted, so the third guess elsewhere is the last one allowed.
    codes.push((await send(`${url}/login`, json(client, { email: OWNER, password: OWNER_PASSWORD }))).status);
    codes.push(
      (await send(`${url}/login`, json(client, { email: 'c@example.com', password: 'guess' }))).status,
    );
    codes.push(
      (await send(`${url}/login`, json(client, { email: 'd@example.com', password: 'guess' }))).status,
    );
    assert.deepEqual(codes, [401, 401, 200, 401, 429]);
  });

  test('block time grows on the next lockout', async () => {
    const { url } = await start({
      bruteForce: { login: { perClient: '2/second', perAccount: '100/second', maxBlockSeconds: 60 } },
    });
    const client = '203.0.113.30';
    const retryAfters: number[] = [];
    for (let round = 0; round < 2; round++) {
      await send(`${url}/login`, json(client, { email: OWNER, password: 'wrong' }));
      await send(`${url}/login`, json(client, { email: OWNER, password: 'wrong' }));
      const refused = await send(`${url}/login`, json(client, { email: OWNER, password: 'wrong' }));
      assert.equal(refused.status, 429);
      retryAfters.push(Number(refused.headers['retry-after']));
      // Wait out the block; the test asserts the block lengths, never how long anything took.
      await sleep(retryAfters[round] === undefined ? 0 : (retryAfters[round] as number) * 1000 + 200);
    }
    assert.deepEqual(retryAfters, [1, 2]);
  });
});

describe('password-reset requests', () => {
  test('mail per email is limited across addresses, without 429', async () => {
    const started = await start({ bruteForce: { passwordReset: { perAccount: '2/hour' } } });
    const answers: Array<[number, boolean]> = [];
    for (let index = 1; index <= 4; index++) {
      const response = await send(
        `${started.url}/password-reset`,
        json(`198.51.100.${index}`, { email: OWNER }),
      );
      answers.push([response.status, response.headers['x-test-mailbox-token'] !== undefined]);
    }
    assert.deepEqual(answers, [
      [200, true],
      [200, true],
      [200, false],
      [200, false],
    ]);
    assert.equal(started.events('rate_limit.reset_mail_withheld').length, 2);
    assert.equal(started.events('rate_limit.exceeded').length, 0);
    assert.equal(JSON.stringify(started.logs).includes(OWNER), false);
  });

  test('reset flood from many addresses cannot lock the owner out of the reset', async () => {
    // Others spend the account's reset budget; the owner must still be able to reset.
    const { url } = await start();
    const mailbox: string[] = [];
    for (let index = 1; index <= 12; index++) {
      const flood = await send(`${url}/password-reset`, json(`198.51.100.${index}`, { email: OWNER }));
      assert.equal(flood.status, 200);
      const token = flood.headers['x-test-mailbox-token'];
      if (typeof token === 'string') mailbox.push(token);
    }
    // The default allows 5 mails in 30 minutes: the owner's mailbox holds 5 links, and no more.
    assert.equal(mailbox.length, 5);

    const ownRequest = await send(`${url}/password-reset`, json('192.0.2.10', { email: OWNER }));
    assert.equal(ownRequest.status, 200);
    assert.equal(ownRequest.headers['retry-after'], undefined);

    // A link from the mails the flood made still works for the owner.
    const resetDone = await send(
      `${url}/password-reset/${mailbox.at(-1)}`,
      json('192.0.2.10', { password: 'a brand new passphrase' }),
    );
    assert.equal(resetDone.status, 200);
    const login = await send(
      `${url}/login`,
      json('192.0.2.10', { email: OWNER, password: 'a brand new passphrase' }),
    );
    assert.equal(login.status, 200);
  });

  test('reset flood over +tag addresses shares one mailbox limit', async () => {
    const { url } = await start();
    let mails = 0;
    let index = 0;
    for (const email of [OWNER, ...OWNER_TAGGED, OWNER, ...OWNER_TAGGED]) {
      index += 1;
      const flood = await send(`${url}/password-reset`, json(`198.51.100.${100 + index}`, { email }));
      assert.equal(flood.status, 200);
      if (typeof flood.headers['x-test-mailbox-token'] === 'string') mails += 1;
    }
    // 8 requests for 4 spellings of one inbox: the default sends 5 mails in 30 minutes, not 8.
    assert.equal(mails, 5);
  });

  test('reset flood with a locked login: the owner still resets and signs in', async () => {
    const { url } = await start({ bruteForce: { passwordReset: { perAccount: '1/hour' } } });
    for (let index = 1; index <= 12; index++) {
      await send(`${url}/login`, json(`198.51.100.${index}`, { email: OWNER, password: 'wrong' }));
    }
    const mailed = await send(`${url}/password-reset`, json('198.51.100.40', { email: OWNER }));
    const token = String(mailed.headers['x-test-mailbox-token']);
    for (let index = 41; index <= 50; index++) {
      assert.equal(
        (await send(`${url}/password-reset`, json(`198.51.100.${index}`, { email: OWNER }))).status,
        200,
      );
    }
    assert.equal((await send(`${url}/password-reset`, json('192.0.2.10', { email: OWNER }))).status, 200);
    const resetDone = await send(
      `${url}/password-reset/${token}`,
      json('192.0.2.10', { password: 'new passphrase 2' }),
    );
    assert.equal(resetDone.status, 200);
    const login = await send(
      `${url}/login`,
      json('192.0.2.10', { email: OWNER, password: 'new passphrase 2' }),
    );
    assert.equal(login.status, 200);
  });

  test('held-back mail is sent again once the window passes, with no growing block', async () => {
    const { url } = await start({ bruteForce: { passwordReset: { perAccount: '1/second' } } });
    const mailed = async (address: string) =>
      (await send(`${url}/password-reset`, json(address, { email: OWNER }))).headers[
        'x-test-mailbox-token'
      ] !== undefined;
    assert.equal(await mailed('198.51.100.1'), true);
    assert.equal(await mailed('198.51.100.2'), false);
    assert.equal(await mailed('198.51.100.3'), false);
    await sleep(1100);
    assert.equal(await mailed('192.0.2.10'), true);
  });

  test('limited per client across emails', async () => {
    const { url } = await start({ bruteForce: { passwordReset: { perClient: '3/hour' } } });
    const codes: number[] = [];
    for (let index = 1; index <= 5; index++) {
      codes.push(
        (await send(`${url}/password-reset`, json('203.0.113.40', { email: `someone${index}@example.com` })))
          .status,
      );
    }
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
  });

  test('refusal fits Accept and carries the wait', async () => {
    const { url } = await start({ bruteForce: { passwordReset: { perClient: '1/hour' } } });
    await send(`${url}/password-reset`, json('198.51.100.1', { email: OWNER }));
    const request = json('198.51.100.1', { email: 'someone@example.com' });
    const refused = await send(`${url}/password-reset`, {
      ...request,
      headers: { ...request.headers, accept: 'text/html' },
    });
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['content-type']), /^text\/html/);
    assert.match(refused.body, /Too many password-reset requests\./);
    assert.ok(Number(refused.headers['retry-after']) > 3000);
  });
});

describe('guard logging', () => {
  test('no email or password in any log line', async () => {
    const started = await start({ bruteForce: { login: { perAccount: '2/hour' } } });
    for (let index = 1; index <= 4; index++) {
      await send(
        `${started.url}/login`,
        json(`198.51.100.${index}`, { email: OWNER, password: 'hunter2-secret' }),
      );
    }
    const text = JSON.stringify(started.logs);
    assert.equal(text.includes(OWNER), false);
    assert.equal(text.includes('hunter2-secret'), false);
    const exceeded = started.events('rate_limit.exceeded');
    assert.equal(exceeded.length, 2);
    assert.equal(exceeded[0]?.limit, 'login.account');
    assert.equal(started.events('rate_limit.attempt_failed').length, 2);
  });
});

test('account key hashes the normalised email', () => {
  assert.equal(normalizeAccountId('  Ann+Notes@Example.COM '), 'ann+notes@example.com');
  assert.equal(normalizeAccountId('ａｎｎ@example.com'), 'ann@example.com');
  assert.equal(accountKey('Ann@Example.com'), accountKey('ann@example.com'));
  assert.notEqual(accountKey('ann+x@example.com'), accountKey('ann@example.com'));
  assert.doesNotMatch(accountKey('ann@example.com'), /ann|example/);
});
