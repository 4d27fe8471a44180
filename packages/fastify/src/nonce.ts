import { randomBytes } from 'node:crypto';

/** Random bytes per nonce: 128 bits, the least CSP Level 3 recommends. */
export const NONCE_BYTES = 16;

/**
 * Size of the random pool nonces are cut from: one `randomBytes` call per 256 nonces instead of one per
 * response. On a plain route (autocannon, 50 connections, ratio to bare Fastify in the same run), the
 * project measured 0.62 with a `crypto.randomBytes` call per response and 0.70 with a pool.
 */
const POOL_BYTES = 4096;

let pool = randomBytes(POOL_BYTES);
let offset = 0;

/**
 * Returns a fresh 128-bit nonce in base64 (24 characters). Every byte of the pool is used for one nonce
 * only, and the pool is refilled from the operating system's CSPRNG when it runs out.
 */
export function nextNonce(): string {
  if (offset + NONCE_BYTES > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const nonce = pool.toString('base64', offset, offset + NONCE_BYTES);
  offset += NONCE_BYTES;
  return nonce;
}
