/** Largest request body accepted, in bytes: a note of 10 000 four-byte characters, percent-encoded, fits. */
export const BODY_LIMIT_BYTES = 128 * 1024;

/** A parsed `application/x-www-form-urlencoded` body: each field once, always a string. */
export type FormFields = Readonly<Record<string, string>>;

/** A form body that cannot be read as fields. Fastify sends it as a 400. */
export class FormBodyError extends Error {
  readonly statusCode = 400;
  readonly code = 'NOTES_BAD_FORM_BODY';
}

/**
 * Parses a form body strictly, for @fastify/formbody's `parser` option. It rejects invalid UTF-8,
 * either raw or percent-encoded, and a field sent twice (`email=a&email=b`), so a handler only ever
 * sees one string per field and never an array. The result has no prototype, so `__proto__` is a plain key.
 */
export function parseFormBody(body: string): FormFields {
  // Buffer#toString turns invalid UTF-8 bytes into U+FFFD. A browser percent-encodes every non-ASCII
  // character, so a raw U+FFFD here means the bytes were not UTF-8.
  if (body.includes('\uFFFD')) throw new FormBodyError('The form data is not valid UTF-8.');

  const fields: Record<string, string> = Object.create(null);
  if (body.length === 0) return fields;
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue;
    const separator = pair.indexOf('=');
    const name = decodeComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decodeComponent(pair.slice(separator + 1));
    if (Object.hasOwn(fields, name))
      throw new FormBodyError(`The form field "${truncate(name)}" was sent more than once.`);
    fields[name] = value;
  }
  return fields;
}

function decodeComponent(encoded: string): string {
  try {
    // decodeURIComponent throws a URIError on a malformed escape or on escapes that are not UTF-8.
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw new FormBodyError('The form data has an invalid percent-encoding or is not valid UTF-8.');
  }
}

function truncate(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

/**
 * Reads one field of a request body as a string. Anything else (a missing field, or an array or object
 * from a JSON body sent to a form route) becomes undefined, so only strings reach validation and SQL.
 */
export function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
