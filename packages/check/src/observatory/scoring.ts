/**
 * The MDN HTTP Observatory's scoring, written from its published rules: mdn/mdn-http-observatory
 * v1.5.0 (algorithm version 5, 2025-10-23), files src/grader/charts.js (the modifier of each result and
 * the grade chart), src/scanner/index.js (how modifiers add up) and src/analyzer/tests/*.js (how each
 * test picks its result). Version 1.5.0 raised "X-Frame-Options set to DENY or SAMEORIGIN" from 0 to +5.
 */

/** The algorithm version of the Observatory release these rules follow. */
export const OBSERVATORY_ALGORITHM_VERSION = 5;

/** The Observatory release these rules follow. */
export const OBSERVATORY_VERSION = '1.5.0';

/** Bonuses (positive modifiers) count only when the score with the penalties alone is at least this. */
export const MIN_SCORE_FOR_BONUSES = 90;

/**
 * Score modifier of every test result, keyed by the Observatory's result identifier. The identifiers
 * are the Observatory's own, so a report can be compared with its output line by line.
 */
export const RESULT_MODIFIERS: Readonly<Record<string, number>> = {
  // Content-Security-Policy
  'csp-implemented-with-no-unsafe-default-src-none': 10,
  'csp-implemented-with-no-unsafe': 5,
  'csp-implemented-with-unsafe-inline-in-style-src-only': 0,
  'csp-implemented-but-duplicate-directives': 0,
  'csp-implemented-with-insecure-scheme-in-passive-content-only': -10,
  'csp-implemented-with-unsafe-eval': -10,
  'csp-implemented-with-unsafe-inline': -20,
  'csp-implemented-with-insecure-scheme': -20,
  'csp-header-invalid': -25,
  'csp-not-implemented': -25,
  'csp-not-implemented-but-reporting-enabled': -25,
  // Cookies
  'cookies-secure-with-httponly-sessions-and-samesite': 5,
  'cookies-secure-with-httponly-sessions': 0,
  'cookies-not-found': 0,
  'cookies-without-secure-flag-but-protected-by-hsts': -5,
  'cookies-session-without-secure-flag-but-protected-by-hsts': -10,
  'cookies-without-secure-flag': -20,
  'cookies-samesite-flag-invalid': -20,
  'cookies-anticsrf-without-samesite-flag': -20,
  'cookies-session-without-httponly-flag': -30,
  'cookies-session-without-secure-flag': -40,
  // Cross-origin resource sharing
  'cross-origin-resource-sharing-not-implemented': 0,
  'cross-origin-resource-sharing-implemented-with-public-access': 0,
  'cross-origin-resource-sharing-implemented-with-restricted-access': 0,
  'cross-origin-resource-sharing-implemented-with-universal-access': -50,
  // Redirection
  'redirection-all-redirects-preloaded': 0,
  'redirection-to-https': 0,
  'redirection-not-needed-no-http': 0,
  'redirection-off-host-from-http': -5,
  'redirection-not-to-https-on-initial-redirection': -10,
  'redirection-not-to-https': -20,
  'redirection-missing': -20,
  'redirection-invalid-cert': -20,
  // Referrer-Policy
  'referrer-policy-private': 5,
  'referrer-policy-not-implemented': 0,
  'referrer-policy-unsafe': -5,
  'referrer-policy-header-invalid': -5,
  // Strict-Transport-Security
  'hsts-preloaded': 5,
  'hsts-implemented-max-age-at-least-six-months': 0,
  'hsts-implemented-max-age-less-than-six-months': -10,
  'hsts-not-implemented': -20,
  'hsts-header-invalid': -20,
  'hsts-not-implemented-no-https': -20,
  'hsts-invalid-cert': -20,
  // Subresource Integrity
  'sri-implemented-and-all-scripts-loaded-securely': 5,
  'sri-implemented-and-external-scripts-loaded-securely': 5,
  'sri-not-implemented-response-not-html': 0,
  'sri-not-implemented-but-no-scripts-loaded': 0,
  'sri-not-implemented-but-all-scripts-loaded-from-secure-origin': 0,
  'sri-not-implemented-but-external-scripts-loaded-securely': -5,
  'sri-implemented-but-external-scripts-not-loaded-securely': -20,
  'sri-not-implemented-and-external-scripts-not-loaded-securely': -50,
  // X-Content-Type-Options
  'x-content-type-options-nosniff': 0,
  'x-content-type-options-not-implemented': -5,
  'x-content-type-options-header-invalid': -5,
  // X-Frame-Options
  'x-frame-options-implemented-via-csp': 5,
  'x-frame-options-sameorigin-or-deny': 5,
  'x-frame-options-allow-from-origin': 0,
  'x-frame-options-not-implemented': -20,
  'x-frame-options-header-invalid': -20,
  // Cross-Origin-Resource-Policy
  'corp-implemented-with-same-origin': 10,
  'corp-implemented-with-same-site': 10,
  'corp-implemented-with-cross-origin': 0,
  'corp-not-implemented': 0,
  'corp-header-invalid': -5,
};

/** Letter grades from best to worst. */
export const GRADES = ['A+', 'A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'D-', 'F'] as const;

/** One letter grade of the Observatory's chart. */
export type Grade = (typeof GRADES)[number];

/**
 * Lowest score of each grade. The chart is in steps of 5: 100 and above is A+, 90-99 A, 85-89 A-,
 * 80-84 B+, 70-79 B, 65-69 B-, 60-64 C+, 50-59 C, 45-49 C-, 40-44 D+, 30-39 D, 25-29 D-, below 25 F.
 */
const GRADE_FLOORS: ReadonlyArray<readonly [number, Grade]> = [
  [100, 'A+'],
  [90, 'A'],
  [85, 'A-'],
  [80, 'B+'],
  [70, 'B'],
  [65, 'B-'],
  [60, 'C+'],
  [50, 'C'],
  [45, 'C-'],
  [40, 'D+'],
  [30, 'D'],
  [25, 'D-'],
  [0, 'F'],
];

/** Returns the Observatory's grade for a score (scores below 0 count as 0). */
export function gradeForScore(score: number): Grade {
  const clamped = Math.max(score, 0);
  for (const [floor, grade] of GRADE_FLOORS) {
    if (clamped >= floor) return grade;
  }
  return 'F';
}

/** Returns whether `grade` is at least as good as `minimum`. */
export function gradeAtLeast(grade: Grade, minimum: Grade): boolean {
  return GRADES.indexOf(grade) <= GRADES.indexOf(minimum);
}

/** The outcome of one Observatory test. */
export interface ObservatoryTestResult {
  /** The Observatory's test name, for example `content-security-policy`. */
  test: string;
  /** The Observatory's result identifier, for example `csp-implemented-with-no-unsafe`. */
  result: string;
  /** Points this result adds or removes. */
  modifier: number;
  /** Whether the Observatory counts the test as passed. */
  pass: boolean;
  /** The header value or other data the result was decided on, when there is one. */
  data?: string;
}

/** A whole response's Observatory score. */
export interface ObservatoryScore {
  algorithmVersion: number;
  /** The final score: penalties and bonuses when the penalties alone leave at least 90, else penalties only. */
  score: number;
  /** 100 plus the negative modifiers only. */
  scoreWithoutBonuses: number;
  grade: Grade;
  tests: ObservatoryTestResult[];
}

/** Adds up test results the Observatory's way: bonuses only count from 90 points before them. */
export function totalScore(tests: ObservatoryTestResult[]): ObservatoryScore {
  let scoreWithoutBonuses = 100;
  let scoreWithBonuses = 100;
  for (const test of tests) {
    scoreWithBonuses += test.modifier;
    if (test.modifier < 0) scoreWithoutBonuses += test.modifier;
  }
  const raw = scoreWithoutBonuses >= MIN_SCORE_FOR_BONUSES ? scoreWithBonuses : scoreWithoutBonuses;
  const score = Math.max(raw, 0);
  return {
    algorithmVersion: OBSERVATORY_ALGORITHM_VERSION,
    score,
    scoreWithoutBonuses,
    grade: gradeForScore(score),
    tests,
  };
}

/** Builds a test result with its modifier looked up in RESULT_MODIFIERS. */
export function testResult(
  test: string,
  result: string,
  pass: boolean,
  data?: string,
): ObservatoryTestResult {
  const modifier = RESULT_MODIFIERS[result];
  if (modifier === undefined) throw new Error(`No Observatory modifier for result ${result}`);
  return data === undefined ? { test, result, modifier, pass } : { test, result, modifier, pass, data };
}
