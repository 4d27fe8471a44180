import type { Grade, ObservatoryScore } from './observatory/index.js';

/** How bad a finding is. The run fails on findings at or above `--fail-on` (default high). */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** Severities from worst to mildest. */
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low', 'info'];

/** What part of the app a finding is about. */
export type FindingArea =
  | 'csp'
  | 'headers'
  | 'cookies'
  | 'transport'
  | 'disclosure'
  | 'cors'
  | 'csrf'
  | 'rate-limit';

/** One problem (or notice) the checker found. */
export interface Finding {
  /** Stable identifier, for example `cookies.session_without_httponly`. */
  id: string;
  severity: Severity;
  area: FindingArea;
  /** What is wrong, in one sentence, naming the header, cookie or path. */
  message: string;
  /** What to change. */
  fix?: string;
}

/** One request a probe sent and its verdict. */
export interface ProbeStep {
  /** What the request tried, for example `preflight from https://evil127.0.0.1:3000`. */
  label: string;
  passed: boolean;
  /** What came back, for example `403` or `Access-Control-Allow-Origin: https://evil.test`. */
  detail: string;
}

/** The outcome of one active probe (CORS, CSRF, rate limit). */
export interface ProbeReport {
  name: 'cors' | 'csrf' | 'rate-limit';
  passed: boolean;
  /** One-line summary for the status table. */
  summary: string;
  steps: ProbeStep[];
}

/** The whole result of one run, as `--json` prints it. */
export interface CheckReport {
  tool: 'harden-check';
  /** The URL given on the command line. */
  target: string;
  /** The URL of the scored response, after redirects. */
  finalUrl: string;
  status: number;
  /** The Observatory-compatible score, grade and per-test results. */
  observatory: ObservatoryScore & { observatoryVersion: string };
  findings: Finding[];
  probes: ProbeReport[];
  minGrade: Grade;
  failOn: Severity | 'none';
  /** Whether the run passes: grade at least minGrade, every probe passed, no finding at or above failOn. */
  passed: boolean;
  /** Why the run failed, one line per reason; empty when it passed. */
  failures: string[];
}
