/**
 * An invalid or unsafe option, thrown once at registration. The message names the option, quotes the
 * value and says the fix, so a misconfigured app fails at start-up instead of serving unprotected.
 */
export class HardenConfigError extends Error {
  readonly option: string;
  readonly fix: string;

  constructor(option: string, value: unknown, problem: string, fix: string) {
    super(`Invalid option ${option} = ${describeValue(value)}: ${problem}. Fix: ${fix}`);
    this.name = 'HardenConfigError';
    this.option = option;
    this.fix = fix;
  }
}

/** Formats a configured value for an error message. Callers pass a description, never a secret itself. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value instanceof RegExp) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
