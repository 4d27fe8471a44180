import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CheckReport, runCli } from '@harden/check';

/** A started test server. */
export interface TestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts a node:http (or node:https, given a key and certificate) server on 127.0.0.1 and a free port. */
export async function startServer(
  handler: http.RequestListener,
  tls?: { key: string | Buffer; cert: string | Buffer },
): Promise<TestServer> {
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What one harden-check run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI entry point in this process (the same function the harden-check binary calls). */
export async function runInProcess(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    version: '0.0.0-test',
  });
  return { code, stdout, stderr };
}

/** Runs `harden-check` as a child process, on the TypeScript sources, and waits for it to exit. */
export function runChildProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const cli = new URL('../src/cli.ts', import.meta.url).pathname;
  const root = new URL('../../../', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', cli, ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs the CLI in-process with --json and returns the exit status and the parsed report. */
export async function runJson(args: readonly string[]): Promise<{ code: number; report: CheckReport }> {
  const run = await runInProcess([...args, '--json']);
  if (run.stdout === '') throw new Error(`no report; stderr: ${run.stderr}`);
  return { code: run.code, report: JSON.parse(run.stdout) as CheckReport };
}

/** Ids of a report's findings. */
export function findingIds(report: CheckReport): string[] {
  return report.findings.map((finding) => finding.id);
}

/** A response header set that passes every header check harden-check makes over plain HTTP. */
export const GOOD_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Writes GOOD_HEADERS, then `extra` (a null value removes a header), and ends with `body`. */
export function respond(
  res: http.ServerResponse,
  extra: Record<string, string | string[] | null> = {},
  body = '<!doctype html><title>ok</title><p>ok</p>',
  status = 200,
): void {
  for (const [name, value] of Object.entries(GOOD_HEADERS)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(extra)) {
    if (value === null) res.removeHeader(name);
    else res.setHeader(name, value);
  }
  res.statusCode = status;
  res.end(body);
}

/** Reads a request body as text. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
  });
}

/** Writes a one-day self-signed certificate for 127.0.0.1 and localhost; returns the file paths. */
export function makeSelfSignedCertificate(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath };
}
