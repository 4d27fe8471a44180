import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Client, noteIdsOf, type RunningApp, registeredClient, SESSION_COOKIE, startApp } from './helpers.js';

const PASSWORD = 'correct horse battery';

/** Extracts the session id from a signed `__Host-sid` cookie value (`<id>.<signature>`, URL-encoded). */
function sessionIdOf(cookie: string): string {
  const decoded = decodeURIComponent(cookie);
  return decoded.slice(0, decoded.lastIndexOf('.'));
}

describe('sessions in the SQLite store', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('expired session cookie gets a fresh session', async () => {
    const client = await registeredClient(running.origin, 'expired-session@example.com', PASSWORD);
    const cookie = client.sessionId;
    assert.ok(cookie);
    assert.equal((await client.send('GET', '/notes')).status, 200);

    const db = new Database(`${running.dataDir}/harden.sqlite`);
    try {
      const changed = db
        .prepare('UPDATE harden_sessions SET expires_at = ? WHERE sid = ?')
        .run(Date.now() - 1, sessionIdOf(cookie));
      assert.equal(changed.changes, 1, 'the session row was found by its id');
    } finally {
      db.close();
    }

    const response = await client.send('GET', '/notes');
    assert.equal(response.status, 303);
    assert.equal(response.location, '/login');
    const page = await client.send('GET', '/login');
    assert.equal(page.status, 200);
    assert.notEqual(client.sessionId, cookie, 'the expired id is replaced, not adopted');
  });

  test('attacker-chosen session id is not adopted', async () => {
    const victim = new Client(running.origin);
    victim.cookies.set(SESSION_COOKIE, 'attacker-chosen-id');
    await victim.submit('/register', '/register', { email: 'fixation@example.com', password: PASSWORD });
    assert.notEqual(victim.sessionId, 'attacker-chosen-id');
    assert.equal((await victim.send('GET', '/notes')).status, 200);

    const attacker = new Client(running.origin);
    attacker.cookies.set(SESSION_COOKIE, 'attacker-chosen-id');
    assert.equal((await attacker.send('GET', '/notes')).location, '/login');
  });
});

describe('sessions in Redis', () => {
  let running: RunningApp;
  const keyPrefix = `notes-test-${randomBytes(6).toString('hex')}:`;
  const redisCli = (...args: string[]) =>
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', '-n', '3', ...args], { encoding: 'utf8' });
  const keys = () => redisCli('--scan', '--pattern', `${keyPrefix}*`).split('\n').filter(Boolean);

  before(async () => {
    running = await startApp({ REDIS_URL: 'redis://127.0.0.1:6379/3', REDIS_KEY_PREFIX: keyPrefix });
  });

  after(async () => {
    await running?.close();
    const left = keys();
    if (left.length > 0) redisCli('del', ...left);
  });

  test('register, note, logout with sessions in Redis', async () => {
    const client = await registeredClient(running.origin, 'redis@example.com', PASSWORD);
    const cookie = client.sessionId;
    assert.ok(cookie);
    assert.ok(
      keys().some((key) => key.includes(sessionIdOf(cookie))),
      'the session lives in Redis under the prefix',
    );

    await client.submit('/notes', '/notes', { body: 'stored while sessions live in Redis' });
    assert.equal(noteIdsOf((await client.send('GET', '/notes')).text).length, 1);

    await client.submit('/notes', '/logout', {});
    assert.ok(!keys().some((key) => key.includes(sessionIdOf(cookie))), 'logout deletes the Redis record');
    const replay = new Client(running.origin);
    replay.cookies.set(SESSION_COOKIE, cookie);
    assert.equal((await replay.send('GET', '/notes')).location, '/login');
  });

  test('login rotates the session id in Redis', async () => {
    await registeredClient(running.origin, 'redis-rotate@example.com', PASSWORD);
    const client = new Client(running.origin);
    await client.send('GET', '/login');
    const before = client.sessionId;
    assert.ok(before);
    await client.submit('/login', '/login', { email: 'redis-rotate@example.com', password: PASSWORD });
    assert.ok(client.sessionId);
    assert.notEqual(client.sessionId, before);
    assert.ok(!keys().some((key) => key.includes(sessionIdOf(before))), 'the pre-login record is deleted');
  });
});
