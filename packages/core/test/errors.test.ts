import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HardenConfigError } from '@harden/core';

test('config error names option, value and fix', () => {
  const error = new HardenConfigError(
    'rateLimit.default',
    '5/fortnight',
    'the window is not a known unit',
    'use second, minute, hour or day',
  );
  assert.equal(
    error.message,
    'Invalid option rateLimit.default = "5/fortnight": the window is not a known unit. Fix: use second, minute, hour or day',
  );
  assert.equal(error.option, 'rateLimit.default');
  assert.equal(error.fix, 'use second, minute, hour or day');
});
