/**
 * A simulated host: owns addresses, drives one SegmentStack (src/stack.ts) in virtual time, and adds and strips
 * the IP framing of its segments.
 */
import type { OutSegment, SegmentStack } from '../stack.ts';
import { allocBytes, framed } from '../tcp/segment.ts';
import type { Instant } from '../util/time.ts';
import { formatIpv6, parseIp } from '../wire/address.ts';
import { finishChecksum, sumBytes } from '../wire/checksum.ts';
import { DecodeError } from '../wire/errors.ts';
import {
  IPV4_HEADER_MIN,
  IPV6_HEADER_LENGTH,
  ipv4Template,
  ipv6Template,
  writeIpv4Header,
  writeIpv6Header,
} from '../wire/ip.ts';
import { IPPROTO_TCP } from '../wire/tcp.ts';
import type { EventId, Simulator } from './events.ts';

/** Misuse of a SimHost (attaching twice). */
export class SimHostError extends Error {
  override name = 'SimHostError';
}

export interface HostStats {
  /** IP packets handed to the network, and received from it. */
  sent: number;
  received: number;
  /** Received packets dropped: bad IP header (version, length or checksum), or no stack attached. */
  badIpHeader: number;
  noStack: number;
  /** Segments the stack sent from an address this host does not own, or too long for one IP packet. */
  badSource: number;
  oversize: number;
  /** Wakeups that stopped polling at the per-wakeup cap (the stack kept returning segments). */
  pollCapHits: number;
  /** Times the timer fired too often at one instant and was pushed 1 µs later (a deadline that never passes). */
  timerStalls: number;
}

/** Sends a framed IP packet into the network. */
export type Transmit = (
  from: SimHost,
  packet: Uint8Array,
  src: string,
  dst: string,
  ipHeaderLength: number,
) => void;

export interface SimHostOptions {
  /** Most segments taken from the stack in one wakeup (default 10 000). */
  pollCap?: number;
}

const DEFAULT_POLL_CAP = 10_000;
/** Timer firings allowed at one instant before the next one is pushed 1 µs later. */
const TIMER_SPIN_CAP = 1000;
const EMPTY = new Uint8Array(0);

export class SimHost {
  readonly stats: HostStats = {
    sent: 0,
    received: 0,
    badIpHeader: 0,
    noStack: 0,
    badSource: 0,
    oversize: 0,
    pollCapHits: 0,
    timerStalls: 0,
  };
  private stack: SegmentStack | null = null;
  private readonly own: Set<string>;
  private readonly addressBytes = new Map<string, Uint8Array | DecodeError>();
  private readonly pollCap: number;
  private ipId = 0;
  private timer: EventId | null = null;
  private timerAt: Instant | null = null;
  private lastTimerFire = -1;
  private spins = 0;
  private busy = false;
  private again = false;
  // The segment receive() is handing to the stack.
  private rxSrc = '';
  private rxDst = '';
  private rxSegment: Uint8Array = EMPTY;
  private rxIntact = false;
  // The addresses of the last segment sent and their bytes (null: not ours or not valid).
  private emitSrc = '';
  private emitDst = '';
  private emitSrcB: Uint8Array | null = null;
  private emitDstB: Uint8Array | null = null;
  // Reused header descriptions: only the per-packet fields change.
  private readonly v4 = ipv4Template(IPPROTO_TCP);
  private readonly v6 = ipv6Template(IPPROTO_TCP);

  constructor(
    private readonly sim: Simulator,
    readonly name: string,
    readonly addresses: string[],
    private readonly transmit: Transmit,
    options: SimHostOptions = {},
  ) {
    this.own = new Set(addresses);
    this.pollCap = options.pollCap ?? DEFAULT_POLL_CAP;
  }

  /** Hands the host its stack; the host polls it at once and from then on drives it. */
  attach(stack: SegmentStack): void {
    if (this.stack)
      throw new SimHostError(`host ${this.name} already has a stack; create another host instead`);
    this.stack = stack;
    this.service(null);
  }

  /** The application gave the stack work: poll it now and reschedule its timer. */
  wake(): void {
    this.service(null);
  }

  /**
   * Called by the network: an IP packet for one of this host's addresses arrived. `intact`: the very bytes
   * a host framed, with valid checksums (no link corrupted or rewrote them), so neither the IP header's nor
   * the TCP checksum is summed again (a NIC's receive checksum offload; corrupted packets are still checked).
   */
  receive(packet: Uint8Array, src: string, dst: string, intact = false): void {
    this.stats.received++;
    const segment = this.stripIp(packet, intact);
    if (segment === null) {
      this.stats.badIpHeader++;
      return;
    }
    const stack = this.stack;
    if (!stack) {
      this.stats.noStack++;
      return;
    }
    // IPv6 has no header checksum: a flipped address bit must reach the stack, whose TCP pseudo-header
    // checksum then fails. IPv4 addresses are covered by the header checksum verified above.
    if (!intact && packet[0]! >>> 4 === 6) {
      if (!sameBytes(packet, 8, this.bytesOf(src))) src = formatIpv6(packet, 8);
      if (!sameBytes(packet, 24, this.bytesOf(dst))) dst = formatIpv6(packet, 24);
    }
    this.rxSrc = src;
    this.rxDst = dst;
    this.rxSegment = segment;
    this.rxIntact = intact;
    this.service(this.receiveNow);
  }

  /** Hands the segment receive() stored to the stack (a bound method: no closure per packet). */
  private readonly receiveNow = (): void => {
    const segment = this.rxSegment;
    this.rxSegment = EMPTY;
    this.stack!.receive(this.sim.now, this.rxSrc, this.rxDst, segment, this.rxIntact);
  };

  /** Called by the network: an interface of this host went down or came up. */
  addressChanged(address: string, up: boolean): void {
    const stack = this.stack;
    if (!stack?.onAddressChange) return;
    this.service(() => stack.onAddressChange!(this.sim.now, address, up));
  }

  /** The TCP segment inside a well-formed IP packet (a view), or null. */
  private stripIp(p: Uint8Array, intact: boolean): Uint8Array | null {
    const version = p.length > 0 ? p[0]! >>> 4 : 0;
    if (version === 4) {
      if (p.length < IPV4_HEADER_MIN) return null;
      const hl = (p[0]! & 0x0f) * 4;
      const total = (p[2]! << 8) | p[3]!;
      if (hl < IPV4_HEADER_MIN || total < hl || total > p.length || p[9] !== IPPROTO_TCP) return null;
      if (!intact && finishChecksum(sumBytes(p, 0, hl)) !== 0) return null;
      return p.subarray(hl, total);
    }
    if (version === 6) {
      if (p.length < IPV6_HEADER_LENGTH || p[6] !== IPPROTO_TCP) return null;
      const end = IPV6_HEADER_LENGTH + ((p[4]! << 8) | p[5]!);
      return end > p.length ? null : p.subarray(IPV6_HEADER_LENGTH, end);
    }
    return null;
  }

  /**
   * Runs `action` against the stack, drains its output into the network and reschedules its timer. A call
   * made while the host is already doing this (the application waking the host from a stack callback) runs
   * its action and makes the outer drain loop poll again.
   */
  private service(action: (() => void) | null): void {
    const stack = this.stack;
    if (!stack) return;
    if (this.busy) {
      action?.();
      this.again = true;
      return;
    }
    this.busy = true;
    let capped = false;
    try {
      action?.();
      do {
        this.again = false;
        for (let n = 0; ; n++) {
          if (n >= this.pollCap) {
            capped = true;
            this.stats.pollCapHits++;
            break;
          }
          const out = stack.poll(this.sim.now);
          if (out === null) break;
          this.emit(out);
        }
      } while (this.again && !capped);
    } finally {
      this.busy = false;
    }
    this.reschedule(stack, capped);
  }

  private reschedule(stack: SegmentStack, capped: boolean): void {
    const now = this.sim.now;
    const deadline = stack.nextDeadline();
    let t = deadline === null ? null : Math.max(Math.ceil(deadline), now);
    // A capped drain, or a timer that keeps firing at one instant, continues 1 µs later: a runaway stack
    // cannot freeze the clock.
    if (capped) t = now + 1;
    else if (t === now && this.lastTimerFire === now && this.spins >= TIMER_SPIN_CAP) {
      this.stats.timerStalls++;
      t = now + 1;
    }
    if (t === this.timerAt) return;
    if (this.timer !== null) this.sim.cancel(this.timer);
    this.timerAt = t;
    this.timer = t === null ? null : this.sim.at(t, this.fire);
  }

  private readonly fire = (): void => {
    const now = this.sim.now;
    this.timer = null;
    this.timerAt = null;
    this.spins = now === this.lastTimerFire ? this.spins + 1 : 0;
    this.lastTimerFire = now;
    const stack = this.stack!;
    this.service(() => {
      const d = stack.nextDeadline();
      if (d !== null && d <= now) stack.onTimer(now);
    });
  };

  private bytesOf(address: string): Uint8Array | DecodeError {
    let b = this.addressBytes.get(address);
    if (b === undefined) {
      b = parseIp(address);
      this.addressBytes.set(address, b);
    }
    return b;
  }

  /** Frames one segment: IPv4 with TTL 64, DF and an incrementing id, or IPv6 with hop limit 64. */
  private emit(out: OutSegment): void {
    if (out.src !== this.emitSrc || out.dst !== this.emitDst) {
      // Segments go out in runs to one peer: check the addresses once per run.
      const sb = this.bytesOf(out.src);
      const db = this.bytesOf(out.dst);
      this.emitSrc = out.src;
      this.emitDst = out.dst;
      const ok =
        this.own.has(out.src) &&
        sb instanceof Uint8Array &&
        db instanceof Uint8Array &&
        sb.length === db.length;
      this.emitSrcB = ok ? sb : null;
      this.emitDstB = ok ? db : null;
    }
    const src = this.emitSrcB;
    const dst = this.emitDstB;
    if (src === null || dst === null) {
      this.stats.badSource++;
      return;
    }
    const seg = out.segment;
    const tos = out.tos ?? 0;
    const v4 = src.length === 4;
    const hl = v4 ? IPV4_HEADER_MIN : IPV6_HEADER_LENGTH;
    if (seg.length > 0xffff - (v4 ? hl : 0)) {
      this.stats.oversize++;
      return;
    }
    // The header goes in the room the engine left in front of the segment, or the segment is copied.
    let packet = framed(seg, hl);
    if (packet === null) {
      packet = allocBytes(hl + seg.length);
      packet.set(seg, hl);
    }
    if (v4) {
      const h = this.v4;
      h.dscp = tos >>> 2;
      h.ecn = tos & 3;
      h.id = this.ipId;
      this.ipId = (this.ipId + 1) & 0xffff;
      h.src = src;
      h.dst = dst;
      writeIpv4Header(h, seg.length, packet, 0);
    } else {
      const h = this.v6;
      h.trafficClass = tos;
      h.src = src;
      h.dst = dst;
      writeIpv6Header(h, seg.length, packet, 0);
    }
    this.stats.sent++;
    this.transmit(this, packet, out.src, out.dst, hl);
  }
}

function sameBytes(p: Uint8Array, at: number, b: Uint8Array | DecodeError): boolean {
  if (b instanceof DecodeError) return false;
  for (let i = 0; i < b.length; i++) if (p[at + i] !== b[i]) return false;
  return true;
}
