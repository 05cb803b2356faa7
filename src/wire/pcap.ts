/**
 * Capture files: reading classic pcap and pcapng (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng), and
 * writing classic pcap with microsecond timestamps, into memory or streamed to a sink the driver owns.
 */
import { DecodeError } from './errors.ts';
import { LinkType } from './link.ts';

export interface CaptureRecord {
  /** 1-based position in the file, as tshark numbers frames. */
  frame: number;
  /** Capture time in microseconds since the epoch (truncated from finer resolutions). */
  timeUs: number;
  linkType: number;
  /** The captured bytes: a view into the input buffer. */
  data: Uint8Array;
  /** The length of the packet on the wire (more than data.length when the snap length cut it). */
  originalLength: number;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  records: CaptureRecord[];
  /** True when the file ends inside a record, which is left out. */
  truncated: boolean;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002;
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

const u32be = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const u32le = (b: Uint8Array, i: number): number =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const u16be = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8);

/** Reads a classic pcap or pcapng capture. Never throws on bad bytes: returns a DecodeError instead. */
export function readCapture(buf: Uint8Array): Capture | DecodeError {
  if (buf.length < 4)
    return new DecodeError('pcap.truncated', `${buf.length} bytes is too short for a capture`);
  if (u32be(buf, 0) === BLOCK_SHB) return readPcapng(buf);
  return readPcap(buf);
}

function readPcap(buf: Uint8Array): Capture | DecodeError {
  const magicBe = u32be(buf, 0);
  const magicLe = u32le(buf, 0);
  const le = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
  const magic = le ? magicLe : magicBe;
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
    return new DecodeError('pcap.magic', `not a pcap or pcapng file (magic 0x${magicBe.toString(16)})`);
  }
  if (buf.length < PCAP_HEADER) {
    return new DecodeError(
      'pcap.truncated',
      `pcap header needs ${PCAP_HEADER} bytes, file has ${buf.length}`,
    );
  }
  const r16 = le ? u16le : u16be;
  const r32 = le ? u32le : u32be;
  const major = r16(buf, 4);
  if (major !== 2) return new DecodeError('pcap.version', `pcap version ${major}.${r16(buf, 6)} is not 2.x`);
  // The low 16 bits are the link type; the upper bits may carry FCS information.
  const linkType = r32(buf, 20) & 0xffff;
  const subsecondDivisor = magic === PCAP_MAGIC_NS ? 1000 : 1;

  const records: CaptureRecord[] = [];
  let at = PCAP_HEADER;
  let truncated = false;
  while (at < buf.length) {
    if (buf.length - at < PCAP_RECORD_HEADER) {
      truncated = true;
      break;
    }
    const seconds = r32(buf, at);
    const fraction = r32(buf, at + 4);
    const capturedLength = r32(buf, at + 8);
    const originalLength = r32(buf, at + 12);
    const start = at + PCAP_RECORD_HEADER;
    if (capturedLength > buf.length - start) {
      truncated = true;
      break;
    }
    records.push({
      frame: records.length + 1,
      timeUs: seconds * 1_000_000 + Math.floor(fraction / subsecondDivisor),
      linkType,
      data: buf.subarray(start, start + capturedLength),
      originalLength,
    });
    at = start + capturedLength;
  }
  return { format: 'pcap', records, truncated };
}

/** Per-interface state in a pcapng section: link type and how to turn timestamp units into microseconds. */
interface Interface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second (if_tsresol; default 10^6). */
  unitsPerSecond: bigint;
  /** if_tsoffset in seconds. */
  offsetSeconds: number;
}

function readPcapng(buf: Uint8Array): Capture | DecodeError {
  const records: CaptureRecord[] = [];
  let interfaces: Interface[] = [];
  let le = false;
  let r16 = u16be;
  let r32 = u32be;
  let at = 0;
  let truncated = false;
  let first = true;

  while (at < buf.length) {
    const left = buf.length - at;
    if (left < 12) {
      if (first) return new DecodeError('pcap.truncated', `pcapng section header cut short at ${left} bytes`);
      truncated = true;
      break;
    }
    // The section header's type reads the same in both byte orders.
    const type = r32(buf, at);
    if (type === BLOCK_SHB) {
      // A section header sets the byte order for everything up to the next one.
      const bom = u32be(buf, at + 8);
      if (bom === BYTE_ORDER_MAGIC) le = false;
      else if (u32le(buf, at + 8) === BYTE_ORDER_MAGIC) le = true;
      else return new DecodeError('pcapng.byte-order', `no byte-order magic in the section header at ${at}`);
      r16 = le ? u16le : u16be;
      r32 = le ? u32le : u32be;
      interfaces = [];
    }
    const length = r32(buf, at + 4);
    if (length < 12 || length % 4 !== 0) {
      return new DecodeError('pcapng.block-length', `block at ${at} has invalid length ${length}`);
    }
    if (length > left) {
      if (first) return new DecodeError('pcap.truncated', `pcapng section header needs ${length} bytes`);
      truncated = true;
      break;
    }
    if (r32(buf, at + length - 4) !== length) {
      return new DecodeError('pcapng.block-length', `block at ${at}: trailing length differs from ${length}`);
    }
    const body = at + 8;
    const bodyEnd = at + length - 4;

    if (type === BLOCK_SHB) {
      if (bodyEnd - body < 16) return new DecodeError('pcapng.shb', `section header at ${at} is too short`);
      const major = r16(buf, body + 4);
      if (major !== 1) return new DecodeError('pcapng.version', `pcapng version ${major} is not 1`);
    } else if (type === BLOCK_IDB) {
      const iface = readInterface(buf, body, bodyEnd, le);
      if (iface instanceof DecodeError) return iface;
      interfaces.push(iface);
    } else if (type === BLOCK_EPB || type === BLOCK_PB) {
      // EPB: interface (4), time (8), captured, original; the obsolete PB: interface (2), drops (2), same.
      if (bodyEnd - body < 20) return new DecodeError('pcapng.packet', `packet block at ${at} is too short`);
      const ifIndex = type === BLOCK_EPB ? r32(buf, body) : r16(buf, body);
      const iface = interfaces[ifIndex];
      if (!iface) {
        return new DecodeError('pcapng.interface', `packet block at ${at}: no interface ${ifIndex}`);
      }
      const capturedLength = r32(buf, body + 12);
      const start = body + 20;
      if (capturedLength > bodyEnd - start) {
        return new DecodeError('pcapng.packet', `packet block at ${at}: ${capturedLength} bytes do not fit`);
      }
      records.push({
        frame: records.length + 1,
        timeUs: timestampUs(iface, r32(buf, body + 4), r32(buf, body + 8)),
        linkType: iface.linkType,
        data: buf.subarray(start, start + capturedLength),
        originalLength: r32(buf, body + 16),
      });
    } else if (type === BLOCK_SPB) {
      const iface = interfaces[0];
      if (!iface) {
        return new DecodeError('pcapng.interface', `simple packet block at ${at} before any interface`);
      }
      if (bodyEnd - body < 4) {
        return new DecodeError('pcapng.packet', `simple packet block at ${at} is too short`);
      }
      const originalLength = r32(buf, body);
      const start = body + 4;
      // The captured length is implied: the original length, cut by the snap length and the block.
      let capturedLength = Math.min(originalLength, bodyEnd - start);
      if (iface.snapLength > 0) capturedLength = Math.min(capturedLength, iface.snapLength);
      records.push({
        frame: records.length + 1,
        // A simple packet block carries no timestamp; Wireshark shows it at time 0 as well.
        timeUs: 0,
        linkType: iface.linkType,
        data: buf.subarray(start, start + capturedLength),
        originalLength,
      });
    }
    at += length;
    first = false;
  }
  return { format: 'pcapng', records, truncated };
}

function readInterface(buf: Uint8Array, body: number, bodyEnd: number, le: boolean): Interface | DecodeError {
  const r16 = le ? u16le : u16be;
  const r32 = le ? u32le : u32be;
  if (bodyEnd - body < 8) return new DecodeError('pcapng.idb', `interface block at ${body - 8} is too short`);
  const iface: Interface = {
    linkType: r16(buf, body),
    snapLength: r32(buf, body + 4),
    unitsPerSecond: 1_000_000n,
    offsetSeconds: 0,
  };
  let at = body + 8;
  while (at + 4 <= bodyEnd) {
    const code = r16(buf, at);
    const length = r16(buf, at + 2);
    const value = at + 4;
    if (code === OPT_ENDOFOPT) break;
    if (length > bodyEnd - value) {
      return new DecodeError('pcapng.option', `interface option ${code} overruns its block`);
    }
    if (code === OPT_IF_TSRESOL && length >= 1) {
      const v = buf[value]!;
      // High bit set: a power of two; otherwise a power of ten.
      iface.unitsPerSecond = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    } else if (code === OPT_IF_TSOFFSET && length >= 8) {
      const hi = r32(buf, le ? value + 4 : value);
      const lo = r32(buf, le ? value : value + 4);
      iface.offsetSeconds = Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
    }
    at = value + ((length + 3) & ~3);
  }
  return iface;
}

function timestampUs(iface: Interface, high: number, low: number): number {
  const offsetUs = iface.offsetSeconds * 1_000_000;
  if (iface.unitsPerSecond === 1_000_000n) return high * 4294967296 + low + offsetUs;
  // Finer units (nanoseconds since the epoch exceed 2^53) need exact arithmetic.
  const units = (BigInt(high) << 32n) | BigInt(low);
  return Number((units * 1_000_000n) / iface.unitsPerSecond) + offsetUs;
}

/** Misuse of PcapWriter: a bad time, snap length or option, or toBytes() on a streaming writer. */
export class PcapWriterError extends Error {
  override name = 'PcapWriterError';
}

export interface PcapWriterOptions {
  /**
   * Receives the file header at construction, then each record as it is added; the writer then keeps
   * nothing and toBytes() is unavailable. The chunks are fresh copies the sink may keep.
   */
  sink?: (chunk: Uint8Array) => void;
  /** Without a sink: the most bytes kept in memory (header included); later records are dropped. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const MAX_SECONDS = 0xffffffff;

/** Writes a classic pcap capture (version 2.4, microsecond timestamps, host-independent little-endian). */
export class PcapWriter {
  private readonly sink: ((chunk: Uint8Array) => void) | undefined;
  private readonly maxBytes: number;
  private buf: Uint8Array;
  private length = 0;
  private written = 0;
  private droppedRecords = 0;

  constructor(
    readonly linkType: number = LinkType.RAW,
    readonly snapLen = 262144,
    options: PcapWriterOptions = {},
  ) {
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new PcapWriterError(`link type must be 0..65535 (see LinkType); got ${linkType}`);
    }
    if (!Number.isInteger(snapLen) || snapLen < 1 || snapLen > 0x7fffffff) {
      throw new PcapWriterError(`snapLen must be a positive integer; got ${snapLen}`);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < PCAP_HEADER) {
      throw new PcapWriterError(`maxBytes must be an integer of at least ${PCAP_HEADER}; got ${maxBytes}`);
    }
    this.sink = options.sink;
    this.maxBytes = maxBytes;
    const header = new Uint8Array(PCAP_HEADER);
    put32le(header, 0, PCAP_MAGIC_US);
    header[4] = 2; // version 2.4
    header[6] = 4;
    put32le(header, 16, snapLen);
    put32le(header, 20, linkType);
    if (this.sink) {
      this.buf = new Uint8Array(0);
      this.sink(header);
    } else {
      this.buf = new Uint8Array(Math.min(maxBytes, 64 * 1024));
      this.buf.set(header);
      this.length = PCAP_HEADER;
    }
  }

  /** Records written so far (streamed or kept), not counting dropped ones. */
  get count(): number {
    return this.written;
  }

  /** Records refused because maxBytes was reached. */
  get dropped(): number {
    return this.droppedRecords;
  }

  /** Appends one packet captured at `timeUs` (integer microseconds since the epoch or since the run began). */
  add(timeUs: number, packet: Uint8Array): void {
    if (!Number.isInteger(timeUs) || timeUs < 0 || timeUs / 1_000_000 > MAX_SECONDS) {
      throw new PcapWriterError(`timeUs must be a non-negative integer below 2^32 seconds; got ${timeUs}`);
    }
    const captured = Math.min(packet.length, this.snapLen);
    const size = PCAP_RECORD_HEADER + captured;
    let out: Uint8Array;
    let at: number;
    if (this.sink) {
      out = new Uint8Array(size);
      at = 0;
    } else {
      if (this.length + size > this.maxBytes) {
        this.droppedRecords++;
        return;
      }
      this.reserve(size);
      out = this.buf;
      at = this.length;
      this.length += size;
    }
    const seconds = Math.floor(timeUs / 1_000_000);
    put32le(out, at, seconds);
    put32le(out, at + 4, timeUs - seconds * 1_000_000);
    put32le(out, at + 8, captured);
    put32le(out, at + 12, packet.length);
    out.set(packet.subarray(0, captured), at + PCAP_RECORD_HEADER);
    this.written++;
    if (this.sink) this.sink(out);
  }

  /** The whole capture so far, as a copy. Not available when streaming to a sink. */
  toBytes(): Uint8Array {
    if (this.sink) throw new PcapWriterError('this PcapWriter streams to its sink and keeps no bytes');
    return this.buf.slice(0, this.length);
  }

  private reserve(size: number): void {
    if (this.length + size <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < this.length + size) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, this.maxBytes));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
}

function put32le(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}
