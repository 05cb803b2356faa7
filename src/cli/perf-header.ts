/**
 * The 24-byte request a `mptcp-ts client` sends first, so the server knows the direction and the length of
 * the test. A peer that sends the pattern straight away (../shared/testbed/mptcp-bulk.py) is also accepted:
 * its first bytes are 0, 1, 2, ... and never the magic.
 *
 *   0..7    "mptcpts1"
 *   8       flags: bit 0 = reverse (the server sends)
 *   9..11   zero
 *   12..15  test time in ms (reverse, 0 when bytes are given)
 *   16..23  test length in bytes (reverse, 0 when a time is given)
 */

export const HEADER_LENGTH = 24;
const MAGIC = Buffer.from('mptcpts1', 'latin1');

export interface PerfRequest {
  reverse: boolean;
  timeMs: number;
  bytes: number;
}

export function encodeRequest(r: PerfRequest): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(b, 0);
  b[8] = r.reverse ? 1 : 0;
  b.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(r.timeMs))), 12);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(r.bytes))), 16);
  return b;
}

/** The request in the first bytes of a stream, null when they are not one (a plain pattern sender). */
export function decodeRequest(b: Uint8Array): PerfRequest | null {
  if (b.length < HEADER_LENGTH || !MAGIC.equals(b.subarray(0, 8))) return null;
  const v = Buffer.from(b.buffer, b.byteOffset, HEADER_LENGTH);
  return { reverse: (v[8]! & 1) === 1, timeMs: v.readUInt32BE(12), bytes: Number(v.readBigUInt64BE(16)) };
}

/** Whether `b` (fewer than HEADER_LENGTH bytes so far) may still become a request. */
export function mayBeRequest(b: Uint8Array): boolean {
  const n = Math.min(b.length, 8);
  return MAGIC.subarray(0, n).equals(b.subarray(0, n));
}
