import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';

/** Longest email address accepted, in characters (the SMTP path limit). */
export const EMAIL_MAX_LENGTH = 254;
/** Longest note accepted, in characters. */
export const NOTE_MAX_LENGTH = 10_000;

/** The result of checking one input: the cleaned value, or a message for the user. */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

// One @, no whitespace or control characters, and a dot in the domain: strict enough to catch typos,
// loose enough for real addresses. Whether the address works is proven by the reset mail, not a regex.
const EMAIL_PATTERN = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Trims, NFC-normalises and lower-cases an email address, then checks its shape and length. */
export function checkEmail(input: string | undefined): Checked<string> {
  const email = (input ?? '').trim().normalize('NFC').toLowerCase();
  if (email.length === 0) return { ok: false, message: 'Enter your email address.' };
  if (email.length > EMAIL_MAX_LENGTH) {
    return { ok: false, message: `The email address is longer than ${EMAIL_MAX_LENGTH} characters.` };
  }
  if (!EMAIL_PATTERN.test(email))
    return { ok: false, message: 'Enter a valid email address, such as name@example.com.' };
  return { ok: true, value: email };
}

/** Checks a new password's length in characters (code points). The password is never changed. */
export function checkNewPassword(input: string | undefined): Checked<string> {
  const password = input ?? '';
  const length = countCharacters(password, PASSWORD_MAX_LENGTH + 1);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return {
      ok: false,
      message: `Choose a password of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`,
    };
  }
  return { ok: true, value: password };
}

/**
 * Checks a password typed at login: empty and over-long input is rejected before any hashing, so a
 * huge password cannot make argon2 work for nothing.
 */
export function checkLoginPassword(input: string | undefined): Checked<string> {
  const password = input ?? '';
  if (password.length === 0) return { ok: false, message: 'Enter your password.' };
  if (countCharacters(password, PASSWORD_MAX_LENGTH + 1) > PASSWORD_MAX_LENGTH) {
    return { ok: false, message: 'Email or password is incorrect.' };
  }
  return { ok: true, value: password };
}

/** Checks a note's body: 1 to 10 000 characters, not only whitespace. */
export function checkNoteBody(input: unknown): Checked<string> {
  if (typeof input !== 'string' || input.trim().length === 0)
    return { ok: false, message: 'Write something in the note.' };
  if (countCharacters(input, NOTE_MAX_LENGTH + 1) > NOTE_MAX_LENGTH) {
    return {
      ok: false,
      message: `A note can be at most ${NOTE_MAX_LENGTH.toLocaleString('en')} characters long.`,
    };
  }
  return { ok: true, value: input };
}

/** Parses a row id from a URL parameter: a positive decimal integer without sign, spaces or leading zeros. */
export function parseId(input: string | undefined): number | undefined {
  if (input === undefined || !/^[1-9]\d{0,14}$/.test(input)) return undefined;
  return Number(input);
}

/** Counts code points, stopping at `limit` so a huge string costs no more than needed. */
function countCharacters(text: string, limit: number): number {
  let count = 0;
  for (const _ of text) {
    count++;
    if (count >= limit) break;
  }
  return count;
}
