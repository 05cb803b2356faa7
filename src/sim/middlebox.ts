/**
 * A middlebox that removes MPTCP options: every kind-30 option of a TCP segment becomes NOPs of the same
 * length, and the TCP checksum is updated incrementally (RFC 1624 eqn. 3). Such boxes are why MPTCP falls back
 * to plain TCP (RFC 8684 §3.7).
 */
import { finishChecksum, sumBytes } from '../wire/checksum.ts';
import { MPTCP_KIND } from '../wire/mptcp-types.ts';
import { IPPROTO_TCP } from '../wire/tcp.ts';

const TCP_OPT_EOL = 0;
const TCP_OPT_NOP = 1;

/** Offset of the TCP segment in an IPv4 or IPv6 packet (no extension headers), or -1 when it is not TCP. */
function tcpOffset(p: Uint8Array): number {
  if (p.length < 1) return -1;
  const version = p[0]! >>> 4;
  if (version === 4 && p.length >= 20) {
    // Only a first fragment (offset 0) starts with the TCP header.
    if (p[9] !== IPPROTO_TCP || ((p[6]! & 0x1f) | p[7]!) !== 0) return -1;
    return (p[0]! & 0x0f) * 4;
  }
  if (version === 6 && p.length >= 40) return p[6] === IPPROTO_TCP ? 40 : -1;
  return -1;
}

/**
 * The packet with its MPTCP options replaced by NOPs (a new buffer), or null when it carries none. Malformed
 * option lists are left as they are from the first bad option on.
 */
export function stripMptcpOptions(packet: Uint8Array): Uint8Array | null {
  const t = tcpOffset(packet);
  if (t < 0 || t + 20 > packet.length) return null;
  const optStart = t + 20;
  const optEnd = t + (packet[t + 12]! >>> 4) * 4;
  if (optEnd <= optStart || optEnd > packet.length) return null;
  let out: Uint8Array | null = null;
  let oldSum = 0;
  for (let i = optStart; i < optEnd; ) {
    const kind = packet[i]!;
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= optEnd) break;
    const len = packet[i + 1]!;
    if (len < 2 || i + len > optEnd) break;
    if (kind === MPTCP_KIND) {
      if (out === null) {
        out = packet.slice();
        // The options area starts at an even offset and spans whole 32-bit words: sum it as 16-bit words.
        oldSum = sumBytes(packet, optStart, optEnd);
      }
      out.fill(TCP_OPT_NOP, i, i + len);
    }
    i += len;
  }
  if (out === null) return null;
  const newSum = sumBytes(out, optStart, optEnd);
  // HC' = ~(~HC + ~m + m'), where m and m' are the old and new sums of the changed words.
  const hc = (out[t + 16]! << 8) | out[t + 17]!;
  // finishChecksum folds and complements, so finishChecksum(oldSum) is ~m.
  const sum = finishChecksum((~hc & 0xffff) + finishChecksum(oldSum) + newSum);
  out[t + 16] = sum >>> 8;
  out[t + 17] = sum;
  return out;
}
