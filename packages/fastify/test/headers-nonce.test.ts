import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NONCE_BYTES, nextNonce } from '../src/nonce.js';

test('nonces stay unique across pool refills', () => {
  // 4 KiB pool / 16 bytes = 256 nonces per pool, so 1000 nonces cross three refills.
  const nonces = Array.from({ length: 1000 }, () => nextNonce());
  assert.equal(new Set(nonces).size, nonces.length);
  for (const nonce of nonces) {
    assert.equal(Buffer.from(nonce, 'base64').length, NONCE_BYTES);
    assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
  }
});

test('nonce bytes look uniformly random', () => {
  // 10,000 nonces give 160,000 bytes, about 625 per byte value; a skewed source shows far outside 400-850.
  const counts = new Array<number>(256).fill(0);
  for (let index = 0; index < 10_000; index++) {
    for (const byte of Buffer.from(nextNonce(), 'base64')) counts[byte] = (counts[byte] ?? 0) + 1;
  }
  assert.ok(Math.min(...counts) > 400, `min ${Math.min(...counts)}`);
  assert.ok(Math.max(...counts) < 850, `max ${Math.max(...counts)}`);
});
