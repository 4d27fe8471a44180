import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

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
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
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

test('demo script gets 429 from notes login', async () => {
  const origin = await startNotes();
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
