/**
 * The TCP-in-UDP layout of the MPTCP community's `tcp-in-udp` converter, so that a Linux host running it
 * can speak to us. The UDP ports are the TCP ports; the UDP payload is the rest of the TCP header, reordered
 * so the 8-byte UDP header takes the place of the ports and the checksum/urgent-pointer word:
 *
 *   payload 0..3   data offset, flags, window   (TCP header bytes 12..15)
 *   payload 4..7   sequence number              (TCP header bytes 4..7)
 *   payload 8..11  acknowledgment number        (TCP header bytes 8..11)
 *   payload 12..   TCP options, then data      (the data offset still counts a 20-byte base header)
 *
 * UDP's checksum covers the datagram, so the TCP checksum is not carried; URG is never set (there is no
 * urgent pointer to carry).
 */

/** Bytes of TCP header the UDP payload carries before the options (data offset, flags, window, seq, ack). */
export const TIU_HEADER = 12;
/** The TCP header bytes the UDP header replaces (ports, checksum, urgent pointer). */
export const TIU_SAVED = 8;
const URG = 0x20;

/**
 * Turns a TCP segment into its UDP payload in place and returns it (a Buffer view of the same bytes, 8
 * shorter: node:dgram takes a Buffer as it is, where it would wrap any other view once more). The segment
 * must be one the caller owns (the stack hands each polled segment out once).
 */
export function segmentToPayload(seg: Uint8Array): Buffer {
  const b4 = seg[4]!;
  const b5 = seg[5]!;
  const b6 = seg[6]!;
  const b7 = seg[7]!;
  // Payload bytes 0..3 (segment 8..11) take the data offset, flags and window; the ack moves 4 later.
  seg[16] = seg[8]!;
  seg[17] = seg[9]!;
  seg[18] = seg[10]!;
  seg[19] = seg[11]!;
  seg[8] = seg[12]!;
  seg[9] = seg[13]! & ~URG;
  seg[10] = seg[14]!;
  seg[11] = seg[15]!;
  seg[12] = b4;
  seg[13] = b5;
  seg[14] = b6;
  seg[15] = b7;
  return Buffer.from(seg.buffer, seg.byteOffset + TIU_SAVED, seg.length - TIU_SAVED);
}

/** Why a datagram is not a TCP-in-UDP segment, or null when it is one. */
export function payloadProblem(p: Uint8Array): string | null {
  if (p.length < TIU_HEADER) return 'shorter than the 12-byte TCP-in-UDP header';
  const hl = (p[0]! >>> 4) * 4;
  if (hl < 20) return `data offset ${hl / 4} is below 5`;
  if (hl - TIU_SAVED > p.length) return `data offset ${hl / 4} runs past the datagram`;
  if (p[1]! & URG) return 'URG is set (the layout has no urgent pointer)';
  return null;
}

/**
 * Writes the TCP header of a UDP payload that `payloadProblem` accepted into `out` (the 20-byte base header
 * with checksum and urgent pointer 0, then the options) and returns a view of it. Its data is
 * `payloadData(p)`, carried apart so that a receiver keeps the datagram's bytes instead of copying them into a
 * rebuilt segment (SegmentStack.receive). `out` holds at least 60 bytes; the stack keeps no view of a header,
 * so a receiver may reuse one buffer for all.
 */
export function payloadHeader(
  p: Uint8Array,
  srcPort: number,
  dstPort: number,
  out: HeaderBuffer,
): Uint8Array {
  const hl = (p[0]! >>> 4) * 4;
  const h = out.bytes;
  h[0] = srcPort >>> 8;
  h[1] = srcPort;
  h[2] = dstPort >>> 8;
  h[3] = dstPort;
  h[4] = p[4]!;
  h[5] = p[5]!;
  h[6] = p[6]!;
  h[7] = p[7]!;
  h[8] = p[8]!;
  h[9] = p[9]!;
  h[10] = p[10]!;
  h[11] = p[11]!;
  h[12] = p[0]!;
  h[13] = p[1]!;
  h[14] = p[2]!;
  h[15] = p[3]!;
  h[16] = 0;
  h[17] = 0;
  h[18] = 0;
  h[19] = 0;
  h.set(p.subarray(TIU_HEADER, hl - TIU_SAVED), 20);
  return out.views[(hl >>> 2) - 5]!;
}

/** A reusable header buffer with one view per possible header length (20..60 bytes): no allocation per datagram. */
export class HeaderBuffer {
  readonly bytes = new Uint8Array(60);
  readonly views = Array.from({ length: 11 }, (_, i) => this.bytes.subarray(0, 20 + 4 * i));
}

/** The TCP data of a UDP payload that `payloadProblem` accepted (a view of the same bytes). */
export function payloadData(p: Uint8Array): Uint8Array {
  return p.subarray((p[0]! >>> 4) * 4 - TIU_SAVED);
}
