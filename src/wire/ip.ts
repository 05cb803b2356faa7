/** IPv4 (RFC 791) and IPv6 (RFC 8200) headers: decode to views of the packet, encode into a buffer. */
import { finishChecksum, sumBytes } from './checksum.ts';
import { DecodeError } from './errors.ts';

export const IPV4_HEADER_MIN = 20;
export const IPV6_HEADER_LENGTH = 40;

/** IPv4 flag bits (the 3 bits before the fragment offset). */
export const Ipv4Flag = { RESERVED: 4, DF: 2, MF: 1 } as const;

/** IPv6 extension headers this decoder walks over to reach the upper layer (RFC 8200 §4). */
export const Ipv6Ext = { HOP_BY_HOP: 0, ROUTING: 43, FRAGMENT: 44, DESTINATION: 60 } as const;

export interface Ipv4Header {
  version: 4;
  /** Differentiated services code point (6 bits). */
  dscp: number;
  /** Explicit congestion notification (2 bits). */
  ecn: number;
  id: number;
  /** The 3 flag bits (Ipv4Flag). */
  flags: number;
  /** Fragment offset in units of 8 bytes. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** Option bytes (a multiple of 4, at most 40), padding included. */
  options: Uint8Array;
}

export interface Ipv4Packet extends Ipv4Header {
  headerLength: number;
  totalLength: number;
  checksum: number;
  /** The bytes after the header up to the total length: a view into the decoded buffer. */
  payload: Uint8Array;
}

export interface Ipv6Header {
  version: 6;
  trafficClass: number;
  flowLabel: number;
  /** The next-header field of the fixed header: the first extension header, or the upper layer. */
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** Extension header bytes between the fixed header and the upper layer, written as they are. */
  extensions: Uint8Array;
}

export interface Ipv6Packet extends Ipv6Header {
  payloadLength: number;
  /** The upper-layer protocol found after the extension headers (6 for TCP). */
  protocol: number;
  /** Present when a fragment header was crossed: the payload is then a fragment, not a whole segment. */
  fragment?: { offset: number; moreFragments: boolean; id: number };
  /** The upper-layer bytes: a view into the decoded buffer. */
  payload: Uint8Array;
}

export type IpPacket = Ipv4Packet | Ipv6Packet;

const EMPTY = new Uint8Array(0);

/** The TTL / hop limit of the packets our hosts send (Linux's net.ipv4.ip_default_ttl). */
const DEFAULT_TTL = 64;

/**
 * Header descriptions for the packets of one protocol that a host sends, to be filled per packet (id,
 * addresses) and written with writeIpv4Header / writeIpv6Header: reused, so nothing is allocated per packet.
 * IPv4 sets DF: TCP sizes its segments to the path and does not want them fragmented on the way.
 */
export function ipv4Template(protocol: number): Ipv4Header {
  return {
    version: 4,
    dscp: 0,
    ecn: 0,
    id: 0,
    flags: Ipv4Flag.DF,
    fragmentOffset: 0,
    ttl: DEFAULT_TTL,
    protocol,
    src: EMPTY,
    dst: EMPTY,
    options: EMPTY,
  };
}

export function ipv6Template(nextHeader: number): Ipv6Header {
  return {
    version: 6,
    trafficClass: 0,
    flowLabel: 0,
    nextHeader,
    hopLimit: DEFAULT_TTL,
    src: EMPTY,
    dst: EMPTY,
    extensions: EMPTY,
  };
}

export interface IpDecodeOptions {
  /** Check the IPv4 header checksum (default true); a bad one is a DecodeError 'ipv4.checksum'. */
  verifyChecksum?: boolean;
}

/** Decodes the IPv4 packet in `buf[start..end)`. src, dst, options and payload are views into `buf`. */
export function decodeIpv4(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  opts?: IpDecodeOptions,
): Ipv4Packet | DecodeError {
  const n = end - start;
  if (start < 0 || end > buf.length || n < IPV4_HEADER_MIN)
    return new DecodeError('ipv4.truncated', `IPv4 packet of ${n} bytes is shorter than the 20-byte header`);
  const b0 = buf[start]!;
  if (b0 >>> 4 !== 4) return new DecodeError('ipv4.version', `version ${b0 >>> 4} in an IPv4 header`);
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_MIN)
    return new DecodeError('ipv4.ihl', `IHL ${headerLength / 4} is below the minimum of 5`);
  const totalLength = (buf[start + 2]! << 8) | buf[start + 3]!;
  if (totalLength < headerLength)
    return new DecodeError(
      'ipv4.totalLength',
      `total length ${totalLength} is shorter than the ${headerLength}-byte header`,
    );
  if (totalLength > n)
    return new DecodeError(
      'ipv4.truncated',
      `total length ${totalLength} is longer than the ${n} bytes received`,
    );
  if (opts?.verifyChecksum !== false && finishChecksum(sumBytes(buf, start, start + headerLength)) !== 0)
    return new DecodeError('ipv4.checksum', 'IPv4 header checksum does not match');
  const b6 = buf[start + 6]!;
  return {
    version: 4,
    dscp: buf[start + 1]! >>> 2,
    ecn: buf[start + 1]! & 3,
    totalLength,
    id: (buf[start + 4]! << 8) | buf[start + 5]!,
    flags: b6 >>> 5,
    fragmentOffset: ((b6 & 0x1f) << 8) | buf[start + 7]!,
    ttl: buf[start + 8]!,
    protocol: buf[start + 9]!,
    checksum: (buf[start + 10]! << 8) | buf[start + 11]!,
    src: buf.subarray(start + 12, start + 16),
    dst: buf.subarray(start + 16, start + 20),
    options: headerLength > IPV4_HEADER_MIN ? buf.subarray(start + 20, start + headerLength) : EMPTY,
    headerLength,
    // Bytes past the total length (link-layer padding) are not part of the packet.
    payload: buf.subarray(start + headerLength, start + totalLength),
  };
}

/** Decodes the IPv6 packet in `buf[start..end)`, walking hop-by-hop, routing, fragment and destination headers. */
export function decodeIpv6(buf: Uint8Array, start = 0, end = buf.length): Ipv6Packet | DecodeError {
  const n = end - start;
  if (start < 0 || end > buf.length || n < IPV6_HEADER_LENGTH)
    return new DecodeError('ipv6.truncated', `IPv6 packet of ${n} bytes is shorter than the 40-byte header`);
  const b0 = buf[start]!;
  const b1 = buf[start + 1]!;
  if (b0 >>> 4 !== 6) return new DecodeError('ipv6.version', `version ${b0 >>> 4} in an IPv6 header`);
  const payloadLength = (buf[start + 4]! << 8) | buf[start + 5]!;
  const stop = start + IPV6_HEADER_LENGTH + payloadLength;
  if (stop > end)
    return new DecodeError(
      'ipv6.truncated',
      `payload length ${payloadLength} is longer than the ${n - IPV6_HEADER_LENGTH} bytes after the header`,
    );
  const nextHeader = buf[start + 6]!;
  let protocol = nextHeader;
  let i = start + IPV6_HEADER_LENGTH;
  let fragment: Ipv6Packet['fragment'];
  for (;;) {
    let extLen: number;
    if (protocol === Ipv6Ext.FRAGMENT) extLen = 8;
    else if (
      protocol === Ipv6Ext.HOP_BY_HOP ||
      protocol === Ipv6Ext.ROUTING ||
      protocol === Ipv6Ext.DESTINATION
    ) {
      if (i + 2 > stop)
        return new DecodeError(
          'ipv6.extension',
          `extension header ${protocol} is cut off by the payload length`,
        );
      extLen = (buf[i + 1]! + 1) * 8;
    } else break;
    if (i + extLen > stop)
      return new DecodeError(
        'ipv6.extension',
        `extension header ${protocol} of ${extLen} bytes runs past the payload length by ${i + extLen - stop}`,
      );
    if (protocol === Ipv6Ext.FRAGMENT) {
      const off = (buf[i + 2]! << 8) | buf[i + 3]!;
      fragment = {
        offset: off >>> 3,
        moreFragments: (off & 1) === 1,
        id: ((buf[i + 4]! << 24) | (buf[i + 5]! << 16) | (buf[i + 6]! << 8) | buf[i + 7]!) >>> 0,
      };
    }
    protocol = buf[i]!;
    i += extLen;
  }
  const base = start + IPV6_HEADER_LENGTH;
  const p: Ipv6Packet = {
    version: 6,
    trafficClass: ((b0 & 0x0f) << 4) | (b1 >>> 4),
    flowLabel: ((b1 & 0x0f) << 16) | (buf[start + 2]! << 8) | buf[start + 3]!,
    payloadLength,
    nextHeader,
    hopLimit: buf[start + 7]!,
    src: buf.subarray(start + 8, start + 24),
    dst: buf.subarray(start + 24, start + 40),
    extensions: i > base ? buf.subarray(base, i) : EMPTY,
    protocol,
    payload: buf.subarray(i, stop),
  };
  if (fragment) p.fragment = fragment;
  return p;
}

/** Decodes an IPv4 or IPv6 packet, chosen by the version nibble. */
export function decodeIp(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  opts?: IpDecodeOptions,
): IpPacket | DecodeError {
  if (start < 0 || start >= end || end > buf.length)
    return new DecodeError('ip.truncated', 'empty IP packet');
  const version = buf[start]! >>> 4;
  if (version === 4) return decodeIpv4(buf, start, end, opts);
  if (version === 6) return decodeIpv6(buf, start, end);
  return new DecodeError('ip.version', `IP version ${version} is neither 4 nor 6`);
}

function checkAddresses(src: Uint8Array, dst: Uint8Array, size: number): void {
  if (src.length !== size || dst.length !== size)
    throw new TypeError(
      `IPv${size === 4 ? 4 : 6} addresses have ${size} bytes (got ${src.length} and ${dst.length})`,
    );
}

/** Length of the IPv4 header for `h` (20 + options). */
export function ipv4HeaderLength(h: Ipv4Header): number {
  return IPV4_HEADER_MIN + h.options.length;
}

/** Writes an IPv4 header for a payload of `payloadLength` bytes at `out[offset]`, checksum computed. */
export function writeIpv4Header(
  h: Ipv4Header,
  payloadLength: number,
  out: Uint8Array,
  offset: number,
): number {
  checkAddresses(h.src, h.dst, 4);
  if (h.options.length % 4 !== 0 || h.options.length > 40)
    throw new RangeError(`IPv4 options take a multiple of 4 bytes up to 40, not ${h.options.length}`);
  const hl = ipv4HeaderLength(h);
  const total = hl + payloadLength;
  if (total > 0xffff) throw new RangeError(`an IPv4 packet of ${total} bytes exceeds 65535`);
  if (offset < 0 || offset + hl > out.length)
    throw new RangeError(`a ${hl}-byte IPv4 header does not fit at byte ${offset} of ${out.length}`);
  const o = offset;
  out[o] = 0x40 | (hl / 4);
  out[o + 1] = (h.dscp << 2) | (h.ecn & 3);
  out[o + 2] = total >>> 8;
  out[o + 3] = total;
  out[o + 4] = h.id >>> 8;
  out[o + 5] = h.id;
  out[o + 6] = ((h.flags & 7) << 5) | ((h.fragmentOffset >>> 8) & 0x1f);
  out[o + 7] = h.fragmentOffset;
  out[o + 8] = h.ttl;
  out[o + 9] = h.protocol;
  out[o + 10] = 0;
  out[o + 11] = 0;
  out.set(h.src, o + 12);
  out.set(h.dst, o + 16);
  if (h.options.length) out.set(h.options, o + 20);
  const sum = finishChecksum(sumBytes(out, o, o + hl));
  out[o + 10] = sum >>> 8;
  out[o + 11] = sum;
  return hl;
}

/** Length of the IPv6 header for `h` (40 + extension headers). */
export function ipv6HeaderLength(h: Ipv6Header): number {
  return IPV6_HEADER_LENGTH + h.extensions.length;
}

/** Writes an IPv6 header and its extension headers for `payloadLength` upper-layer bytes at `out[offset]`. */
export function writeIpv6Header(
  h: Ipv6Header,
  payloadLength: number,
  out: Uint8Array,
  offset: number,
): number {
  checkAddresses(h.src, h.dst, 16);
  const hl = ipv6HeaderLength(h);
  const plen = h.extensions.length + payloadLength;
  if (plen > 0xffff) throw new RangeError(`an IPv6 payload of ${plen} bytes exceeds 65535 (no jumbograms)`);
  if (offset < 0 || offset + hl > out.length)
    throw new RangeError(`a ${hl}-byte IPv6 header does not fit at byte ${offset} of ${out.length}`);
  const o = offset;
  out[o] = 0x60 | ((h.trafficClass >>> 4) & 0x0f);
  out[o + 1] = ((h.trafficClass & 0x0f) << 4) | ((h.flowLabel >>> 16) & 0x0f);
  out[o + 2] = h.flowLabel >>> 8;
  out[o + 3] = h.flowLabel;
  out[o + 4] = plen >>> 8;
  out[o + 5] = plen;
  out[o + 6] = h.nextHeader;
  out[o + 7] = h.hopLimit;
  out.set(h.src, o + 8);
  out.set(h.dst, o + 24);
  if (h.extensions.length) out.set(h.extensions, o + 40);
  return hl;
}

/** Length of the header for `h` (either version). */
export function ipHeaderLength(h: Ipv4Header | Ipv6Header): number {
  return h.version === 4 ? ipv4HeaderLength(h) : ipv6HeaderLength(h);
}

/**
 * Encodes header and payload into `out` at `offset` (allocating when `out` is omitted) and returns the
 * packet's bytes.
 */
export function encodeIp(
  h: Ipv4Header | Ipv6Header,
  payload: Uint8Array = EMPTY,
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  const total = ipHeaderLength(h) + payload.length;
  const buf = out ?? new Uint8Array(total);
  if (buf.length - offset < total) throw new RangeError(`buffer too small for a ${total}-byte IP packet`);
  const hl =
    h.version === 4
      ? writeIpv4Header(h, payload.length, buf, offset)
      : writeIpv6Header(h, payload.length, buf, offset);
  buf.set(payload, offset + hl);
  return out ? buf.subarray(offset, offset + total) : buf;
}
