/**
 * A tiny HTML template tag that escapes every interpolated value unless it is wrapped with `raw()` or
 * is itself the result of `html`. Arrays are joined, and `null`, `undefined` and `false` render as nothing.
 */

import { escapeHtml } from '@harden/fastify';

/** HTML that is already safe to insert as it is: the output of `html` or a trusted `raw()` fragment. */
export class SafeHtml {
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  toString(): string {
    return this.value;
  }
}

/** A value that `html` accepts in an interpolation. */
export { escapeHtml };

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Marks a trusted fragment as safe. Never pass it text that came from a request or the database. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}

/** Builds HTML from a template literal, escaping every interpolation that is not already SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += renderValue(values[i]);
    out += strings[i + 1] ?? '';
  }
  return new SafeHtml(out);
}

function renderValue(value: HtmlValue | undefined): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map((item) => renderValue(item)).join('');
  return escapeHtml(String(value));
}
