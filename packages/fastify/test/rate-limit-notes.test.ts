import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

const root = new URL('../../../', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'harden-rl-demo-'));
let notes: ChildProcess | undefined;

after(async () => {
  if (notes && notes.exitCode === null) {
    const exited = once(notes, 'exit');
    notes.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the notes app from its sources on a free port and returns the address from its listen log line. */
async function startNotes(): Promise<string> {
  notes = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'apps/notes/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TRUST_PROXY: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const chunk of notes.stdout ?? []) {
    output += String(chunk);
    const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (listening?.[1]) return listening[1];
  }
  throw new Error(`the notes app did not start: ${output}`);
}

let origin = '';

test('demo script gets 429 from notes login', async () => {
  origin = await startNotes();
  const result = spawnSync('sh', [join(root, 'scripts/demo-rate-limit.sh'), `${origin}/login`, '15'], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /attempt 1: HTTP 401/);
  assert.match(result.stdout, /HTTP 429/);
  assert.match(result.stdout, /^retry-after: \d+\r?$/m);
  assert.match(result.stdout, /^ratelimit-policy: .*"route";q=10;w=60/m);
  assert.match(result.stdout, /Too many requests\. Try again in \d+ seconds?\./);
});

/** Waits for the app's outbox to hold a message to `recipient` (the app writes it after it has replied). */
async function waitForMail(recipient: string): Promise<string> {
  const outbox = join(dataDir, 'outbox');
  for (let attempt = 0; attempt < 100; attempt++) {
    let files: string[] = [];
    try {
      files = readdirSync(outbox).filter((file) => file.endsWith('.eml'));
    } catch {
      // The outbox directory is created with the first message.
    }
    const mail = files
      .map((file) => readFileSync(join(outbox, file), 'utf8'))
      .find((text) => text.includes(recipient));
    if (mail !== undefined) return mail;
    await sleep(50);
  }
  throw new Error(`no mail to ${recipient} in the outbox`);
}

/**
 * A browser tab behind the trusted proxy: its own cookie jar and the client address the proxy reports
 * in X-Forwarded-For. Reads the CSRF token of each form it fetches.
 */
class Tab {
  private readonly cookies = new Map<string, string>();
  private token = '';

  constructor(private readonly address: string) {}

  async get(path: string): Promise<{ status: number; body: string }> {
    const response = await request(`${origin}${path}`, { headers: this.headers() });
    this.keepCookies(response.headers['set-cookie']);
    const body = await response.body.text();
    this.token = /name="_csrf" value="([^"]*)"/.exec(body)?.[1] ?? this.token;
    return { status: response.statusCode, body };
  }

  async post(
    path: string,
    fields: Record<string, string>,
  ): Promise<{ status: number; retryAfter: string | undefined }> {
    const response = await request(`${origin}${path}`, {
      method: 'POST',
      headers: { ...this.headers(), origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...fields, _csrf: this.token }).toString(),
    });
    this.keepCookies(response.headers['set-cookie']);
    await response.body.text();
    const retryAfter = response.headers['retry-after'];
    return {
      status: response.statusCode,
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    };
  }

  private headers(): Record<string, string> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    return { accept: 'text/html', 'x-forwarded-for': this.address, ...(cookie ? { cookie } : {}) };
  }

  private keepCookies(setCookie: string | string[] | undefined): void {
    let lines: string[] = [];
    if (Array.isArray(setCookie)) lines = setCookie;
    else if (setCookie !== undefined) lines = [setCookie];
    for (const line of lines) {
      const [pair = ''] = line.split(';');
      const separator = pair.indexOf('=');
      this.cookies.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
  }
}

test('notes app: stuffing locks, owner resets', async () => {
  const owner = new Tab('192.0.2.10');
  await owner.get('/register');
  const registered = await owner.post('/register', {
    email: 'owner@example.com',
    password: 'the original passphrase',
  });
  assert.equal(registered.status, 303);

  const codes: number[] = [];
  for (let index = 1; index <= 50; index++) {
    const attacker = new Tab(`198.51.100.${index}`);
    await attacker.get('/login');
    codes.push(
      (await attacker.post('/login', { email: 'owner@example.com', password: `guess ${index}` })).status,
    );
  }
  assert.deepEqual(codes.slice(0, 10), new Array(10).fill(401));
  assert.deepEqual(codes.slice(10), new Array(40).fill(429));

  const ownerTab = new Tab('192.0.2.10');
  await ownerTab.get('/login');
  const locked = await ownerTab.post('/login', {
    email: 'owner@example.com',
    password: 'the original passphrase',
  });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.retryAfter) > 0);

  await ownerTab.get('/password-reset');
  assert.equal((await ownerTab.post('/password-reset', { email: 'owner@example.com' })).status, 200);
  const token = /\/password-reset\/([A-Za-z0-9_-]{43})/.exec(await waitForMail('owner@example.com'))?.[1];
  assert.ok(token, 'the reset mail contains a link');

  assert.equal((await ownerTab.get(`/password-reset/${token}`)).status, 200);
  assert.equal(
    (await ownerTab.post(`/password-reset/${token}`, { password: 'a brand new passphrase' })).status,
    200,
  );

  await ownerTab.get('/login');
  const signedIn = await ownerTab.post('/login', {
    email: 'owner@example.com',
    password: 'a brand new passphrase',
  });
  assert.equal(signedIn.status, 303);
});
