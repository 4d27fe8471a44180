import { runCheck } from './check.js';
import { formatJson, formatMarkdown, formatText, shouldUseColor } from './format.js';
import { NetworkError } from './http.js';
import { parseCommandLine, USAGE, UsageError } from './options.js';

/** Exit statuses of harden-check. */
export const EXIT = { passed: 0, failed: 1, error: 2 } as const;

/** Where the CLI writes, so tests can run it in-process. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  version: string;
}

/** Runs harden-check with the given arguments and returns its exit status (0 passed, 1 failed, 2 error). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`harden-check: ${error.message}\n`);
    return EXIT.error;
  }
  if (command.kind === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.passed;
  }
  if (command.kind === 'version' || !command.options) {
    io.stdout.write(`${io.version}\n`);
    return EXIT.passed;
  }

  try {
    const report = await runCheck(command.options);
    if (command.format === 'json') io.stdout.write(formatJson(report));
    else if (command.format === 'markdown') io.stdout.write(formatMarkdown(report));
    else io.stdout.write(formatText(report, shouldUseColor(io.stdout, io.env)));
    return report.passed ? EXIT.passed : EXIT.failed;
  } catch (error) {
    if (error instanceof NetworkError) {
      io.stderr.write(`harden-check: network error: ${error.message}\n`);
      return EXIT.error;
    }
    throw error;
  }
}
