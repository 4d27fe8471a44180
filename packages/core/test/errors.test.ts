import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HardenConfigError } from '@harden/core';

test('config error names option, value and fix', () => {
  const error = new HardenConfigError('session.secret', 'short', 'shorter than 32 bytes', 'use 32 random bytes');
  assert.equal(error.message, 'Invalid option session.secret = "short": shorter than 32 bytes. Fix: use 32 random bytes');
  assert.equal(error.option, 'session.secret');
});
