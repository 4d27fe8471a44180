import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, csrfTokenOf, noteIdsOf, type RunningApp, registeredClient, startApp } from './helpers.js';

// CSRF against the notes app itself: its real sessions, login and forms.

const PASSWORD = 'correct horse battery';

describe('notes app csrf', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp();
  });

  after(async () => {
    await running.close();
  });

  test('token rotates at login', async () => {
    await registeredClient(running.origin, 'rotate@example.com', PASSWORD);
    const client = new Client(running.origin);
    const loginPage = await client.send('GET', '/login');
    const preLoginToken = csrfTokenOf(loginPage.text);
    assert.ok(preLoginToken, 'the login page carries a token');

    const login = await client.send('POST', '/login', {
      form: { _csrf: preLoginToken, email: 'rotate@example.com', password: PASSWORD },
    });
    assert.equal(login.status, 303);

    const stale = await client.send('POST', '/api/notes', {
      json: { body: 'with the token from before login' },
      headers: { 'x-csrf-token': preLoginToken },
    });
    assert.equal(stale.status, 403);
    assert.equal(JSON.parse(stale.text).reason, 'token-invalid');

    const me = await client.send('GET', '/api/me', { headers: { accept: 'application/json' } });
    const fresh = await client.send('POST', '/api/notes', {
      json: { body: 'with the token issued after login' },
      headers: { 'x-csrf-token': JSON.parse(me.text).csrfToken },
    });
    assert.equal(fresh.status, 201);
  });

  test('login csrf from another site refused', async () => {
    const victim = new Client(running.origin);
    await victim.send('GET', '/login');
    const attackerPage = new Client(running.origin);
    const attackerToken = csrfTokenOf((await attackerPage.send('GET', '/login')).text);

    const forged = await victim.send('POST', '/login', {
      form: { _csrf: attackerToken, email: 'rotate@example.com', password: PASSWORD },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(forged.status, 403);
    const rejection = running.logs.filter((line) => line.event === 'csrf.rejected').at(-1);
    assert.equal(rejection?.reason, 'cross-site');
  });

  test('cross-site note deletion refused', async () => {
    const client = await registeredClient(running.origin, 'delete@example.com', PASSWORD);
    await client.submit('/notes', '/notes', { body: 'keep me' });
    const [noteId] = noteIdsOf((await client.send('GET', '/notes')).text);
    assert.ok(noteId);

    const forged = await client.send('POST', `/notes/${noteId}/delete`, {
      form: {},
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(forged.status, 403);
    assert.deepEqual(noteIdsOf((await client.send('GET', '/notes')).text), [noteId]);
  });

  test('stale form token shows form again', async () => {
    const client = await registeredClient(running.origin, 'stale@example.com', PASSWORD);
    const refused = await client.send('POST', '/notes', {
      form: { _csrf: 'stale-token-value', body: 'typed text' },
    });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /typed text/);
    assert.ok(csrfTokenOf(refused.text).length >= 20, 'the form comes back with a fresh token');
  });
});
