// Runs the whole harness with a few requests per case, so that it cannot rot. No timing is asserted:
// only the shape of the table and the JSON, and that every response of every server had the expected status.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROUTES } from '../src/load.js';
import type { BenchResults } from '../src/results.js';
import { VARIANTS } from '../src/variants.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const MEMORY_KEYS = 2000;

describe('bench harness, short run', () => {
  let resultsDir: string;
  let stdout: string;
  let stderr: string;
  let status: number | null;
  let results: BenchResults;

  before(() => {
    resultsDir = mkdtempSync(join(tmpdir(), 'harden-bench-smoke-'));
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=source',
        CLI,
        '--requests',
        '40',
        '--connections',
        '4',
        '--rounds',
        '1',
        '--memory-keys',
        String(MEMORY_KEYS),
        '--flood',
        '4000',
        '--source',
        '--results',
        resultsDir,
        '--no-markdown',
      ],
      { encoding: 'utf8', timeout: 600_000 },
    );
    stdout = run.stdout;
    stderr = run.stderr;
    status = run.status;
    results = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8')) as BenchResults;
  });

  after(() => {
    rmSync(resultsDir, { recursive: true, force: true });
  });

  it('exits 0 with no failed variant', () => {
    assert.deepEqual(results.failures, [], stderr);
    assert.equal(status, 0, stderr);
  });

  it('measures every variant on every route', () => {
    const measured = results.cases.map((c) => `${c.variant} ${c.route}`).sort();
    const expected = VARIANTS.flatMap((v) => ROUTES.map((r) => `${v.id} ${r.id}`)).sort();
    assert.deepEqual(measured, expected);
  });

  it('gets status 200 for every request of every case', () => {
    for (const c of results.cases) {
      const round = c.rounds[0];
      assert.ok(round, `${c.variant} ${c.route} has no round`);
      assert.deepEqual(
        Object.keys(round.statusCodes),
        ['200'],
        `${c.variant} ${c.route}: ${JSON.stringify(round.statusCodes)}`,
      );
      assert.equal(round.errors, 0, `${c.variant} ${c.route} had connection errors`);
      assert.equal(c.allExpectedStatus, true, `${c.variant} ${c.route}`);
    }
  });

  it('reports numbers and a ratio of 1 for the reference', () => {
    for (const c of results.cases) {
      assert.ok(c.median.requestsPerSecond > 0, `${c.variant} ${c.route} req/s`);
      assert.ok(Number.isFinite(c.median.p50), `${c.variant} ${c.route} p50`);
      assert.ok(Number.isFinite(c.median.p99), `${c.variant} ${c.route} p99`);
      assert.ok(Number.isFinite(c.median.ratio), `${c.variant} ${c.route} ratio`);
    }
    for (const c of results.cases.filter((r) => r.variant === 'fastify')) assert.equal(c.median.ratio, 1);
  });

  it('describes the machine and the settings', () => {
    assert.equal(results.schema, 1);
    assert.ok(results.machine.cpuModel.length > 0);
    assert.ok(results.machine.cores > 0);
    assert.ok(results.machine.memoryBytes > 0);
    assert.equal(results.machine.node, process.version);
    assert.equal(results.machine.loadAverage.length, 3);
    assert.equal(results.settings.load, '40 requests');
    assert.equal(results.settings.connections, 4);
    assert.equal(results.settings.pluginBuild, 'source');
  });

  it('checks every target with pass, miss or a measurement', () => {
    assert.ok(results.targets.length >= 9);
    for (const target of results.targets) {
      assert.ok(['pass', 'miss'].includes(target.status), `${target.id}: ${target.status}`);
      assert.notEqual(target.measured, null, target.id);
    }
  });

  it('reports the memory store per key and under the flood', () => {
    assert.ok(results.memory);
    assert.equal(results.memory.steps.length, 1);
    const step = results.memory.steps[0];
    assert.equal(step?.keys, MEMORY_KEYS);
    assert.ok((step?.heapBytesPerKey ?? 0) > 0);
    assert.ok(results.memory.flood);
    assert.equal(results.memory.flood.requests, 4000);
    assert.ok(results.memory.flood.samples.length > 0);
  });

  it('prints a table row per variant and route', () => {
    for (const variant of VARIANTS) {
      const rows = stdout.split('\n').filter((line) => line.startsWith(variant.label));
      assert.equal(rows.length, ROUTES.length, `rows of ${variant.label}`);
    }
    for (const route of ROUTES) assert.ok(stdout.includes(route.label), route.label);
    assert.match(stdout, /Targets/);
  });
});
