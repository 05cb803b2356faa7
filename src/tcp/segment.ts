/**
 * The per-segment fast path: a header and option parser that fills one reused object (no allocation per
 * segment), and byte writers for the header and the options the engine itself sends. Structural errors
 * are refused with the same rules as src/wire/tcp.ts's decodeTcpOptions (which the MPTCP hook path uses
 * for the full option list), so both views of a segment agree.
 */
import { MPTCP_KIND } from '../wire/mptcp-types.ts';
import { TCP_HEADER_MIN } from '../wire/tcp.ts';

export class ParsedSegment {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  headerLength = 0;
  /** The payload is payload[payloadStart..payloadEnd): the parsed bytes, or the data a transport carried apart. */
  payload: Uint8Array = new Uint8Array(0);
  payloadStart = 0;
  payloadEnd = 0;
  /** The payload's bytes were handed over by the transport: the stack may keep views of them (keepBytes). */
  payloadOwned = false;
  /** The payload's bytes are lent: valid only while the segment is processed (a transport's reused buffer). */
  payloadLent = false;
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  hasTs = false;
  tsval = 0;
  tsecr = 0;
  sackCount = 0;
  readonly sackLeft = new Uint32Array(4);
  readonly sackRight = new Uint32Array(4);
  hasMptcp = false;
  /** Why parsing failed, when it did. */
  error = '';

  get len(): number {
    return this.payloadEnd - this.payloadStart;
  }
}

const rd32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

/** Parses `buf` as a TCP segment into `p`; false (with p.error) for a structurally bad header. */
export function parseSegment(buf: Uint8Array, p: ParsedSegment): boolean {
  const n = buf.length;
  if (n < TCP_HEADER_MIN) {
    p.error = 'tcp.truncated';
    return false;
  }
  const hl = (buf[12]! >>> 4) * 4;
  if (hl < TCP_HEADER_MIN || hl > n) {
    p.error = 'tcp.dataOffset';
    return false;
  }
  p.srcPort = (buf[0]! << 8) | buf[1]!;
  p.dstPort = (buf[2]! << 8) | buf[3]!;
  p.seq = rd32(buf, 4);
  p.ack = rd32(buf, 8);
  p.flags = buf[13]!;
  p.window = (buf[14]! << 8) | buf[15]!;
  p.headerLength = hl;
  p.payload = buf;
  p.payloadStart = hl;
  p.payloadEnd = n;
  p.payloadOwned = false;
  p.payloadLent = false;
  p.mss = -1;
  p.wscale = -1;
  p.sackPermitted = false;
  p.hasTs = false;
  p.sackCount = 0;
  p.hasMptcp = false;
  let i = TCP_HEADER_MIN;
  while (i < hl) {
    const kind = buf[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= hl) {
      p.error = 'tcp.option.truncated';
      return false;
    }
    const len = buf[i + 1]!;
    if (len < 2 || i + len > hl) {
      p.error = 'tcp.option.length';
      return false;
    }
    switch (kind) {
      case 2:
        if (len !== 4) return bad(p, 'tcp.option.mss');
        p.mss = (buf[i + 2]! << 8) | buf[i + 3]!;
        break;
      case 3:
        if (len !== 3) return bad(p, 'tcp.option.wscale');
        p.wscale = buf[i + 2]!;
        break;
      case 4:
        if (len !== 2) return bad(p, 'tcp.option.sackPermitted');
        p.sackPermitted = true;
        break;
      case 5: {
        if (len < 10 || (len - 2) % 8 !== 0) return bad(p, 'tcp.option.sack');
        let c = 0;
        for (let j = i + 2; j < i + len && c < 4; j += 8, c++) {
          p.sackLeft[c] = rd32(buf, j);
          p.sackRight[c] = rd32(buf, j + 4);
        }
        p.sackCount = c;
        break;
      }
      case 8:
        if (len !== 10) return bad(p, 'tcp.option.timestamp');
        p.hasTs = true;
        p.tsval = rd32(buf, i + 2);
        p.tsecr = rd32(buf, i + 6);
        break;
      case MPTCP_KIND:
        p.hasMptcp = true;
        break;
    }
    i += len;
  }
  return true;
}

function bad(p: ParsedSegment, code: string): false {
  p.error = code;
  return false;
}

/**
 * Bytes are carved from slabs, 8-byte aligned (as Node's Buffer pool does): one ArrayBuffer per slab instead of
 * one per segment, and aligned for the word-wise checksum. A carved view is never handed out twice, so a
 * segment held in a link queue keeps its bytes; a slab is freed when no view of it is left. Slabs are not
 * zero-filled when made (zeroing fresh slabs cost more than a sixth of a simulation's time, mostly in cache
 * misses): each carve clears or overwrites exactly its own bytes.
 *
 * Outgoing segments live only until the network delivers or drops them, so they share large slabs: the
 * receiver then verifies checksums mostly in the slab the sender is filling, and the checksum's word view
 * of that slab is reused instead of remade (it is remade whenever the buffer changes). Bytes handed to
 * applications may be kept for long, and each would keep its whole slab alive: they come from small slabs.
 */
class Slabs {
  private slab: Uint8Array;
  private off = 0;

  constructor(readonly size: number) {
    this.slab = this.fresh();
  }

  /** `n` bytes after `front` unused ones, not cleared (the caller writes or clears every one). */
  carve(n: number, front: number): Uint8Array {
    if (this.off + front + n > this.size) {
      this.slab = this.fresh();
      this.off = 0;
    }
    const b = new Uint8Array(this.slab.buffer, this.off + front, n);
    this.off = (this.off + front + n + 7) & ~7;
    return b;
  }

  private fresh(): Uint8Array {
    return new Uint8Array(Buffer.allocUnsafeSlow(this.size).buffer);
  }
}

const segmentSlabs = new Slabs(4 * 1024 * 1024);
const dataSlabs = new Slabs(256 * 1024);
/** Larger requests for bytes that may be kept get an ArrayBuffer of their own. */
const CARVE_MAX = 32 * 1024;
/** Outgoing segments are short-lived: even the largest (64 KB over loopback or TCP-in-UDP) share slabs. */
const SEGMENT_CARVE_MAX = 128 * 1024;

/** Bytes kept free in front of each outgoing segment (allocFramed) for a driver's IPv4 or IPv6 header. */
export const HEADROOM = 40;
/** The latest segment from allocFramed whose headroom no driver has claimed yet. */
let unframed: Uint8Array | null = null;

/** `n` fresh zero bytes. */
export function allocBytes(n: number): Uint8Array {
  if (n > CARVE_MAX) return new Uint8Array(n);
  return dataSlabs.carve(n, 0).fill(0);
}

/**
 * `n` fresh bytes for an outgoing segment, not cleared: the caller writes every one of them (stale bytes of
 * other memory must never reach the wire). HEADROOM free bytes lie in front of them: a driver that gets
 * this segment from poll() can put its IP header there (framed()) instead of copying the segment.
 */
export function allocFramed(n: number): Uint8Array {
  if (n > SEGMENT_CARVE_MAX) return new Uint8Array(n);
  const b = segmentSlabs.carve(n, HEADROOM);
  unframed = b;
  return b;
}

/**
 * One array of `front` (≤ HEADROOM) bytes followed by `seg`, sharing seg's bytes, when `seg` is the latest
 * segment from allocFramed and its headroom is still unclaimed; else null (copy the segment instead). The
 * headroom is claimed: its bytes are the caller's, and a second call for the same segment gets null.
 */
export function framed(seg: Uint8Array, front: number): Uint8Array | null {
  if (seg !== unframed || front > HEADROOM) return null;
  unframed = null;
  return new Uint8Array(seg.buffer, seg.byteOffset - front, front + seg.length);
}

/**
 * src[from..to) to keep: src itself or a view when the caller owns the bytes and they cover at least half of
 * their ArrayBuffer (a kept view never pins much more memory than it counts), else a copy.
 */
export function keepBytes(src: Uint8Array, from: number, to: number, owned: boolean): Uint8Array {
  if (!owned || 2 * (to - from) < src.buffer.byteLength) return copyBytes(src, from, to);
  return from === 0 && to === src.length ? src : src.subarray(from, to);
}

/** A copy of src[from..to) in fresh bytes. */
export function copyBytes(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  const b = n > CARVE_MAX ? new Uint8Array(n) : dataSlabs.carve(n, 0);
  b.set(src.subarray(from, to));
  return b;
}

export function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

export function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Writes the fixed 20-byte header (checksum zero) at b[0]. */
export function writeHeader(
  b: Uint8Array,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  headerLength: number,
  flags: number,
  window: number,
): void {
  put16(b, 0, srcPort);
  put16(b, 2, dstPort);
  put32(b, 4, seq);
  put32(b, 8, ack);
  b[12] = (headerLength >>> 2) << 4;
  b[13] = flags;
  put16(b, 14, window);
  b[16] = 0;
  b[17] = 0;
  b[18] = 0;
  b[19] = 0;
}

/** NOP, NOP, timestamp (12 bytes, Linux's aligned layout). Returns the next offset. */
export function writeTimestamp(b: Uint8Array, i: number, tsval: number, tsecr: number): number {
  b[i] = 1;
  b[i + 1] = 1;
  b[i + 2] = 8;
  b[i + 3] = 10;
  put32(b, i + 4, tsval);
  put32(b, i + 8, tsecr);
  return i + 12;
}
