/** The TCP header and its options (RFC 9293 §3.1, RFC 7323, RFC 2018, RFC 8684 kind 30). */
import { transportChecksum } from './checksum.ts';
import { DecodeError } from './errors.ts';
import { decodeMptcpOption, encodeMptcpOption, mptcpOptionLength } from './mptcp-options.ts';
import { MPTCP_KIND, type MptcpOption } from './mptcp-types.ts';

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export const IPPROTO_TCP = 6;
export const TCP_HEADER_MIN = 20;
export const TCP_OPTIONS_MAX = 40;

export interface SackBlock {
  left: number;
  right: number;
}

/** One TCP option in wire order. Options keep their order and padding so re-encoding is byte-exact. */
export type TcpOption =
  /** End of option list; `padding` counts the bytes that follow it (normally zero bytes). */
  | { kind: 'eol'; padding: Uint8Array }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: SackBlock[] }
  | { kind: 'timestamp'; tsval: number; tsecr: number }
  | { kind: 'mptcp'; mptcp: MptcpOption }
  /** An MPTCP option whose content is malformed: kept so the MPTCP layer can react (RFC 8684 §3.3: reset). */
  | { kind: 'mptcpMalformed'; error: DecodeError; data: Uint8Array }
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The 4 bits between data offset and flags (reserved, with NS/AE in the low bit). */
  reserved: number;
  window: number;
  checksum: number;
  urgent: number;
  options: TcpOption[];
}

export interface TcpSegment extends TcpHeader {
  /** Header length in bytes (data offset × 4). */
  headerLength: number;
  /** The payload, a view into the decoded buffer (no copy). */
  payload: Uint8Array;
}

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMP = 8;

const u32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

const EMPTY = new Uint8Array(0);

/** Decodes the options in `buf[start..end)`. */
export function decodeTcpOptions(buf: Uint8Array, start: number, end: number): TcpOption[] | DecodeError {
  const out: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === OPT_EOL) {
      out.push({ kind: 'eol', padding: i + 1 < end ? buf.slice(i + 1, end) : EMPTY });
      return out;
    }
    if (kind === OPT_NOP) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end)
      return new DecodeError(
        'tcp.option.truncated',
        `option kind ${kind} at byte ${i - start} has no length byte`,
      );
    const len = buf[i + 1]!;
    if (len < 2)
      return new DecodeError('tcp.option.length', `option kind ${kind} has length ${len}, below 2`);
    if (i + len > end)
      return new DecodeError(
        'tcp.option.overrun',
        `option kind ${kind} of length ${len} runs past the header by ${i + len - end} bytes`,
      );
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return new DecodeError('tcp.option.mss', `MSS option has length ${len}, expected 4`);
        out.push({ kind: 'mss', mss: (buf[i + 2]! << 8) | buf[i + 3]! });
        break;
      case OPT_WSCALE:
        if (len !== 3)
          return new DecodeError('tcp.option.wscale', `window-scale option has length ${len}, expected 3`);
        out.push({ kind: 'wscale', shift: buf[i + 2]! });
        break;
      case OPT_SACK_PERMITTED:
        if (len !== 2)
          return new DecodeError(
            'tcp.option.sackPermitted',
            `SACK-permitted option has length ${len}, expected 2`,
          );
        out.push({ kind: 'sackPermitted' });
        break;
      case OPT_SACK: {
        if ((len - 2) % 8 !== 0 || len < 10)
          return new DecodeError(
            'tcp.option.sack',
            `SACK option has length ${len}, expected 2 + 8·n with n ≥ 1`,
          );
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + len; j += 8) blocks.push({ left: u32(buf, j), right: u32(buf, j + 4) });
        out.push({ kind: 'sack', blocks });
        break;
      }
      case OPT_TIMESTAMP:
        if (len !== 10)
          return new DecodeError('tcp.option.timestamp', `timestamp option has length ${len}, expected 10`);
        out.push({ kind: 'timestamp', tsval: u32(buf, i + 2), tsecr: u32(buf, i + 6) });
        break;
      case MPTCP_KIND: {
        const m = decodeMptcpOption(buf, i, len);
        if (m instanceof DecodeError)
          out.push({ kind: 'mptcpMalformed', error: m, data: buf.slice(i, i + len) });
        else out.push({ kind: 'mptcp', mptcp: m });
        break;
      }
      default:
        out.push({ kind: 'unknown', type: kind, data: buf.slice(i + 2, i + len) });
    }
    i += len;
  }
  return out;
}

/** Decodes a TCP segment in `buf[start..end)`. The checksum is not verified here (see verifyTcpChecksum). */
export function decodeTcp(buf: Uint8Array, start = 0, end = buf.length): TcpSegment | DecodeError {
  const n = end - start;
  if (start < 0 || end > buf.length || n < TCP_HEADER_MIN)
    return new DecodeError('tcp.truncated', `TCP segment of ${n} bytes is shorter than the 20-byte header`);
  const b12 = buf[start + 12]!;
  const headerLength = (b12 >>> 4) * 4;
  if (headerLength < TCP_HEADER_MIN)
    return new DecodeError('tcp.dataOffset', `data offset ${headerLength / 4} is below the minimum of 5`);
  if (headerLength > n)
    return new DecodeError(
      'tcp.dataOffset',
      `data offset says ${headerLength} header bytes but the segment has ${n}`,
    );
  const options = decodeTcpOptions(buf, start + TCP_HEADER_MIN, start + headerLength);
  if (options instanceof DecodeError) return options;
  return {
    srcPort: (buf[start]! << 8) | buf[start + 1]!,
    dstPort: (buf[start + 2]! << 8) | buf[start + 3]!,
    seq: u32(buf, start + 4),
    ack: u32(buf, start + 8),
    reserved: b12 & 0x0f,
    flags: buf[start + 13]!,
    window: (buf[start + 14]! << 8) | buf[start + 15]!,
    checksum: (buf[start + 16]! << 8) | buf[start + 17]!,
    urgent: (buf[start + 18]! << 8) | buf[start + 19]!,
    options,
    headerLength,
    payload: buf.subarray(start + headerLength, end),
  };
}

function optionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
      return 1 + o.padding.length;
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamp':
      return 10;
    case 'mptcp':
      return mptcpOptionLength(o.mptcp);
    case 'mptcpMalformed':
      return o.data.length;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Length of the options as encoded, before padding to a multiple of 4. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += optionLength(o);
  return n;
}

/** Writes options at `out[offset]`; returns bytes written. */
export function encodeTcpOptions(options: readonly TcpOption[], out: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    switch (o.kind) {
      case 'eol':
        out[i++] = OPT_EOL;
        out.set(o.padding, i);
        i += o.padding.length;
        break;
      case 'nop':
        out[i++] = OPT_NOP;
        break;
      case 'mss':
        out[i] = OPT_MSS;
        out[i + 1] = 4;
        out[i + 2] = o.mss >>> 8;
        out[i + 3] = o.mss;
        i += 4;
        break;
      case 'wscale':
        out[i] = OPT_WSCALE;
        out[i + 1] = 3;
        out[i + 2] = o.shift;
        i += 3;
        break;
      case 'sackPermitted':
        out[i] = OPT_SACK_PERMITTED;
        out[i + 1] = 2;
        i += 2;
        break;
      case 'sack':
        out[i] = OPT_SACK;
        out[i + 1] = 2 + 8 * o.blocks.length;
        i += 2;
        for (const blk of o.blocks) {
          put32(out, i, blk.left);
          put32(out, i + 4, blk.right);
          i += 8;
        }
        break;
      case 'timestamp':
        out[i] = OPT_TIMESTAMP;
        out[i + 1] = 10;
        put32(out, i + 2, o.tsval);
        put32(out, i + 6, o.tsecr);
        i += 10;
        break;
      case 'mptcp':
        i += encodeMptcpOption(o.mptcp, out, i);
        break;
      case 'mptcpMalformed':
        out.set(o.data, i);
        i += o.data.length;
        break;
      case 'unknown':
        out[i] = o.type;
        out[i + 1] = 2 + o.data.length;
        out.set(o.data, i + 2);
        i += 2 + o.data.length;
        break;
    }
  }
  return i - offset;
}

/** Header length for these options: 20 + options padded with zero bytes (EOL) to a multiple of 4. */
export function tcpHeaderLength(options: readonly TcpOption[]): number {
  return TCP_HEADER_MIN + ((tcpOptionsLength(options) + 3) & ~3);
}

/**
 * Encodes a segment into `out` at `offset` (allocating when `out` is omitted) and returns the bytes.
 * With `addresses`, the checksum is computed; otherwise `h.checksum` is written as given.
 */
export function encodeTcp(
  h: TcpHeader,
  payload: Uint8Array = EMPTY,
  addresses?: { src: Uint8Array; dst: Uint8Array },
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  const optLen = tcpOptionsLength(h.options);
  if (optLen > TCP_OPTIONS_MAX)
    throw new RangeError(`TCP options take ${optLen} bytes; at most 40 fit in a header`);
  const hl = TCP_HEADER_MIN + ((optLen + 3) & ~3);
  const total = hl + payload.length;
  const buf = out ?? new Uint8Array(total);
  if (buf.length - offset < total) throw new RangeError(`buffer too small for a ${total}-byte segment`);
  const o = offset;
  buf[o] = h.srcPort >>> 8;
  buf[o + 1] = h.srcPort;
  buf[o + 2] = h.dstPort >>> 8;
  buf[o + 3] = h.dstPort;
  put32(buf, o + 4, h.seq);
  put32(buf, o + 8, h.ack);
  buf[o + 12] = ((hl / 4) << 4) | (h.reserved & 0x0f);
  buf[o + 13] = h.flags;
  buf[o + 14] = h.window >>> 8;
  buf[o + 15] = h.window;
  buf[o + 16] = 0;
  buf[o + 17] = 0;
  buf[o + 18] = h.urgent >>> 8;
  buf[o + 19] = h.urgent;
  const written = encodeTcpOptions(h.options, buf, o + TCP_HEADER_MIN);
  buf.fill(0, o + TCP_HEADER_MIN + written, o + hl);
  buf.set(payload, o + hl);
  const sum = addresses
    ? transportChecksum(addresses.src, addresses.dst, IPPROTO_TCP, buf, o, o + total)
    : h.checksum;
  buf[o + 16] = sum >>> 8;
  buf[o + 17] = sum;
  return out ? buf.subarray(o, o + total) : buf;
}

/** True when the segment in `buf[start..end)` has a valid checksum for these addresses. */
export function verifyTcpChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): boolean {
  return transportChecksum(src, dst, IPPROTO_TCP, buf, start, end) === 0;
}

/** The MPTCP options of a decoded segment, in wire order. */
export function mptcpOptions(seg: TcpHeader): MptcpOption[] {
  const out: MptcpOption[] = [];
  for (const o of seg.options) if (o.kind === 'mptcp') out.push(o.mptcp);
  return out;
}
