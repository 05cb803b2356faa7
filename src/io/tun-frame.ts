/**
 * IP framing for raw-IP drivers (TUN): wraps the stack's TCP segments in IPv4 (RFC 791, header checksum,
 * DF, TTL 64) or IPv6 (RFC 8200, hop limit 64) headers, and strips well-formed packets back to segments.
 * Address text is cached both ways, so the hot path neither parses nor formats addresses.
 */
import { formatIpv4, formatIpv6, parseIp } from '../wire/address.ts';
import { finishChecksum, sumBytes } from '../wire/checksum.ts';
import { DecodeError } from '../wire/errors.ts';
import {
  decodeIpv6,
  IPV4_HEADER_MIN,
  IPV6_HEADER_LENGTH,
  ipv4Template,
  ipv6Template,
  writeIpv4Header,
  writeIpv6Header,
} from '../wire/ip.ts';
import { IPPROTO_TCP } from '../wire/tcp.ts';

/** Why a received packet was not handed to the stack. */
export type DropReason = 'badIp' | 'notTcp' | 'fragment' | 'notOurs';

export interface StrippedSegment {
  src: string;
  dst: string;
  /** The TCP segment: a view into the packet. */
  segment: Uint8Array;
}

/** Frames and strips IP packets for a stack that owns `addresses`. */
export class IpFramer {
  private readonly own: Set<string>;
  private readonly bytes = new Map<string, Uint8Array | DecodeError>();
  /** IPv4 address (as an unsigned 32-bit number) to its text. */
  private readonly v4Text = new Map<number, string>();
  private ipId = 0;
  // Reused header descriptions: only the per-packet fields change.
  private readonly v4 = ipv4Template(IPPROTO_TCP);
  private readonly v6 = ipv6Template(IPPROTO_TCP);

  constructor(addresses: readonly string[]) {
    this.own = new Set(addresses);
  }

  owns(address: string): boolean {
    return this.own.has(address);
  }

  /** Bytes an IP packet around a segment of `segmentLength` bytes takes, or -1 for a bad address pair. */
  packetLength(src: string, dst: string, segmentLength: number): number {
    const s = this.bytesOf(src);
    const d = this.bytesOf(dst);
    if (s instanceof DecodeError || d instanceof DecodeError || s.length !== d.length) return -1;
    return (s.length === 4 ? IPV4_HEADER_MIN : IPV6_HEADER_LENGTH) + segmentLength;
  }

  /**
   * Writes the IP packet around `segment` (followed by `data`, when the segment's data is held apart) at
   * out[offset..]; returns its length, or -1 when an address is bad or the packet would exceed 65535 bytes.
   * The caller checks the room (packetLength) and, before sending, that the source is ours (owns).
   */
  frame(
    src: string,
    dst: string,
    segment: Uint8Array,
    tos: number,
    out: Uint8Array,
    offset: number,
    data?: Uint8Array,
  ): number {
    const s = this.bytesOf(src);
    const d = this.bytesOf(dst);
    if (s instanceof DecodeError || d instanceof DecodeError || s.length !== d.length) return -1;
    const len = segment.length + (data?.length ?? 0);
    let hl: number;
    if (s.length === 4) {
      if (IPV4_HEADER_MIN + len > 0xffff) return -1;
      const h = this.v4;
      h.dscp = tos >>> 2;
      h.ecn = tos & 3;
      h.id = this.ipId;
      this.ipId = (this.ipId + 1) & 0xffff;
      h.src = s;
      h.dst = d;
      hl = writeIpv4Header(h, len, out, offset);
    } else {
      if (len > 0xffff) return -1;
      const h = this.v6;
      h.trafficClass = tos;
      h.src = s;
      h.dst = d;
      hl = writeIpv6Header(h, len, out, offset);
    }
    out.set(segment, offset + hl);
    if (data !== undefined) out.set(data, offset + hl + segment.length);
    return hl + len;
  }

  /** The TCP segment of a packet for one of our addresses, or why it is dropped. Never throws. */
  strip(p: Uint8Array): StrippedSegment | DropReason {
    const version = p.length > 0 ? p[0]! >>> 4 : 0;
    if (version === 4) {
      if (p.length < IPV4_HEADER_MIN) return 'badIp';
      const hl = (p[0]! & 0x0f) * 4;
      const total = (p[2]! << 8) | p[3]!;
      if (hl < IPV4_HEADER_MIN || total < hl || total > p.length) return 'badIp';
      if (finishChecksum(sumBytes(p, 0, hl)) !== 0) return 'badIp';
      if (p[9] !== IPPROTO_TCP) return 'notTcp';
      if ((p[6]! & 0x3f) !== 0 || p[7] !== 0) return 'fragment';
      const dst = this.v4TextAt(p, 16);
      if (!this.own.has(dst)) return 'notOurs';
      return { src: this.v4TextAt(p, 12), dst, segment: p.subarray(hl, total) };
    }
    if (version === 6) {
      if (p.length < IPV6_HEADER_LENGTH) return 'badIp';
      let segment: Uint8Array;
      if (p[6] === IPPROTO_TCP) {
        const end = IPV6_HEADER_LENGTH + ((p[4]! << 8) | p[5]!);
        if (end > p.length) return 'badIp';
        segment = p.subarray(IPV6_HEADER_LENGTH, end);
      } else {
        // Extension headers: rare, so the general decoder walks them.
        const d = decodeIpv6(p);
        if (d instanceof DecodeError) return 'badIp';
        if (d.fragment) return 'fragment';
        if (d.protocol !== IPPROTO_TCP) return 'notTcp';
        segment = d.payload;
      }
      const dst = formatIpv6(p, 24);
      if (!this.own.has(dst)) return 'notOurs';
      return { src: formatIpv6(p, 8), dst, segment };
    }
    return 'badIp';
  }

  private v4TextAt(p: Uint8Array, at: number): string {
    const key = ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
    let t = this.v4Text.get(key);
    if (t === undefined) {
      t = formatIpv4(p, at);
      // Bounded: addresses seen on a TUN are few, but a flood of forged sources must not grow this forever.
      if (this.v4Text.size >= 4096) this.v4Text.clear();
      this.v4Text.set(key, t);
    }
    return t;
  }

  private bytesOf(address: string): Uint8Array | DecodeError {
    let b = this.bytes.get(address);
    if (b === undefined) {
      b = parseIp(address);
      if (this.bytes.size >= 4096) this.bytes.clear();
      this.bytes.set(address, b);
    }
    return b;
  }
}
