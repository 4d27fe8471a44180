// Entry point of `npm run bench`: measures, prints the table, writes bench/results and BENCHMARKS.md.
import { fileURLToPath } from 'node:url';
import { parseSettings } from './options.js';
import { formatTable } from './report.js';
import { runBench, writeResults } from './run.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const settings = parseSettings(
  process.argv.slice(2),
  process.env,
  fileURLToPath(new URL('../results/', import.meta.url)),
);

const results = await runBench(settings, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${formatTable(results)}\n`);
for (const path of writeResults(results, settings, repositoryRoot)) process.stderr.write(`wrote ${path}\n`);
if (results.failures.length > 0) process.exitCode = 1;
