import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Rejection } from '@harden/fastify';
import { rejectionMessage } from '../src/rejection.js';

const LIMITED: Rejection = {
  status: 429,
  event: 'rate_limit.exceeded',
  reason: 'login',
  message: 'Too many attempts.',
};

describe('rejectionMessage', () => {
  test('429 says how long to wait from details', () => {
    assert.equal(
      rejectionMessage({ ...LIMITED, details: { retryAfterSeconds: 42.2 } }),
      'Too many attempts. Try again in 43 seconds.',
    );
  });

  test('429 says how long to wait from Retry-After', () => {
    assert.equal(
      rejectionMessage({ ...LIMITED, headers: { 'Retry-After': '1' } }),
      'Too many attempts. Try again in 1 second.',
    );
    assert.equal(
      rejectionMessage({ ...LIMITED, headers: { 'retry-after': '900' } }),
      'Too many attempts. Try again in 15 minutes.',
    );
  });

  test('429 without a wait keeps the message', () => {
    assert.equal(rejectionMessage(LIMITED), 'Too many attempts.');
    assert.equal(
      rejectionMessage({ ...LIMITED, headers: { 'Retry-After': 'Fri, 04 Dec 2026 20:00:00 GMT' } }),
      'Too many attempts.',
    );
  });

  test('403 keeps the message', () => {
    assert.equal(
      rejectionMessage({
        status: 403,
        event: 'csrf.rejected',
        reason: 'token-invalid',
        message: 'The form expired.',
        headers: { 'Retry-After': '5' },
      }),
      'The form expired.',
    );
  });
});
