import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CHECK_DEFAULTS, type CheckOptions } from './check.js';
import { GRADES, type Grade } from './observatory/index.js';
import type { MethodPath } from './probes/context.js';
import {
  DEFAULT_EXPECTED_LIMIT,
  MAX_RATE_LIMIT_REQUESTS,
  type RateLimitTarget,
} from './probes/rate-limit.js';
import { SEVERITIES, type Severity } from './report.js';

/** A command line that cannot run: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Output format of the report. */
export type OutputFormat = 'text' | 'json' | 'markdown';

/** A parsed command line. */
export interface CliCommand {
  kind: 'check' | 'help' | 'version';
  options?: CheckOptions;
  format: OutputFormat;
}

/** The help text printed by --help. */
export const USAGE = `Usage: harden-check <url> [options]

Checks a running web app's security headers, cookies, CORS, CSRF and rate limits over HTTP,
scores the response the way the MDN HTTP Observatory does, and exits non-zero when it falls short.
It sends requests only to the host of <url>.

Options:
  --page PATH                 HTML page whose POST forms are submitted cross-site without their
                              CSRF token (repeatable, same origin only)
  --csrf [METHOD:]PATH        API endpoint sent forged cross-site requests (repeatable; default POST)
  --trusted-origin ORIGIN     origin the app must allow through CORS (repeatable)
  --cors-path PATH            path the CORS probe tests (repeatable; default: the URL's path)
  --rate-limit [METHOD:]PATH[=N]
                              send up to N+1 requests (N default ${DEFAULT_EXPECTED_LIMIT}, at most ${MAX_RATE_LIMIT_REQUESTS} requests)
                              and expect a 429 with Retry-After, e.g. POST:/login=5 (repeatable);
                              then one request each with a fresh X-Forwarded-For, X-Real-IP and
                              Forwarded address must be limited too
  --skip-address-spoof-check  leave out those three requests: only when harden-check runs from an
                              address the app trusts as its proxy (for example loopback behind a
                              local proxy), where the app rightly believes them
  --http-url URL              plain-HTTP URL of the same host whose redirect to HTTPS is scored
                              (for an https:// target; an http:// target is its own)
  --min-grade GRADE           lowest passing grade, A+ to F (default ${CHECK_DEFAULTS.minGrade})
  --fail-on SEVERITY          fail on findings of this severity or worse: high, medium, low, info
                              or none (default ${CHECK_DEFAULTS.failOn})
  --timeout MS                deadline of each request, in milliseconds (default ${CHECK_DEFAULTS.timeoutMs})
  --max-redirects N           redirects followed per request (default ${CHECK_DEFAULTS.maxRedirects})
  --ca FILE                   PEM file of an extra certificate authority to trust for HTTPS
  --insecure-skip-tls-verify  do not verify the TLS certificate (HSTS then scores as invalid)
  --json                      print the report as JSON
  --markdown                  print a Markdown status table (for security.md)
  -h, --help                  print this help
  --version                   print the version

Exit status: 0 when the grade is at least --min-grade, every probe passed and no finding reaches
--fail-on; 1 otherwise; 2 for a usage error or a network error (refused, timed out, bad certificate).
Colour is used when stdout is a terminal and NO_COLOR is not set.`;

/** Parses the command line (without the node and script arguments). Throws UsageError when it is invalid. */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parseRaw>;
  try {
    parsed = parseRaw(argv);
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  let format: OutputFormat = 'text';
  if (values.json) format = 'json';
  else if (values.markdown) format = 'markdown';
  if (values.help) return { kind: 'help', format };
  if (values.version) return { kind: 'version', format };
  if (values.json && values.markdown)
    throw new UsageError('--json and --markdown cannot be combined: pick one output format.');

  if (positionals.length === 0)
    throw new UsageError('Missing the URL to check, for example: harden-check http://127.0.0.1:3000/');
  if (positionals.length > 1)
    throw new UsageError(`Expected one URL, got ${positionals.length}: ${positionals.join(' ')}`);
  const target = parseTargetUrl(positionals[0] as string);

  const options: CheckOptions = {
    url: target.href,
    pages: (values.page ?? []).map((page) => sameOriginPath(page, target, '--page')),
    csrfTargets: (values.csrf ?? []).map((value) => parseMethodPath(value, target, '--csrf')),
    trustedOrigins: (values['trusted-origin'] ?? []).map(parseOrigin),
    corsPaths: (values['cors-path'] ?? []).map((path) => sameOriginPath(path, target, '--cors-path')),
    rateLimits: (values['rate-limit'] ?? []).map((value) => parseRateLimit(value, target)),
    skipAddressSpoofCheck: values['skip-address-spoof-check'] === true,
    minGrade: parseGrade(values['min-grade'] ?? CHECK_DEFAULTS.minGrade),
    failOn: parseFailOn(values['fail-on'] ?? CHECK_DEFAULTS.failOn),
    timeoutMs: parsePositiveInteger(values.timeout, '--timeout', CHECK_DEFAULTS.timeoutMs, 600_000),
    maxRedirects: parsePositiveInteger(
      values['max-redirects'],
      '--max-redirects',
      CHECK_DEFAULTS.maxRedirects,
      50,
      true,
    ),
    tls: {
      ...(values.ca !== undefined ? { ca: readCa(values.ca) } : {}),
      insecureSkipVerify: values['insecure-skip-tls-verify'] === true,
    },
  };
  if (values['http-url'] !== undefined) options.httpUrl = parseHttpUrl(values['http-url'], target);
  return { kind: 'check', options, format };
}

function parseRaw(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      page: { type: 'string', multiple: true },
      csrf: { type: 'string', multiple: true },
      'trusted-origin': { type: 'string', multiple: true },
      'cors-path': { type: 'string', multiple: true },
      'rate-limit': { type: 'string', multiple: true },
      'skip-address-spoof-check': { type: 'boolean' },
      'http-url': { type: 'string' },
      'min-grade': { type: 'string' },
      'fail-on': { type: 'string' },
      timeout: { type: 'string' },
      'max-redirects': { type: 'string' },
      ca: { type: 'string' },
      'insecure-skip-tls-verify': { type: 'boolean' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `Unknown option ${option}. Run harden-check --help for the list of options.`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return `${message}. Run harden-check --help for the list of options.`;
  return message;
}

function parseTargetUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `Invalid URL ${JSON.stringify(value)}: give an absolute http:// or https:// URL, for example http://127.0.0.1:3000/`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `Unsupported scheme ${url.protocol} in ${JSON.stringify(value)}: harden-check checks http:// and https:// URLs only.`,
    );
  }
  if (url.username || url.password) throw new UsageError('The URL must not contain a user name or password.');
  return url;
}

/** Resolves a path (or a same-origin URL) against the target, rejecting any other origin. */
function sameOriginPath(value: string, target: URL, option: string): string {
  let url: URL;
  try {
    url = new URL(value, target);
  } catch {
    throw new UsageError(`Invalid ${option} ${JSON.stringify(value)}: give a path such as /login.`);
  }
  if (url.origin !== target.origin) {
    throw new UsageError(
      `${option} ${JSON.stringify(value)} is on ${url.origin}, not on ${target.origin}: harden-check only probes the origin it was given.`,
    );
  }
  return url.pathname + url.search;
}

const METHOD = /^[A-Z]+$/;

function parseMethodPath(value: string, target: URL, option: string): MethodPath {
  // METHOD: prefix, but not the scheme of a URL such as https://
  const match = /^([A-Za-z]+):(?!\/\/)(.*)$/.exec(value);
  const method = match ? (match[1] as string).toUpperCase() : 'POST';
  const path = match ? (match[2] as string) : value;
  if (!METHOD.test(method)) throw new UsageError(`Invalid method in ${option} ${JSON.stringify(value)}.`);
  return { method, path: sameOriginPath(path, target, option) };
}

function parseRateLimit(value: string, target: URL): RateLimitTarget {
  const match = /^(.*?)(?:=(\d+))?$/.exec(value);
  const spec = match?.[1] ?? value;
  const methodPath = parseMethodPath(spec, target, '--rate-limit');
  if (!/^[A-Za-z]+:(?!\/\/)/.test(spec)) methodPath.method = 'GET';
  const expectedLimit = match?.[2] === undefined ? DEFAULT_EXPECTED_LIMIT : Number(match[2]);
  if (expectedLimit < 1 || expectedLimit + 1 > MAX_RATE_LIMIT_REQUESTS) {
    throw new UsageError(
      `Invalid limit in --rate-limit ${JSON.stringify(value)}: N must be 1 to ${MAX_RATE_LIMIT_REQUESTS - 1}, because the probe sends at most N+1 = ${MAX_RATE_LIMIT_REQUESTS} requests.`,
    );
  }
  return { ...methodPath, expectedLimit };
}

function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `Invalid --trusted-origin ${JSON.stringify(value)}: give scheme, host and port, such as https://app.example.com`,
    );
  }
  if (url.origin === 'null' || url.origin !== value.replace(/\/$/, '')) {
    throw new UsageError(
      `Invalid --trusted-origin ${JSON.stringify(value)}: give an origin only (scheme://host[:port]), such as ${url.origin}`,
    );
  }
  return url.origin;
}

function parseHttpUrl(value: string, target: URL): string {
  const url = parseTargetUrl(value);
  if (url.protocol !== 'http:')
    throw new UsageError(`--http-url ${JSON.stringify(value)} must be an http:// URL.`);
  if (url.hostname !== target.hostname) {
    throw new UsageError(
      `--http-url ${JSON.stringify(value)} must be on the same host as the target (${target.hostname}).`,
    );
  }
  return url.href;
}

function parseGrade(value: string): Grade {
  const grade = value.toUpperCase();
  if (!(GRADES as readonly string[]).includes(grade)) {
    throw new UsageError(`Invalid --min-grade ${JSON.stringify(value)}: use one of ${GRADES.join(', ')}.`);
  }
  return grade as Grade;
}

function parseFailOn(value: string): Severity | 'none' {
  const lower = value.toLowerCase();
  if (lower === 'none' || (SEVERITIES as readonly string[]).includes(lower))
    return lower as Severity | 'none';
  throw new UsageError(`Invalid --fail-on ${JSON.stringify(value)}: use high, medium, low, info or none.`);
}

function parsePositiveInteger(
  value: string | undefined,
  option: string,
  fallback: number,
  max: number,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1) || number > max) {
    throw new UsageError(
      `Invalid ${option} ${JSON.stringify(value)}: give a whole number from ${allowZero ? 0 : 1} to ${max}.`,
    );
  }
  return number;
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`Cannot read --ca ${JSON.stringify(path)}: ${reason}`);
  }
}
