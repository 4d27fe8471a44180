import { hash, verify } from '@node-rs/argon2';

/** Argon2id memory cost in KiB: OWASP's password storage recommendation (19 MiB, 2 passes, 1 lane). */
export const ARGON2_MEMORY_KIB = 19_456;
/** Argon2id passes over memory (OWASP). */
export const ARGON2_TIME_COST = 2;
/** Argon2id lanes (OWASP). */
export const ARGON2_PARALLELISM = 1;

/** Shortest password accepted, in characters. */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest password accepted, in characters: longer input is rejected before hashing, so it cannot cost CPU. */
export const PASSWORD_MAX_LENGTH = 128;

const OPTIONS = {
  memoryCost: ARGON2_MEMORY_KIB,
  timeCost: ARGON2_TIME_COST,
  parallelism: ARGON2_PARALLELISM,
};

/** Hashes a password with argon2id (the library's default algorithm) into a PHC string. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of a random password, verified against when the email is unknown, so both cases cost the same. */
let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash, or against a dummy hash when there is no account, so a
 * login for an unknown email takes as long as one with a wrong password.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    dummyHash ??= hashPassword(`dummy-${Math.random()}`);
    await verify(await dummyHash, password);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
