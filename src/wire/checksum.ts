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

/** Checksum of a whole buffer region; 0 means a region that includes its checksum field is intact. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return finishChecksum(sumBytes(buf, start, end));
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
  return finishChecksum(sumBytes(buf, start, end, pseudoHeaderSum(src, dst, proto, end - start)));
}
