import { HardenConfigError } from './errors.js';

/** A parsed rate: at most `points` requests per window of `windowSeconds`. */
export interface Rate {
  /** Requests allowed in one window, at least 1. */
  readonly points: number;
  /** Window length in seconds, at least 1. */
  readonly windowSeconds: number;
  /** The string the rate was parsed from, for messages and logs. */
  readonly source: string;
}

/** One rate (`'5/minute'`) or several that all apply (`['5/minute', '100/day']`). */
export type RateSpec = string | readonly string[];

/** Largest count a rate accepts: a limit above a billion requests per window is a typo, not a limit. */
export const MAX_RATE_POINTS = 1_000_000_000;

/** Longest window a rate accepts, 366 days in seconds. */
export const MAX_RATE_WINDOW_SECONDS = 366 * 24 * 60 * 60;

/** Most rates one limit may combine. */
export const MAX_RATES_PER_LIMIT = 8;

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  second: 1,
  minute: 60,
  hour: 60 * 60,
  day: 24 * 60 * 60,
};

const RATE_PATTERN = /^(\d+)\/(\d*)\s*([a-z]+)$/;
const RATE_FIX =
  "write it as <count>/<window>, for example '5/minute', '20/hour', '100/day' or '3/15minutes'";

/**
 * Parses a rate string such as `5/minute`, `20/hour`, `100/day`, `10/second` or `3/15minutes`.
 * The unit is second, minute, hour or day, singular or plural, in any case; a number may come before it
 * (`15minutes`, `15 minutes`). Throws HardenConfigError naming `option` when the string is invalid.
 */
export function parseRate(value: unknown, option: string): Rate {
  if (typeof value !== 'string') {
    throw new HardenConfigError(option, value, 'a rate must be a string', RATE_FIX);
  }
  const match = RATE_PATTERN.exec(value.toLowerCase());
  if (!match) {
    throw new HardenConfigError(option, value, 'it is not a rate of the form <count>/<window>', RATE_FIX);
  }
  const [, countText = '', multiplierText = '', unitText = ''] = match;

  const unit = unitText.endsWith('s') ? unitText.slice(0, -1) : unitText;
  const unitSeconds = UNIT_SECONDS[unit];
  if (unitSeconds === undefined) {
    throw new HardenConfigError(
      option,
      value,
      `"${unitText}" is not a unit of time`,
      'use second, minute, hour or day',
    );
  }

  const points = Number(countText);
  if (points < 1) {
    throw new HardenConfigError(
      option,
      value,
      'the count is 0, which would refuse every request',
      "give a count of at least 1, or mark the route 'exempt'",
    );
  }
  if (points > MAX_RATE_POINTS) {
    throw new HardenConfigError(
      option,
      value,
      `the count is above ${MAX_RATE_POINTS}`,
      'give a smaller count',
    );
  }

  const multiplier = multiplierText === '' ? 1 : Number(multiplierText);
  if (multiplier < 1) {
    throw new HardenConfigError(
      option,
      value,
      'the window is 0 long',
      "give a window of at least 1, for example '3/15minutes'",
    );
  }
  const windowSeconds = multiplier * unitSeconds;
  if (windowSeconds > MAX_RATE_WINDOW_SECONDS) {
    throw new HardenConfigError(option, value, 'the window is longer than 366 days', 'give a shorter window');
  }

  return { points, windowSeconds, source: value };
}

/**
 * Parses one rate or a non-empty array of rates that all apply to the same requests. Two rates with the
 * same window are refused because the larger would never matter. Throws HardenConfigError naming `option`
 * (and the array index) on the first invalid rate.
 */
export function parseRates(value: unknown, option: string): readonly Rate[] {
  if (typeof value === 'string') return [parseRate(value, option)];
  if (!Array.isArray(value)) {
    throw new HardenConfigError(
      option,
      value,
      'it is neither a rate string nor an array of rate strings',
      RATE_FIX,
    );
  }
  if (value.length === 0) {
    throw new HardenConfigError(option, value, 'the array of rates is empty', RATE_FIX);
  }
  if (value.length > MAX_RATES_PER_LIMIT) {
    throw new HardenConfigError(
      option,
      value,
      `more than ${MAX_RATES_PER_LIMIT} rates`,
      'combine fewer windows',
    );
  }

  const rates = value.map((item, index) => parseRate(item, `${option}[${index}]`));
  const seen = new Map<number, string>();
  for (const rate of rates) {
    const earlier = seen.get(rate.windowSeconds);
    if (earlier !== undefined) {
      throw new HardenConfigError(
        option,
        value,
        `"${earlier}" and "${rate.source}" have the same window`,
        'keep one rate per window',
      );
    }
    seen.set(rate.windowSeconds, rate.source);
  }
  return rates;
}

/** Formats a window in seconds as the largest whole unit, for example `60` as `1 minute` and `900` as `15 minutes`. */
export function describeWindow(windowSeconds: number): string {
  for (const unit of ['day', 'hour', 'minute'] as const) {
    const seconds = UNIT_SECONDS[unit] ?? 1;
    if (windowSeconds % seconds === 0) {
      const count = windowSeconds / seconds;
      return `${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  return `${windowSeconds} second${windowSeconds === 1 ? '' : 's'}`;
}
