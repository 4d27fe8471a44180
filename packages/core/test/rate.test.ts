import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeWindow, HardenConfigError, parseRate, parseRates } from '@harden/core';

describe('parseRate', () => {
  const valid: ReadonlyArray<[string, number, number]> = [
    ['5/minute', 5, 60],
    ['20/hour', 20, 3600],
    ['100/day', 100, 86_400],
    ['10/second', 10, 1],
    ['3/15minutes', 3, 900],
    ['3/15 minutes', 3, 900],
    ['1/2hours', 1, 7200],
    ['300/Minute', 300, 60],
    ['5/minutes', 5, 60],
    ['7/1day', 7, 86_400],
  ];
  for (const [source, points, windowSeconds] of valid) {
    test(`reads ${source}`, () => {
      assert.deepEqual(parseRate(source, 'rateLimit.default'), { points, windowSeconds, source });
    });
  }

  const invalid: ReadonlyArray<[string, unknown, string]> = [
    ['a number', 5, 'Invalid option rateLimit.default = 5: a rate must be a string.'],
    [
      'no slash',
      '5 per minute',
      'Invalid option rateLimit.default = "5 per minute": it is not a rate of the form <count>/<window>.',
    ],
    [
      'unknown unit',
      '5/fortnight',
      'Invalid option rateLimit.default = "5/fortnight": "fortnight" is not a unit of time. Fix: use second, minute, hour or day',
    ],
    [
      'zero count',
      '0/minute',
      'Invalid option rateLimit.default = "0/minute": the count is 0, which would refuse every request.',
    ],
    ['zero window', '5/0minutes', 'Invalid option rateLimit.default = "5/0minutes": the window is 0 long.'],
    [
      'negative count',
      '-5/minute',
      'Invalid option rateLimit.default = "-5/minute": it is not a rate of the form <count>/<window>.',
    ],
    [
      'fractional count',
      '1.5/minute',
      'Invalid option rateLimit.default = "1.5/minute": it is not a rate of the form <count>/<window>.',
    ],
    [
      'huge count',
      '2000000000/minute',
      'Invalid option rateLimit.default = "2000000000/minute": the count is above 1000000000.',
    ],
    [
      'window over a year',
      '1/400days',
      'Invalid option rateLimit.default = "1/400days": the window is longer than 366 days.',
    ],
    [
      'surrounding spaces',
      ' 5/minute',
      'Invalid option rateLimit.default = " 5/minute": it is not a rate of the form <count>/<window>.',
    ],
    [
      'empty string',
      '',
      'Invalid option rateLimit.default = "": it is not a rate of the form <count>/<window>.',
    ],
  ];
  for (const [name, value, message] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseRate(value, 'rateLimit.default'),
        (error: unknown) => error instanceof HardenConfigError && error.message.startsWith(message),
      );
    });
  }

  test('error says how to write a rate', () => {
    assert.throws(() => parseRate('five/minute', 'rateLimit.default'), {
      message:
        "Invalid option rateLimit.default = \"five/minute\": it is not a rate of the form <count>/<window>. Fix: write it as <count>/<window>, for example '5/minute', '20/hour', '100/day' or '3/15minutes'",
    });
  });
});

describe('parseRates', () => {
  test('reads one string as one rate', () => {
    assert.deepEqual(parseRates('5/minute', 'limits.auth'), [
      { points: 5, windowSeconds: 60, source: '5/minute' },
    ]);
  });

  test('reads an array of rates', () => {
    assert.deepEqual(parseRates(['5/minute', '100/day'], 'limits.auth'), [
      { points: 5, windowSeconds: 60, source: '5/minute' },
      { points: 100, windowSeconds: 86_400, source: '100/day' },
    ]);
  });

  test('names the index of a bad rate', () => {
    assert.throws(() => parseRates(['5/minute', '5/week'], 'limits.auth'), {
      message: /^Invalid option limits\.auth\[1\] = "5\/week": "week" is not a unit of time/,
    });
  });

  test('rejects an empty array', () => {
    assert.throws(() => parseRates([], 'limits.auth'), {
      message: /^Invalid option limits\.auth = \[\]: the array of rates is empty/,
    });
  });

  test('rejects two rates with one window', () => {
    assert.throws(() => parseRates(['5/minute', '10/60seconds'], 'limits.auth'), {
      message: /"5\/minute" and "10\/60seconds" have the same window/,
    });
  });

  test('rejects an object', () => {
    assert.throws(() => parseRates({ points: 5 }, 'limits.auth'), {
      message: /it is neither a rate string nor an array of rate strings/,
    });
  });

  test('rejects more than eight rates', () => {
    const rates = Array.from({ length: 9 }, (_, index) => `5/${index + 1}hours`);
    assert.throws(() => parseRates(rates, 'limits.auth'), { message: /more than 8 rates/ });
  });
});

test('describeWindow picks the largest whole unit', () => {
  assert.equal(describeWindow(1), '1 second');
  assert.equal(describeWindow(45), '45 seconds');
  assert.equal(describeWindow(60), '1 minute');
  assert.equal(describeWindow(900), '15 minutes');
  assert.equal(describeWindow(7200), '2 hours');
  assert.equal(describeWindow(86_400), '1 day');
});
