import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestMatch } from '@harden/core';

test('misspelling within two edits suggested', () => {
  assert.equal(closestMatch('scrpt-src', ['script-src', 'style-src']), 'script-src');
  assert.equal(closestMatch('RATELIMT', ['rateLimit', 'session']), 'rateLimit');
});

test('name three edits away not suggested', () => {
  assert.equal(closestMatch('xyz', ['origin', 'session']), undefined);
});
