/** IPv4 and IPv6 addresses: text <-> bytes (RFC 4291 §2.2 input, RFC 5952 canonical output). */
import { DecodeError } from './errors.ts';

/** Parses dotted-quad IPv4 text (four decimal octets, no leading zeros) into 4 bytes. */
export function parseIpv4(text: string): Uint8Array | DecodeError {
  const out = new Uint8Array(4);
  return parseIpv4Into(text, out, 0)
    ? out
    : new DecodeError('address.ipv4', `'${text}' is not an IPv4 address`);
}

function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Leading zeros are refused: some stacks read them as octal, so such text is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[offset + i] = v;
  }
  return true;
}

/** Parses IPv6 text (hex groups, one `::`, an optional trailing dotted IPv4 part) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array | DecodeError {
  const out = new Uint8Array(16);
  return parseIpv6Into(text, out) ? out : new DecodeError('address.ipv6', `'${text}' is not an IPv6 address`);
}

function parseGroups(part: string, groups: number[], allowIpv4Tail: boolean): boolean {
  if (part === '') return true;
  const fields = part.split(':');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (allowIpv4Tail && i === fields.length - 1 && f.includes('.')) {
      const v4 = new Uint8Array(4);
      if (!parseIpv4Into(f, v4, 0)) return false;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(f)) return false;
    groups.push(Number.parseInt(f, 16));
  }
  return true;
}

function parseIpv6Into(text: string, out: Uint8Array): boolean {
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return false;
  const head: number[] = [];
  const tail: number[] = [];
  if (gap < 0) {
    if (!parseGroups(text, head, true) || head.length !== 8) return false;
  } else {
    const left = text.slice(0, gap);
    const right = text.slice(gap + 2);
    if (!parseGroups(left, head, false) || !parseGroups(right, tail, true)) return false;
    // `::` stands for at least one zero group.
    if (head.length + tail.length > 7) return false;
  }
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i]! >>> 8;
    out[2 * i + 1] = head[i]! & 0xff;
  }
  const base = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[2 * (base + i)] = tail[i]! >>> 8;
    out[2 * (base + i) + 1] = tail[i]! & 0xff;
  }
  return true;
}

/** Parses IPv4 or IPv6 text (IPv6 when it contains a colon). */
export function parseIp(text: string): Uint8Array | DecodeError {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Like parseIp, for text supplied by a program rather than the network: bad text throws. */
export function ipFromText(text: string): Uint8Array {
  const r = parseIp(text);
  if (r instanceof DecodeError)
    throw new TypeError(`${r.message}: give dotted IPv4 (10.0.0.1) or IPv6 text (2001:db8::1)`);
  return r;
}

/** Dotted-quad text of 4 bytes at `bytes[offset]`. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text of 16 bytes at `bytes[offset]`: lower-case, no leading zeros, longest zero run as `::`. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  // Addresses with a well-known IPv4-embedding prefix show their IPv4 part dotted (RFC 5952 §5), as
  // inet_ntop (and so tshark and iproute2) does: IPv4-mapped ::ffff:0:0/96, and IPv4-compatible ::/96
  // except where the first non-zero group is the last one (::1 stays ::1).
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0) {
    if (g[5] === 0xffff) return `::ffff:${formatIpv4(bytes, offset + 12)}`;
    if (g[5] === 0 && g[6] !== 0) return `::${formatIpv4(bytes, offset + 12)}`;
  }
  // The first of the longest runs of two or more zero groups is compressed (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Text of a 4- or 16-byte address. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIpv4(bytes);
  if (bytes.length === 16) return formatIpv6(bytes);
  throw new TypeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}
