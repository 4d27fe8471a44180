import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File under DATA_DIR holding the generated session secret. */
export const SECRET_FILE_NAME = 'session-secret';
/** Bytes of randomness in a generated secret (written as 64 hex characters). */
const GENERATED_SECRET_BYTES = 32;
/** Owner read/write only: the secret signs every session cookie. */
const SECRET_FILE_MODE = 0o600;

/**
 * Returns the configured session secret, or the one stored in DATA_DIR, or generates one there on the
 * first start. The file is created with mode 0600 and the secret itself is never logged.
 */
export function resolveSessionSecret(
  configured: string | undefined,
  dataDir: string,
): { secret: string; source: string } {
  if (configured !== undefined) return { secret: configured, source: 'SESSION_SECRET' };

  const path = join(dataDir, SECRET_FILE_NAME);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails when the file exists, so two processes starting together never overwrite each other.
    writeFileSync(path, `${randomBytes(GENERATED_SECRET_BYTES).toString('hex')}\n`, {
      flag: 'wx',
      mode: SECRET_FILE_MODE,
    });
    return { secret: readSecretFile(path), source: `generated in ${path}` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, SECRET_FILE_MODE);
  return { secret: readSecretFile(path), source: `read from ${path}` };
}

function readSecretFile(path: string): string {
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < GENERATED_SECRET_BYTES) {
    throw new Error(
      `The session secret file ${path} holds fewer than ${GENERATED_SECRET_BYTES} characters. Fix: delete it to have a new one generated (every user is signed out), or set SESSION_SECRET.`,
    );
  }
  return secret;
}
