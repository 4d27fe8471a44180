import type { BenchResults, CaseResult, TargetResult } from './results.js';

const MIB = 1024 * 1024;

const HOW_TO_READ = [
  '## How the rows are built',
  '',
  '- Every server serves the same routes: `GET /page` (HTML that reads the signed-in user from the session,',
  '  with a script that carries the CSP nonce when there is one), `GET /api/items` (JSON, requested from the',
  '  allowed origin `https://app.bench.test`), and `POST /api/items` (JSON, same-origin, with the session',
  '  cookie and the CSRF token from a setup request, and `Sec-Fetch-Site: same-origin`).',
  '- Harden rows configure @harden/fastify through its public options only. A measure that is off is turned',
  '  off as far as the options allow (`session: false`, all headers in `dangerouslyDisable`, no CORS origin,',
  "  the route settings `rateLimit: 'exempt'` and `csrf.dangerouslyDisable`), so a row includes what a",
  '  disabled measure still costs. The rate limit keeps its counting but with a quota of 10^9 a minute,',
  '  because every request comes from 127.0.0.1.',
  '- The CSRF token is bound to the session, so the CSRF row has sessions on: its cost is that row minus the',
  '  sessions row.',
  '- Before a row is measured, the runner checks that each of its measures is at work (the page reads the',
  '  session, the CSP carries a nonce, the allowed origin gets CORS headers, RateLimit headers are sent, and a',
  '  POST without the token gets 403) and that the measures it turned off send nothing.',
  '- The floor row is bare Fastify plus helmet 8 default headers, set as constant strings by one hook.',
  '- The Express row is Express 5 with helmet, cors (allowlist), express-rate-limit, express-session and',
  '  csrf-csrf, with MemoryStore or connect-redis and rate-limit-redis.',
  '- Reproduce: `npm run bench` (`npm run bench -- --help` lists duration, rounds, connections and the',
  '  memory sizes). `node --import tsx bench/src/profile.ts <variant> <page|json|post>` prints where a',
  '  row spends its CPU.',
  '',
];

/** Formats the throughput table as aligned plain text, one block per route. */
export function formatTable(results: BenchResults): string {
  const lines: string[] = [];
  for (const route of results.routes) {
    lines.push('', `${route.label}`);
    const rows = results.cases.filter((c) => c.route === route.id).map(caseCells);
    lines.push(
      ...alignColumns([['variant', 'req/s', 'p50 ms', 'p99 ms', 'x bare', 'CPU us/req', 'status'], ...rows]),
    );
  }
  const [startLoad = 0] = results.machine.loadAverage;
  if (startLoad > results.machine.cores / 2) {
    lines.push(
      '',
      `NOTE: load average ${startLoad} on ${results.machine.cores} cores at start: other processes shared the CPU.`,
    );
  }
  lines.push('', 'Targets');
  lines.push(
    ...alignColumns([['target', 'measured', 'needs', 'result'], ...results.targets.map(targetCells)]),
  );
  if (results.memory)
    lines.push('', `Memory: ${results.memory.store}`, ...alignColumns(memoryLines(results)));
  for (const failure of results.failures) lines.push('', `FAILED ${failure.variant}: ${failure.error}`);
  return lines.join('\n');
}

/** Renders BENCHMARKS.md from a results file. */
export function formatMarkdown(results: BenchResults, resultsPath: string): string {
  const { machine, settings } = results;
  const out: string[] = [
    '# Benchmarks',
    '',
    'What the security layers cost, measured by `npm run bench` (bench/): autocannon on loopback against',
    'each server in its own child process, one after another, alternating over several rounds. Only ratios',
    'taken in the same run mean anything on a shared machine, so every row is compared with bare Fastify',
    'measured in the same round; the ratio is the median of the per-round ratios.',
    '',
    `Run of ${results.startedAt} (results: \`${resultsPath}\`).`,
    '',
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${machine.os}, Node ${machine.node}`,
    `- Load average (1, 5, 15 min) at start: ${machine.loadAverage.join(', ')}; at end: ${results.loadAverageAtEnd.join(', ')}`,
    `- Load: ${settings.load} per measurement after ${settings.warmupSeconds} s warm-up, ${settings.rounds} rounds, ${settings.connections} connections, @harden/fastify from ${settings.pluginBuild}, NODE_ENV=${settings.nodeEnv}`,
    '- autocannon runs in the parent process on the same machine, so on few cores it competes with the server',
    '  and the fastest rows are measured low: the ratios understate the cost of the slower rows.',
    '- "server CPU µs/req" is the server process\'s own CPU time (user + system) per response. It varies',
    '  less with other load than requests/s does, so compare it when the machine was busy.',
    '',
    '## Targets',
    '',
    '| target | measured | needs | result |',
    '|---|---|---|---|',
    ...results.targets.map((t) => `| ${targetCells(t).join(' | ')} |`),
    '',
  ];
  for (const route of results.routes) {
    out.push(
      `## ${route.label}`,
      '',
      '| variant | req/s | p50 ms | p99 ms | x bare | server CPU µs/req | status |',
      '|---|---:|---:|---:|---:|---:|---|',
    );
    for (const c of results.cases.filter((r) => r.route === route.id))
      out.push(`| ${caseCells(c).join(' | ')} |`);
    out.push('');
  }
  if (results.memory) {
    out.push('## Rate-limit memory store', '', results.memory.note, '');
    const [header, ...rows] = memoryLines(results);
    out.push(
      `| ${header?.join(' | ')} |`,
      `|${header?.map(() => '---').join('|')}|`,
      ...rows.map((row) => `| ${row.join(' | ')} |`),
      '',
    );
    const flood = results.memory.flood;
    if (flood) {
      out.push(
        `IPv6 flood: ${flood.requests} requests from rotating addresses, ${flood.distinctKeys} distinct client keys;`,
        `heap after GC ${flood.samples.map((s) => `${(s.heapUsedBytes / MIB).toFixed(1)} MiB`).join(' -> ')} at ${flood.samples.map((s) => s.requests).join(' / ')} requests: ${flood.bounded ? 'bounded' : 'NOT bounded'}.`,
        '',
      );
    }
  }
  for (const failure of results.failures)
    out.push(`Failed: ${failure.variant}: ${failure.error.split('\n')[0]}`, '');
  out.push(...HOW_TO_READ);
  return `${out.join('\n').trimEnd()}\n`;
}

function caseCells(c: CaseResult): string[] {
  const codes = Object.entries(c.rounds.at(-1)?.statusCodes ?? {})
    .map(([code, count]) => `${code}x${count}`)
    .join(' ');
  return [
    c.label,
    Math.round(c.median.requestsPerSecond).toString(),
    c.median.p50.toFixed(1),
    c.median.p99.toFixed(1),
    c.median.ratio.toFixed(2),
    c.median.serverCpuMicrosPerRequest.toFixed(0),
    c.allExpectedStatus ? 'ok' : `UNEXPECTED ${codes}`,
  ];
}

function targetCells(t: TargetResult): string[] {
  const measured =
    t.measured === null
      ? '-'
      : t.id === 'memory-flood-bounded'
        ? `${(t.measured / MIB).toFixed(1)} MiB`
        : String(t.measured);
  const needs =
    t.id === 'memory-flood-bounded' ? 'bounded' : `${t.kind === 'min' ? '>=' : '<='} ${t.threshold}`;
  return [`${t.description} (${t.detail})`, measured, needs, t.status];
}

function memoryLines(results: BenchResults): string[][] {
  const memory = results.memory;
  if (!memory) return [];
  return [
    ['keys', 'tracked', 'RSS MiB', 'heap MiB', 'heap bytes/key', 'insert ms'],
    ...memory.steps.map((s) => [
      String(s.keys),
      s.trackedKeys === null ? '-' : String(s.trackedKeys),
      (s.rssBytes / MIB).toFixed(1),
      (s.heapUsedBytes / MIB).toFixed(1),
      s.heapBytesPerKey.toFixed(0),
      s.durationMs.toFixed(0),
    ]),
  ];
}

function alignColumns(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  '),
  );
}
