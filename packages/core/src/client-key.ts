import { HardenConfigError } from './errors.js';

/** Grouping of client addresses into rate-limit keys. */
export interface ClientKeyOptions {
  /**
   * Prefix length that groups IPv6 addresses into one key. Default: 64, because a single subscriber
   * usually gets a whole /64 and can pick any address inside it.
   */
  ipv6PrefixLength?: number;
}

/** Default IPv6 grouping: one key per /64. */
export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

/**
 * Key of every address that cannot be parsed. They all share one bucket, so garbage in a forwarded
 * header can never mint a fresh bucket per request.
 */
export const INVALID_ADDRESS_KEY = 'invalid-address';

/** Validates the client-key options once, at registration, and fills in defaults. */
export function resolveClientKeyOptions(
  options: ClientKeyOptions | undefined,
  option: string,
): Required<ClientKeyOptions> {
  const prefixLength = options?.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH;
  if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 128) {
    throw new HardenConfigError(
      option,
      prefixLength,
      'the IPv6 prefix length must be an integer from 1 to 128',
      'use 64 (one subscriber) or 56/48 for stricter grouping',
    );
  }
  return { ipv6PrefixLength: prefixLength };
}

/**
 * Returns the rate-limit key of a client address, so that every spelling of one address gives one key:
 * - IPv4 (`1.2.3.4`, `1.2.3.4:5678`, zero-padded octets read as decimal) keys as `1.2.3.4`;
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`, `::ffff:102:304`, `0:0:0:0:0:FFFF:0102:0304`) keys as the IPv4 address;
 * - other IPv6 keys as its network, `2001:db8:1:2::/64` by default, whatever its case, zero padding,
 *   `::` compression, brackets, port or zone id (`fe80::1%eth0`);
 * - anything else keys as {@link INVALID_ADDRESS_KEY}.
 */
export function clientKeyFromIp(address: string, prefixLength: number = DEFAULT_IPV6_PREFIX_LENGTH): string {
  const ipv4 = parseIpv4(address);
  if (ipv4 !== undefined) return ipv4;

  let text = address;
  if (text.startsWith('[')) {
    // `[2001:db8::1]` or `[2001:db8::1]:443`: the port after the bracket is dropped.
    const end = text.indexOf(']');
    if (end === -1) return INVALID_ADDRESS_KEY;
    const rest = text.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return INVALID_ADDRESS_KEY;
    text = text.slice(1, end);
  } else {
    const colon = text.indexOf(':');
    // `1.2.3.4:5678`: an IPv4 address with a port has exactly one colon.
    if (colon !== -1 && colon === text.lastIndexOf(':') && /^\d{1,5}$/.test(text.slice(colon + 1))) {
      return parseIpv4(text.slice(0, colon)) ?? INVALID_ADDRESS_KEY;
    }
  }

  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);

  const groups = parseIpv6(text);
  if (groups === undefined) return INVALID_ADDRESS_KEY;

  if (isIpv4Mapped(groups)) {
    return formatIpv4((groups[6] ?? 0) * 0x10000 + (groups[7] ?? 0));
  }

  maskGroups(groups, prefixLength);
  return [formatIpv6(groups), prefixLength].join('/');
}

/**
 * Returns the dotted-decimal form of a strict four-part IPv4 address, or undefined. Leading zeros are
 * read as decimal (`010` is 10, never octal 8).
 */
function parseIpv4(text: string): string | undefined {
  const value = ipv4ToNumber(text);
  if (value === -1) return undefined;
  if (isCanonicalIpv4(text)) return text;
  return formatIpv4(value);
}

/**
 * Returns a four-part dotted-decimal IPv4 address as an unsigned 32-bit number, or -1 when it is not one.
 * A character loop, because this runs on every request.
 */
function ipv4ToNumber(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let result = 0;
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let index = 0; index <= length; index++) {
    const code = index === length ? 46 : text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || value > 255) return -1;
      result = result * 256 + value;
      octets++;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (++digits > 3) return -1;
      value = value * 10 + (code - 48);
    } else {
      return -1;
    }
  }
  return octets === 4 ? result : -1;
}

/** True when no octet has a leading zero, so the text is already the key. */
function isCanonicalIpv4(text: string): boolean {
  for (let index = 0; index < text.length - 1; index++) {
    const atOctetStart = index === 0 || text.charCodeAt(index - 1) === 46;
    if (atOctetStart && text.charCodeAt(index) === 48 && text.charCodeAt(index + 1) !== 46) return false;
  }
  return true;
}

function formatIpv4(value: number): string {
  // Array.join builds one flat string, which keeps a stored key small (a template literal can leave a rope).
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * Parses IPv6 text (no brackets, no zone) into eight 16-bit groups, or undefined when it is invalid.
 * Accepts one `::` and a dotted IPv4 tail (`::ffff:1.2.3.4`). A character loop, for the same reason.
 */
function parseIpv6(text: string): number[] | undefined {
  const length = text.length;
  if (length < 2 || length > 45) return undefined;
  const groups: number[] = [];
  let compressAt = -1;
  let index = 0;

  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    compressAt = 0;
    index = 2;
  }

  while (index < length) {
    const start = index;
    let value = 0;
    let digits = 0;
    while (index < length) {
      const digit = hexDigit(text.charCodeAt(index));
      if (digit === -1) break;
      if (++digits > 4) return undefined;
      value = value * 16 + digit;
      index++;
    }

    if (index < length && text.charCodeAt(index) === 46) {
      // A dotted IPv4 tail fills the last two groups and must end the address.
      const ipv4 = ipv4ToNumber(text.slice(start));
      if (ipv4 === -1 || groups.length > 6) return undefined;
      groups.push(ipv4 >>> 16, ipv4 & 0xffff);
      index = length;
      break;
    }

    if (digits === 0) return undefined;
    groups.push(value);
    if (groups.length > 8) return undefined;
    if (index === length) break;

    if (text.charCodeAt(index) !== 58) return undefined;
    index++;
    if (index < length && text.charCodeAt(index) === 58) {
      if (compressAt !== -1) return undefined;
      compressAt = groups.length;
      index++;
    } else if (index === length) {
      return undefined;
    }
  }

  if (compressAt === -1) return groups.length === 8 ? groups : undefined;
  // `::` stands for at least one zero group.
  const missing = 8 - groups.length;
  if (missing < 1) return undefined;
  groups.splice(compressAt, 0, ...new Array<number>(missing).fill(0));
  return groups;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

function isIpv4Mapped(groups: readonly number[]): boolean {
  return (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  );
}

/** Zeroes every bit after the first `prefixLength` bits. */
function maskGroups(groups: number[], prefixLength: number): void {
  for (let index = 0; index < 8; index++) {
    const bitsKept = Math.min(16, Math.max(0, prefixLength - index * 16));
    const mask = bitsKept === 0 ? 0 : (0xffff << (16 - bitsKept)) & 0xffff;
    groups[index] = (groups[index] ?? 0) & mask;
  }
}

/** Formats eight groups in the RFC 5952 canonical form: lower case, no leading zeros, longest zero run as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }

  const hex = groups.map((group) => group.toString(16));
  // RFC 5952 compresses only runs of two or more zero groups.
  if (bestLength < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return [head, tail].join('::');
}
