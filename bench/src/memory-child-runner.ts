import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryReport } from './memory-types.js';
import type { BenchSettings } from './options.js';

const MEMORY_CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

/** Runs the memory measurement in a fresh child with --expose-gc and returns its report. */
export function runMemoryChild(settings: BenchSettings): Promise<MemoryReport> {
  const execArgv = [
    '--expose-gc',
    '--max-old-space-size=4096',
    '--import',
    'tsx',
    ...(settings.build === 'source' ? ['--conditions=source'] : []),
  ];
  const child = fork(MEMORY_CHILD, [settings.memoryKeyCounts.join(','), settings.build], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let report: MemoryReport | undefined;
    let failure: string | undefined;
    child.on(
      'message',
      (message: { type: 'report'; report: MemoryReport } | { type: 'failed'; error: string }) => {
        if (message.type === 'report') report = message.report;
        else failure = message.error;
      },
    );
    child.once('exit', (code) => {
      if (report) resolve(report);
      else reject(new Error(failure ?? `memory child exited with code ${code} without a report`));
    });
  });
}
