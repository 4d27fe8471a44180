import { HardenConfigError } from './errors.js';

/** How client addresses are grouped into rate-limit keys. */
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
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }

  maskGroups(groups, prefixLength);
  return `${formatIpv6(groups)}/${prefixLength}`;
}

/**
 * Returns the dotted-decimal form of a strict four-part IPv4 address, or undefined. Leading zeros are
 * read as decimal (`010` is 10, never octal 8). A character loop, because this runs on every request.
 */
function parseIpv4(text: string): string | undefined {
  const length = text.length;
  if (length < 7 || length > 15) return undefined;
  let octets = 0;
  let value = 0;
  let digits = 0;
  let canonical = true;
  for (let index = 0; index <= length; index++) {
    const code = index === length ? 46 : text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || value > 255) return undefined;
      if (digits > 1 && text.charCodeAt(index - digits) === 48) canonical = false;
      octets++;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (++digits > 3) return undefined;
      value = value * 10 + (code - 48);
    } else {
      return undefined;
    }
  }
  if (octets !== 4) return undefined;
  if (canonical) return text;
  return text
    .split('.')
    .map((part) => String(Number(part)))
    .join('.');
}

/** Parses IPv6 text (no brackets, no zone) into eight 16-bit groups, or undefined when it is invalid. */
function parseIpv6(text: string): number[] | undefined {
  if (text.length === 0 || text.length > 45) return undefined;

  const halves = text.split('::');
  if (halves.length > 2) return undefined;

  const head = parseGroupList(halves[0] ?? '', halves.length === 1);
  if (head === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;

  const tail = parseGroupList(halves[1] ?? '', true);
  if (tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  // `::` stands for at least one zero group.
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Parses `a:b:c` into groups; an IPv4 tail (`::ffff:1.2.3.4`) is allowed only at the end of the address. */
function parseGroupList(text: string, mayEndWithIpv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] ?? '';
    if (mayEndWithIpv4 && index === parts.length - 1 && part.includes('.')) {
      const ipv4 = parseIpv4(part);
      if (ipv4 === undefined) return undefined;
      const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
      groups.push((a << 8) | b, (c << 8) | d);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
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
  return `${head}::${tail}`;
}
