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
