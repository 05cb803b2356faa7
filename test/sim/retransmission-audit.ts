/**
 * Ground truth for retransmissions, from the simulator rather than from the TCP engine: a capture sink that
 * sees every IPv4 data segment a host sends and every one that reaches its destination, and afterwards
 * tells, for each retransmitted segment, whether the bytes it carried had already been sent in a packet the
 * network delivered (a spurious retransmission) or not (a needed one).
 */
import type { PacketSink } from '../../src/sim/network.ts';

interface Transmission {
  /** Stream offsets (from the ISN + 1 of the sending direction) of the payload. */
  start: number;
  end: number;
  retransmission: boolean;
  arrived: boolean;
}

interface Direction {
  /** Sequence number of the byte at offset 0, set from the SYN. */
  base: number;
  /** Highest payload offset sent so far (the next new byte). */
  sndMax: number;
  sent: Transmission[];
}

export interface RetransmissionReport {
  /** Data segments sent, first transmissions and retransmissions. */
  segments: number;
  retransmissions: number;
  /** Payload bytes of the retransmissions. */
  retransmittedBytes: number;
  /** Retransmissions whose every byte had already been sent in a packet that arrived. */
  spurious: number;
  /** First transmissions and retransmissions the network dropped. */
  dropped: number;
}

const seq32 = (p: Uint8Array, i: number): number =>
  ((p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!) >>> 0;

export class RetransmissionAudit implements PacketSink {
  private readonly directions = new Map<string, Direction>();
  private readonly byPacket = new Map<Uint8Array, Transmission>();

  add(_time: number, p: Uint8Array): void {
    if (p[0]! >>> 4 !== 4) return;
    const ihl = (p[0]! & 0x0f) * 4;
    const total = (p[2]! << 8) | p[3]!;
    const key = `${p[12]}.${p[13]}.${p[14]}.${p[15]}:${(p[ihl]! << 8) | p[ihl + 1]!}>${p[16]}.${p[17]}.${p[18]}.${p[19]}:${(p[ihl + 2]! << 8) | p[ihl + 3]!}`;
    const seq = seq32(p, ihl + 4);
    const flags = p[ihl + 13]!;
    if (flags & 0x02) {
      this.directions.set(key, { base: (seq + 1) >>> 0, sndMax: 0, sent: [] });
      return;
    }
    const d = this.directions.get(key);
    const len = total - ihl - (p[ihl + 12]! >>> 4) * 4;
    if (d === undefined || len <= 0) return;
    // Offsets relative to the highest byte sent: segments never lie 2^31 away from it.
    const start = d.sndMax + ((seq - ((d.base + d.sndMax) >>> 0)) | 0);
    const t: Transmission = { start, end: start + len, retransmission: start < d.sndMax, arrived: false };
    if (t.end > d.sndMax) d.sndMax = t.end;
    d.sent.push(t);
    this.byPacket.set(p, t);
  }

  arrived(_time: number, p: Uint8Array): void {
    const t = this.byPacket.get(p);
    if (t !== undefined) t.arrived = true;
  }

  /** The figures for the direction that sent the most segments (the data direction of a bulk flow). */
  report(): RetransmissionReport {
    let d: Direction | undefined;
    for (const x of this.directions.values()) if (d === undefined || x.sent.length > d.sent.length) d = x;
    const r: RetransmissionReport = {
      segments: 0,
      retransmissions: 0,
      retransmittedBytes: 0,
      spurious: 0,
      dropped: 0,
    };
    if (d === undefined) return r;
    // Offsets delivered so far in sending order: disjoint sorted ranges [a0, b0, a1, b1, ...].
    const got: number[] = [];
    for (const t of d.sent) {
      r.segments++;
      if (!t.arrived) r.dropped++;
      if (t.retransmission) {
        r.retransmissions++;
        r.retransmittedBytes += t.end - t.start;
        if (covered(got, t.start, t.end)) r.spurious++;
      }
      if (t.arrived) insert(got, t.start, t.end);
    }
    return r;
  }
}

/** Whether [a, b) lies inside one range of `set`. */
function covered(set: number[], a: number, b: number): boolean {
  for (let i = 0; i < set.length; i += 2) if (set[i]! <= a && b <= set[i + 1]!) return true;
  return false;
}

/** Adds [a, b) to `set`, merging ranges that touch or overlap. */
function insert(set: number[], a: number, b: number): void {
  let i = 0;
  while (i < set.length && set[i + 1]! < a) i += 2;
  let j = i;
  while (j < set.length && set[j]! <= b) {
    a = Math.min(a, set[j]!);
    b = Math.max(b, set[j + 1]!);
    j += 2;
  }
  set.splice(i, j - i, a, b);
}
