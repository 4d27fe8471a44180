import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const appDirectory = new URL('..', import.meta.url).pathname;

test('audit script prints the notes app audit', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'notes-audit-'));
  try {
    const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/audit.ts'], {
      cwd: appDirectory,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        NODE_ENV: 'production',
        CORS_ORIGINS: 'http://127.0.0.1:5173',
      },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Start-up audit of the notes app \(production\): \d+ finding\(s\)\n/);
    assert.doesNotMatch(result.stdout, /^ERROR /m);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('audit script reports a rejected option in one line', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'notes-audit-'));
  try {
    const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/audit.ts'], {
      cwd: appDirectory,
      env: { ...process.env, DATA_DIR: dataDir, SESSION_SECRET: 'a'.repeat(40) },
      encoding: 'utf8',
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^Invalid option session\.secret/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(result.stderr, /aaaaaaaaaa/, 'the secret is never printed');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
