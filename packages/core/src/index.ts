export type { AuditFinding, AuditInput, AuditSeverity } from './audit.js';
export { auditConfiguration, MIN_SECRET_BYTES, MIN_SECRET_DISTINCT_CHARACTERS } from './audit.js';
export type { ClientKeyOptions } from './client-key.js';
export {
  clientKeyFromIp,
  DEFAULT_IPV6_PREFIX_LENGTH,
  INVALID_ADDRESS_KEY,
  resolveClientKeyOptions,
} from './client-key.js';
export type { CookieAttributes } from './cookies.js';
export {
  cookieAttributeProblem,
  hasSecureCookiePrefix,
  isLoopbackAddress,
  isLoopbackHostname,
  signingSecretProblem,
} from './cookies.js';
export type { CrossOriginDecision, CrossOriginInput, CrossOriginRejectionReason } from './cross-origin.js';
export { checkCrossOrigin, SAFE_METHODS } from './cross-origin.js';
export type { CspDirectives, CspFinding, CspValidationOptions } from './csp.js';
export {
  buildCsp,
  CSP_DIRECTIVE_NAMES,
  evaluateCsp,
  parseCsp,
  splitCspPolicies,
  validateCspDirectives,
} from './csp.js';
export { describeValue, HardenConfigError } from './errors.js';
export type { OriginAllowlist } from './origin.js';
export {
  canonicalRequestOrigin,
  createOriginAllowlist,
  EMPTY_ORIGIN_ALLOWLIST,
  isTrustedOrigin,
  normalizeConfiguredOrigin,
  originFromHost,
} from './origin.js';
export type { PermissionsAllowlist } from './permissions-policy.js';
export { buildPermissionsPolicy, DISABLED_FEATURES } from './permissions-policy.js';
export type { Rate, RateSpec } from './rate.js';
export {
  describeWindow,
  MAX_RATE_POINTS,
  MAX_RATE_WINDOW_SECONDS,
  MAX_RATES_PER_LIMIT,
  parseRate,
  parseRates,
} from './rate.js';
export { closestMatch } from './suggest.js';
