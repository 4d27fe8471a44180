import { HardenConfigError } from './errors.js';

/**
 * The allowlist of a feature: `'self'` (this origin), `'*'` (every origin, frames included), or a list of
 * `'self'` and exact `https://` origins.
 */
export type PermissionsAllowlist = 'self' | '*' | readonly string[];

/**
 * Powerful features the Permissions-Policy header turns off unless the application allows them. Each is
 * a feature name that Chromium recognizes, so the header triggers no "Unrecognized feature" console error.
 */
export const DISABLED_FEATURES: readonly string[] = [
  'accelerometer',
  'camera',
  'display-capture',
  'geolocation',
  'gyroscope',
  'hid',
  'idle-detection',
  'local-fonts',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'screen-wake-lock',
  'serial',
  'usb',
  'xr-spatial-tracking',
];

/**
 * Features the header leaves at the browser's default unless the application lists them. They are
 * harmless or commonly needed by the page itself (fullscreen video, passkeys through WebAuthn).
 */
const OTHER_FEATURES: readonly string[] = [
  'autoplay',
  'encrypted-media',
  'fullscreen',
  'gamepad',
  'picture-in-picture',
  'publickey-credentials-create',
  'publickey-credentials-get',
  'storage-access',
  'web-share',
  'window-management',
];

const KNOWN_FEATURES: ReadonlySet<string> = new Set([...DISABLED_FEATURES, ...OTHER_FEATURES]);

/**
 * Builds the Permissions-Policy header value: every feature of DISABLED_FEATURES set to `()` (off for the
 * page and its frames) unless `allow` lists it, then the features of `allow` with their allowlists.
 * Throws a HardenConfigError naming `optionName.<feature>` for an unknown feature or a malformed allowlist.
 */
export function buildPermissionsPolicy(
  allow: Readonly<Record<string, PermissionsAllowlist>> | undefined,
  optionName: string,
): string {
  const allowed = allow ?? {};
  if (allowed === null || typeof allowed !== 'object' || Array.isArray(allowed)) {
    throw new HardenConfigError(
      optionName,
      allowed,
      'it is not a table of features',
      "pass an object such as { camera: 'self' }",
    );
  }

  const entries: string[] = [];
  for (const feature of DISABLED_FEATURES) {
    if (!Object.hasOwn(allowed, feature)) entries.push(`${feature}=()`);
  }
  for (const [feature, allowlist] of Object.entries(allowed)) {
    const option = `${optionName}.${feature}`;
    if (!KNOWN_FEATURES.has(feature)) {
      throw new HardenConfigError(
        option,
        feature,
        'it is not a Permissions-Policy feature this plugin knows',
        `use one of ${[...KNOWN_FEATURES].sort().join(', ')}`,
      );
    }
    entries.push(`${feature}=${formatAllowlist(allowlist, option)}`);
  }
  return entries.join(', ');
}

function formatAllowlist(allowlist: PermissionsAllowlist, option: string): string {
  if (allowlist === '*') return '*';
  if (allowlist === 'self') return '(self)';
  if (!Array.isArray(allowlist) || allowlist.length === 0) {
    throw new HardenConfigError(
      option,
      allowlist,
      "it is not 'self', '*' or a non-empty list of origins",
      "write 'self', or ['self', 'https://maps.example']",
    );
  }
  const members = allowlist.map((member: unknown) => {
    if (member === 'self') return 'self';
    if (typeof member === 'string' && isOrigin(member)) return JSON.stringify(member);
    throw new HardenConfigError(
      option,
      member,
      "it is not 'self' or an https:// origin",
      "write an origin such as 'https://maps.example', without a path",
    );
  });
  return `(${members.join(' ')})`;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.origin === value;
  } catch {
    return false;
  }
}
