/** The Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers of IPv4 (RFC 9293 §3.1) and IPv6 (RFC 8200 §8.1). */

/** One's-complement sum of `buf[start..end)` added to `sum`, not folded. */
export function sumBytes(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  // 16 bits at a time; the accumulator stays below 2^53 for any buffer under 2^37 bytes.
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds a sum into 16 bits and complements it: the value to put in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * The hot path sums 32 bits at a time (RFC 1071 §2(C): one's-complement addition is associative, so wider
 * words folded at the end give the same sum) through a Uint32Array view in host byte order (§2(B): byte
 * order only swaps the final 16 bits): about 4× fewer steps than `sumBytes`, which it falls back to for
 * unaligned regions, big-endian hosts and regions too large for an exact double accumulator.
 */
const MAX_WORD_SUM_BYTES = 1 << 22;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// The word view of the last buffer seen: segments carved from one slab share it.
let lastBuffer: ArrayBufferLike | null = null;
let lastWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * Checksum field value for buf[start..end) plus a pseudo-header sum (un-folded, big-endian words); when
 * the region already holds a correct checksum the result is 0.
 */
export function segmentChecksum(pseudo: number, buf: Uint8Array, start: number, end: number): number {
  const at = buf.byteOffset + start;
  if (!LITTLE_ENDIAN || (at & 3) !== 0 || end - start > MAX_WORD_SUM_BYTES)
    return finishChecksum(sumBytes(buf, start, end, pseudo));
  const n = end - start;
  const words = n >>> 2;
  if (buf.buffer !== lastBuffer) {
    lastBuffer = buf.buffer;
    lastWords = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
  }
  const w = lastWords;
  // Each word is below 2^32 and the region below 4 MiB (2^20 words): the sum stays below 2^53.
  let s = 0;
  let i = at >>> 2;
  const stop = i + words;
  for (; i + 4 <= stop; i += 4) s += w[i]! + w[i + 1]! + w[i + 2]! + w[i + 3]!;
  for (; i < stop; i++) s += w[i]!;
  for (let j = words << 2; j < n; j++) s += buf[start + j]! * 2 ** ((j & 3) * 8);
  // Fold to 16 bits (little-endian word domain), swap to big-endian, add the pseudo-header.
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = ((s & 0xff) << 8) | (s >>> 8);
  return finishChecksum(s + pseudo);
}

/**
 * segmentChecksum of a segment held in two parts, a header and, apart, its data (a driver that sends or
 * receives them separately). The header has an even length, so the two sums add as they are.
 */
export function gatheredChecksum(pseudo: number, head: Uint8Array, data: Uint8Array): number {
  return finishChecksum(sumBytes(data, 0, data.length, sumBytes(head, 0, head.length, pseudo)));
}

/** Checksum of a whole buffer region; 0 means a region that includes its checksum field is intact. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return segmentChecksum(0, buf, start, end);
}

/** Sum of the pseudo-header for an upper-layer packet of `length` bytes and protocol `proto`. */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, proto: number, length: number): number {
  let sum = sumBytes(src, 0, src.length) + sumBytes(dst, 0, dst.length);
  if (src.length === 4) return sum + proto + length;
  // IPv6: 32-bit upper-layer length and 24 zero bits before the next-header byte.
  sum += Math.floor(length / 0x10000) + (length & 0xffff);
  return sum + proto;
}

/** Checksum of a TCP segment or UDP datagram in `buf[start..end)` with its pseudo-header. */
export function transportChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): number {
  return segmentChecksum(pseudoHeaderSum(src, dst, proto, end - start), buf, start, end);
}
