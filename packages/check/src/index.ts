export { CHECK_DEFAULTS, type CheckOptions, runCheck } from './check.js';
export { cookieFindings } from './cookies.js';
export { formatJson, formatMarkdown, formatText, shouldUseColor } from './format.js';
export { NetworkError, type TlsSettings } from './http.js';
export {
  GRADES,
  type Grade,
  gradeAtLeast,
  gradeForScore,
  OBSERVATORY_VERSION,
  type ObservatoryInput,
  type ObservatoryScore,
  type ObservatoryTestResult,
  type PageHtml,
  scoreObservatory,
} from './observatory/index.js';
export { MIN_SCORE_FOR_BONUSES, RESULT_MODIFIERS, totalScore } from './observatory/scoring.js';
export { parseCommandLine, USAGE, UsageError } from './options.js';
export type { MethodPath } from './probes/context.js';
export { untrustedOrigins } from './probes/context.js';
export type { RateLimitTarget } from './probes/rate-limit.js';
export type { CheckReport, Finding, FindingArea, ProbeReport, ProbeStep, Severity } from './report.js';
export { EXIT, runCli } from './run-cli.js';
