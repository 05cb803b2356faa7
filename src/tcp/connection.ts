/**
 * One TCP connection (RFC 9293), sans-I/O: the endpoint feeds it parsed segments and timer calls and polls
 * it for segments to send. Later an MPTCP subflow: see hook.ts for the upper-layer hook.
 *
 * Bookkeeping uses 53-bit stream offsets that never wrap: send offset 0 is the byte after our SYN, receive
 * offset 0 the byte after the peer's SYN; a FIN takes the offset after the last data byte. Sequence numbers
 * appear only at the wire edge (seq.ts).
 */

import type { CcName } from '../cc/index.ts';
import { createCc } from '../cc/index.ts';
import type { CcContext, CongestionControl, SubflowView } from '../cc/types.ts';
import type { OutSegment } from '../stack.ts';
import type { Duration, Instant } from '../util/time.ts';
import { gatheredChecksum, segmentChecksum } from '../wire/checksum.ts';
import {
  decodeTcpOptions,
  encodeTcpOptions,
  TcpFlag,
  type TcpOption,
  tcpOptionsLength,
} from '../wire/tcp.ts';
import type { CcRequest, TcpConfig, TcpInfo, TcpPathState, TcpState } from './config.ts';
import type { TcpCounters } from './counters.ts';
import type { IncomingSegmentInfo, OutgoingSegmentInfo, SegmentKind, SubflowHook } from './hook.ts';
import { SubflowHookError } from './hook.ts';
import { Prr } from './prr.ts';
import { Rack } from './rack.ts';
import { Reassembly } from './reassembly.ts';
import { RttEstimator } from './rtt.ts';
import { FIN, SACKED, Scoreboard } from './scoreboard.ts';
import { allocFramed, keepBytes, type ParsedSegment, put32, writeHeader, writeTimestamp } from './segment.ts';
import { SendBuffer } from './send-buffer.ts';
import { seqDiff, seqLt } from './seq.ts';
import { LossUndo } from './undo.ts';

const { FIN: F_FIN, SYN: F_SYN, RST: F_RST, PSH: F_PSH, ACK: F_ACK } = TcpFlag;
const INF = Number.POSITIVE_INFINITY;
const TS_LEN = 12;
/** Pacing sends up to this far ahead of its schedule: bursts of about a millisecond (a driver's timer step). */
export const PACING_QUANTUM = 1000;
/** How far behind its schedule a paced sender may fall and still catch up: bursts of up to 3 ms at the rate. */
const PACING_CATCH_UP = 2 * PACING_QUANTUM;
const MAX_WSCALE = 14;
/** Linux's TCP_MSS_DEFAULT: the receive-MSS guess before segments arrive. */
const RCV_MSS_DEFAULT = 536;

/** Stands in until the handshake: no window, no reaction. */
const NO_CC: CongestionControl = {
  name: 'none',
  cwnd: 0,
  ssthresh: INF,
  onAck() {},
  onCongestionEvent() {},
  onRecoveryEnd() {},
  onRto() {},
  onUndo() {},
  onIdleRestart() {},
  detach() {},
};

/** What the endpoint provides to its connections. */
export interface ConnectionOwner {
  readonly counters: TcpCounters;
  /** The connection may have something to send: poll it. */
  activate(conn: TcpConnection): void;
  /** The connection reached CLOSED: forget it. */
  closed(conn: TcpConnection): void;
  /** A passively opened connection is established (hand it to the listener). */
  accepted(conn: TcpConnection): void;
  /** A segment built outside the poll order (an RST on abort). */
  queue(seg: OutSegment): void;
  /** RFC 5961 §7: may a challenge ACK be sent now (endpoint-wide budget)? */
  challengeAckAllowed(now: Instant): boolean;
}

/** Thrown on API misuse: writing after end(), or to a closed connection. */
export class TcpStateError extends Error {
  override name = 'TcpStateError';
}

export interface Endpoint4 {
  address: string;
  port: number;
}

export interface ConnectionInit {
  owner: ConnectionOwner;
  config: TcpConfig;
  local: Endpoint4;
  remote: Endpoint4;
  /** Sum of the pseudo-header without the length (checksum.ts pseudoHeaderSum with length 0). */
  pseudoSum: number;
  iss: number;
  tsOffset: number;
  hook: SubflowHook | null;
}

export class TcpConnection implements SubflowView {
  state: TcpState = 'CLOSED';
  readonly local: Endpoint4;
  readonly remote: Endpoint4;
  readonly hook: SubflowHook | null;
  readonly config: TcpConfig;

  onEstablished?: () => void;
  onData?: (bytes: Uint8Array) => void;
  onWritable?: () => void;
  onEnd?: () => void;
  onClose?: (reason: string | null) => void;

  /** @internal endpoint bookkeeping: queued for polling. */
  queued = false;
  /** @internal the listener that spawned this half-open connection (until established or closed). */
  listenerSlot: { halfOpen: number } | null = null;

  private readonly owner: ConnectionOwner;
  private readonly counters: TcpCounters;
  private readonly pseudoSum: number;
  /** Created when the handshake fixes the MSS (Linux's tcp_init_transfer). */
  private cc: CongestionControl = NO_CC;
  private readonly rtt: RttEstimator;
  private readonly ctx: CcContext;
  private closeReason: string | null = null;
  private closedNotified = false;

  // Send side.
  private readonly iss: number;
  private readonly sndBuf: SendBuffer;
  private readonly sb = new Scoreboard();
  private sndUnaOff = 0;
  private sndNxtOff = 0;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndShift = 0;
  private peerMss = 536;
  /** Payload bytes in a full segment without options: min(peer MSS, our MSS). */
  private sndMss = 536;
  private finQueued = false;
  private finOff = -1;
  private finSent = false;
  private writeBlocked = false;
  private noDelay: boolean;
  /** IP TOS / traffic class byte (DSCP << 2 | ECN) of the segments this connection sends. */
  tos = 0;
  private ccName: CcName;
  private ccFactory: ((req: CcRequest) => CongestionControl) | undefined;
  private synPending = false;
  private synAckPending = false;
  private ack3Pending = false;
  private hookOptEstimate = 0;

  // Negotiated options.
  private tsOk = false;
  private sackOk = false;
  private wsOk = false;
  private readonly tsOffset: number;
  private tsRecent = 0;

  // Receive side.
  private irs = 0;
  private rcvNxtOff = 0;
  private finRcvd = false;
  private peerFinOff = -1;
  private rcvShift = 0;
  private advEdgeOff = 0;
  private rcvBuf: number;
  private rcvQueue: Uint8Array[] = [];
  private rcvQueued = 0;
  private paused = false;
  private readonly reasm: Reassembly;
  private rcvMss = RCV_MSS_DEFAULT;
  private copiedOff = 0;
  private rcvRtt: Duration = 0;
  private rcvRttMarkOff = -1;
  private rcvRttMarkAt = 0;
  private rcvqSpace: number;
  private rcvqOff = 0;
  private rcvqAt = 0;
  private readonly sackOut = new Float64Array(8);

  // ACK generation.
  private ackNow = false;
  private pureAckPending = false;
  private unackedBytes = 0;
  private quickAcks: number;
  private lastInvalidAckAt = -INF;
  private probePending = false;

  // Timers (INF = not armed).
  private rtoAt = INF;
  private delackAt = INF;
  private persistAt = INF;
  private timeWaitAt = INF;
  private backoff = 0;
  private timeouts = 0;
  private persistBackoff = 0;
  private persistForce = false;
  private synTries = 0;
  private keepAlive: boolean;
  private keepAliveIdle: Duration;
  private kaProbes = 0;
  private lastRecvAt = 0;
  private lastProbeAt = 0;

  // Loss recovery.
  private caState: 'open' | 'recovery' | 'loss' = 'open';
  private recoveryPoint = 0;
  private dupAcks = 0;
  private renoSacked = 0;
  private frtoStage = 0;
  private frtoBudget = 0;
  /** Proof that the current loss episode's response was unnecessary (config.undo). */
  private readonly undo = new LossUndo();
  private readonly rack = new Rack();
  /** The fast-recovery window (config.prr). */
  private readonly prr = new Prr();
  /** RACK-TLP (RFC 8985): on when configured and SACK was negotiated (the scoreboard keeps the flag). */
  private get rackOn(): boolean {
    return this.sb.rack;
  }
  /** The tail loss probe is being sent: new data may exceed cwnd and skips Nagle (Linux's push_one = 2). */
  private tlpForce = false;

  // Rate, usage and statistics.
  private delivered = 0;
  private rateStartAt = 0;
  private rateStartDelivered = 0;
  private deliveryRate = 0;
  private cwndLimitedNow = false;
  private cwndLimitedPrev = false;
  private maxPipeNow = 0;
  private maxPipePrev = 0;
  private roundEndOff = 0;
  private lastSendAt = -1;
  /** The restart window was applied for the idle period that ends with the next send. */
  private idleRestarted = false;
  /** The ACK being processed carried a D-SACK block (RFC 2883). */
  private ackDsack = false;
  /** Pacing: when the next data segment is due, and whether one is waiting for that. */
  private paceAt = 0;
  private paceWait = false;
  private bytesSent = 0;
  private bytesRetrans = 0;
  private bytesReceived = 0;
  private segsOut = 0;
  private segsIn = 0;
  private dataSegsOut = 0;
  private dataSegsIn = 0;
  private totalRetrans = 0;
  private lastDataSent = -1;
  private lastDataRecv = -1;

  // Reused objects for the hook (no allocation per segment).
  private readonly outInfo: OutgoingSegmentInfo = {
    kind: 'data',
    flags: 0,
    seq: 0,
    ssn: 0,
    len: 0,
    retransmission: false,
  };
  private readonly inInfo: IncomingSegmentInfo = { flags: 0, seq: 0, ack: 0, len: 0, ssn: 0, window: 0 };

  // Layout of the segment being built (set by layout()).
  private lyHook: readonly TcpOption[] | null = null;
  private lyHookLen = 0;
  private lySack = 0;

  constructor(init: ConnectionInit) {
    this.owner = init.owner;
    this.counters = init.owner.counters;
    this.config = init.config;
    this.local = init.local;
    this.remote = init.remote;
    this.pseudoSum = init.pseudoSum;
    this.iss = init.iss;
    this.tsOffset = init.tsOffset;
    this.hook = init.hook;
    const c = init.config;
    this.sndBuf = new SendBuffer(c.sndBuf);
    this.rcvBuf = c.rcvBuf;
    this.reasm = new Reassembly(c.rcvBuf);
    this.rtt = new RttEstimator(c.initialRto, c.minRto, c.maxRto);
    this.noDelay = !c.nagle;
    this.ccName = c.cc;
    this.ccFactory = c.ccFactory;
    this.quickAcks = c.quickAcks;
    this.keepAlive = c.keepAlive;
    this.keepAliveIdle = c.keepAliveIdle;
    this.rcvqSpace = Math.min(c.rcvBuf, 10 * c.mss);
    // Our window scale covers the largest buffer auto-tuning may reach (RFC 7323 §2.3).
    let shift = 0;
    const top = c.autotune ? c.rcvBufMax : c.rcvBuf;
    while (shift < MAX_WSCALE && 65535 * 2 ** shift < top) shift++;
    this.rcvShift = c.windowScale ? shift : 0;
    this.ctx = { mss: 536, bytesInFlight: 0, srtt: 0, minRtt: 0, appLimited: false };
  }

  // ---------------------------------------------------------------- application API

  /** Queues bytes for sending; returns how many fitted in the send buffer (0 when full). */
  write(data: Uint8Array): number {
    if (this.finQueued) throw new TcpStateError('write() after end(): the send side is closed');
    if (
      this.isClosed() ||
      this.state === 'TIME_WAIT' ||
      this.state === 'CLOSING' ||
      this.state === 'LAST_ACK'
    )
      throw new TcpStateError(`write() on a connection in state ${this.state}: open a new connection`);
    const n = this.sndBuf.write(data);
    if (n < data.length) this.writeBlocked = true;
    if (n > 0) this.owner.activate(this);
    return n;
  }

  /** Sends FIN after the queued data (half-close: receiving continues until the peer's FIN). */
  end(): void {
    if (this.finQueued || this.isClosed()) return;
    switch (this.state) {
      case 'SYN_SENT':
        this.enterClosed('aborted');
        return;
      case 'SYN_RECEIVED':
        // Becomes FIN_WAIT_1 when the handshake completes.
        break;
      case 'ESTABLISHED':
        this.setState('FIN_WAIT_1');
        break;
      case 'CLOSE_WAIT':
        this.setState('LAST_ACK');
        break;
      default:
        return;
    }
    this.finQueued = true;
    this.finOff = this.sndBuf.end;
    this.owner.activate(this);
  }

  /** Resets the connection now (RST to the peer in synchronized states). */
  abort(): void {
    const s = this.state;
    if (s === 'CLOSED') return;
    if (
      s === 'SYN_RECEIVED' ||
      s === 'ESTABLISHED' ||
      s === 'FIN_WAIT_1' ||
      s === 'FIN_WAIT_2' ||
      s === 'CLOSE_WAIT'
    ) {
      if (s === 'ESTABLISHED' || s === 'CLOSE_WAIT') this.counters.EstabResets++;
      this.sendRstNow();
    }
    this.enterClosed('aborted');
  }

  /**
   * Replaces the congestion controller (like setsockopt TCP_CONGESTION). Once the handshake is done, the new
   * controller starts from the current window rather than the initial one, so the switch does not stall the flow.
   */
  setCongestionControl(now: Instant, name: CcName, factory?: (req: CcRequest) => CongestionControl): void {
    this.ccName = name;
    this.ccFactory = factory;
    if (this.cc === NO_CC) return;
    const mss = this.effMss();
    const initialCwnd = Math.max(2, Math.floor(this.cc.cwnd / mss));
    this.cc.detach();
    this.cc = factory
      ? factory({ name, mss, initialCwnd, now, view: this, hystart: this.config.hystart })
      : createCc(name, { mss, initialCwnd, now, hystart: this.config.hystart });
  }

  /** The name of the congestion controller in use (or to be used once established). */
  get congestionControl(): CcName {
    return this.ccName;
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
    if (on) this.owner.activate(this);
  }

  setKeepAlive(on: boolean, idle?: Duration): void {
    this.keepAlive = on;
    if (idle !== undefined) this.keepAliveIdle = idle;
    this.kaProbes = 0;
  }

  /** Stops onData delivery: bytes stay in the receive buffer and the offered window shrinks. */
  pause(): void {
    this.paused = true;
  }

  /** Resumes onData delivery, handing over what was buffered. */
  resume(): void {
    this.paused = false;
    while (!this.paused && this.rcvQueue.length > 0 && this.onData) {
      const b = this.rcvQueue.shift()!;
      this.rcvQueued -= b.length;
      this.copiedOff += b.length;
      this.onData(b);
    }
    this.afterRead();
  }

  /** Takes up to `max` buffered bytes (for paused readers), or null when none are buffered. */
  read(max = INF): Uint8Array | null {
    const b = this.rcvQueue[0];
    if (b === undefined) return null;
    let out: Uint8Array;
    if (b.length <= max) {
      this.rcvQueue.shift();
      out = b;
    } else {
      out = b.subarray(0, max);
      this.rcvQueue[0] = b.subarray(max);
    }
    this.rcvQueued -= out.length;
    this.copiedOff += out.length;
    this.afterRead();
    return out;
  }

  /** Bytes waiting in the receive buffer (paused reader). */
  get readableLength(): number {
    return this.rcvQueued;
  }

  /** Bytes that write() would accept now. */
  get writableLength(): number {
    return this.finQueued ? 0 : this.sndBuf.space;
  }

  /** Sends a pure ACK at the next poll (the hook uses it for DATA_ACK, MP_PRIO, ADD_ADDR). */
  requestAck(): void {
    if (this.isClosed()) return;
    this.ackNow = true;
    this.owner.activate(this);
  }

  /**
   * Sends a pure ACK at the next poll even when data is waiting to go: MPTCP's signals (ADD_ADDR,
   * REMOVE_ADDR, MP_PRIO) do not fit beside a data mapping and would otherwise wait for a pause in the data.
   */
  requestPureAck(): void {
    if (this.isClosed()) return;
    this.pureAckPending = true;
    this.owner.activate(this);
  }

  /** Polls this connection again: the hook has new data to be pulled. */
  wake(): void {
    if (!this.isClosed()) this.owner.activate(this);
  }

  /**
   * Applies the restart window (RFC 5681 §4.1) now if the next data segment would: an upper layer that
   * counts the window before it hands data over (an MPTCP scheduler) must see the window this connection
   * will send with, not the one it had before it fell idle.
   */
  restartIfIdle(now: Instant): void {
    this.idleRestart(now, this.pipe());
  }

  /**
   * The figures a multipath scheduler reads on every decision, written into `out` (info() builds a full
   * snapshot object; this runs per segment and allocates nothing).
   */
  pathState(out: TcpPathState): TcpPathState {
    out.srtt = Math.round(this.rtt.srtt);
    out.rttvar = Math.round(this.rtt.rttvar);
    out.rcvRtt = Math.round(this.rcvRtt);
    out.cwnd = this.sendCwnd();
    out.ssthresh = this.cc.ssthresh;
    out.mss = this.effMss();
    out.inFlight = this.pipe();
    out.lost = this.sb.lostBytes;
    out.loss = this.caState === 'loss';
    out.sndWnd = this.sndWnd;
    out.sndWscale = this.sndShift;
    out.retransmits = this.timeouts;
    out.deliveryRate = Math.round(this.deliveryRate);
    return out;
  }

  /** A tcp_info-like snapshot. */
  info(): TcpInfo {
    const mss = this.effMss();
    const cwnd = this.sendCwnd();
    return {
      state: this.state,
      caState: this.caState,
      srtt: Math.round(this.rtt.srtt),
      rttvar: Math.round(this.rtt.rttvar),
      rto: this.rtt.backedOff(this.backoff),
      minRtt: this.rtt.minRtt,
      rcvRtt: Math.round(this.rcvRtt),
      cwnd,
      cwndSegs: Math.floor(cwnd / mss),
      ssthresh: this.cc.ssthresh,
      mss,
      rcvMss: this.rcvMss,
      peerMss: this.peerMss,
      sndWscale: this.sndShift,
      rcvWscale: this.wsOk ? this.rcvShift : 0,
      sackOk: this.sackOk,
      tsOk: this.tsOk,
      bytesSent: this.bytesSent,
      bytesRetrans: this.bytesRetrans,
      bytesAcked: Math.min(this.sndUnaOff, this.sndBuf.end),
      bytesReceived: this.bytesReceived,
      segsOut: this.segsOut,
      segsIn: this.segsIn,
      dataSegsOut: this.dataSegsOut,
      dataSegsIn: this.dataSegsIn,
      retransmits: this.timeouts,
      totalRetrans: this.totalRetrans,
      lost: this.sb.lostBytes,
      sacked: this.sackOk ? this.sb.sackedBytes : this.renoSacked,
      inFlight: this.pipe(),
      deliveryRate: Math.round(this.deliveryRate),
      appLimited: !this.isCwndLimited(),
      rcvWnd: Math.max(0, this.advEdgeOff - this.rcvNxtOff),
      rcvBuf: this.rcvBuf,
      oooBytes: this.reasm.bytes,
      oooMemory: this.reasm.cost,
      sndWnd: this.sndWnd,
      sndBufUsed: this.sndBuf.length,
      lastDataSent: this.lastDataSent,
      lastDataRecv: this.lastDataRecv,
    };
  }

  // ---------------------------------------------------------------- opening (called by the endpoint)

  /** @internal Active open: SYN_SENT, SYN at the next poll. */
  startConnect(): void {
    this.setState('SYN_SENT');
    this.synPending = true;
    this.counters.ActiveOpens++;
    this.owner.activate(this);
  }

  /** @internal Passive open from a SYN that a listener accepted. */
  startAccept(now: Instant, p: ParsedSegment): void {
    this.counters.PassiveOpens++;
    this.takePeerSyn(now, p);
    this.setState('SYN_RECEIVED');
    this.synAckPending = true;
    this.owner.activate(this);
  }

  /** Learns the peer's ISN and options from its SYN (RFC 7323 §2.2, §3.2; RFC 2018 §2). */
  private takePeerSyn(now: Instant, p: ParsedSegment): void {
    const c = this.config;
    this.irs = p.seq;
    this.rcvNxtOff = 0;
    this.lastRecvAt = now;
    if (p.mss > 0) this.peerMss = p.mss;
    this.sndMss = Math.max(64, Math.min(this.peerMss, c.mss));
    this.sackOk = c.sack && p.sackPermitted;
    this.sb.rack = this.sackOk && c.rackTlp;
    this.tsOk = c.timestamps && p.hasTs;
    if (this.tsOk) this.tsRecent = p.tsval;
    this.wsOk = c.windowScale && p.wscale >= 0;
    if (this.wsOk) this.sndShift = Math.min(MAX_WSCALE, p.wscale);
    else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    const capped = this.wsOk ? this.rcvBuf : Math.min(this.rcvBuf, 65535);
    this.advEdgeOff = Math.min(capped, 65535);
    this.ctx.mss = this.effMss();
    const mss = this.effMss();
    this.cc = this.ccFactory
      ? this.ccFactory({
          name: this.ccName,
          mss,
          initialCwnd: c.initialCwnd,
          now,
          view: this,
          hystart: c.hystart,
        })
      : createCc(this.ccName, { mss, initialCwnd: c.initialCwnd, now, hystart: c.hystart });
  }

  /** Smoothed RTT (µs), for coupled congestion control. */
  get srtt(): Duration {
    return this.rtt.srtt;
  }

  /** Whether the connection can carry data now. */
  get active(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT';
  }

  // ---------------------------------------------------------------- input

  /** @internal A segment for this connection arrived (checksum already verified). */
  input(now: Instant, p: ParsedSegment, buf: Uint8Array): void {
    this.segsIn++;
    this.lastRecvAt = now;
    this.kaProbes = 0;
    switch (this.state) {
      case 'CLOSED':
        this.counters.DropClosed++;
        return;
      case 'SYN_SENT':
        this.inputSynSent(now, p, buf);
        break;
      default:
        this.inputSynchronized(now, p, buf);
    }
    if (!this.isClosed() && (this.ackNow || this.probePending || this.synAckPending || this.ack3Pending))
      this.owner.activate(this);
  }

  /** RFC 9293 §3.10.7.3. */
  private inputSynSent(now: Instant, p: ParsedSegment, buf: Uint8Array): void {
    const f = p.flags;
    const iss1 = (this.iss + 1) >>> 0;
    if (f & F_ACK && p.ack !== iss1) {
      if (!(f & F_RST)) this.owner.queue(this.bareRst(p.ack, 0, false));
      this.counters.DropAckUnsent++;
      return;
    }
    if (f & F_RST) {
      // RFC 5961 §3.2: in SYN-SENT an RST is acceptable only when it acknowledges our SYN.
      if (f & F_ACK) {
        this.counters.AttemptFails++;
        if (this.hook !== null) this.hookSeesReset(p, buf);
        if (!this.isClosed()) this.enterClosed('refused');
      } else this.counters.DropRstInvalid++;
      return;
    }
    if (!(f & F_SYN)) {
      this.counters.DropFlags++;
      return;
    }
    this.takePeerSyn(now, p);
    if (this.hook !== null && !this.hookIncoming(p, buf)) return;
    if (f & F_ACK) {
      this.sndWnd = p.window << this.sndShift;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = p.seq;
      this.sndWl2 = p.ack;
      this.takeSynRtt(now);
      this.setState('ESTABLISHED');
      this.ack3Pending = true;
      this.rtoAt = INF;
      this.backoff = 0;
      this.onEstablished?.();
    } else {
      // Simultaneous open (RFC 9293 §3.5, figure 8).
      this.setState('SYN_RECEIVED');
      this.synAckPending = true;
    }
  }

  private takeSynRtt(now: Instant): void {
    // Karn: only a SYN sent once gives a sample.
    if (this.synTries === 1 && this.lastSendAt >= 0) this.rtt.sample(now - this.lastSendAt);
    this.ctx.srtt = this.rtt.srtt;
    this.ctx.minRtt = this.rtt.minRtt;
  }

  /** RFC 9293 §3.10.7.4 with RFC 5961 and RFC 7323 checks, for every state past SYN_SENT. */
  private inputSynchronized(now: Instant, p: ParsedSegment, buf: Uint8Array): void {
    const f = p.flags;
    const c = this.counters;
    const dlen = p.payloadEnd - p.payloadStart;
    const rcvNxt = this.rcvNxtSeq();
    const d = seqDiff(p.seq, rcvNxt);
    const wnd = Math.max(0, this.advEdgeOff - this.rcvNxtOff);

    // A retransmitted SYN in SYN_RECEIVED gets the SYN/ACK again.
    if (this.state === 'SYN_RECEIVED' && f & F_SYN && !(f & F_ACK) && p.seq === this.irs && !(f & F_RST)) {
      this.synAckPending = true;
      this.owner.activate(this);
      return;
    }
    // Simultaneous open: the peer's SYN/ACK completes our SYN_RECEIVED (as Linux's tcp_validate_incoming).
    if (
      this.state === 'SYN_RECEIVED' &&
      (f & (F_SYN | F_ACK | F_RST)) === (F_SYN | F_ACK) &&
      p.seq === this.irs &&
      p.ack === (this.iss + 1) >>> 0
    ) {
      if (this.hook !== null && !this.hookIncoming(p, buf)) return;
      this.establishFromSynReceived(now, p);
      return;
    }
    // PAWS (RFC 7323 §5.3), without the 24-day idle rule.
    if (this.tsOk && p.hasTs && !(f & F_RST) && seqLt(p.tsval, this.tsRecent)) {
      c.PAWSEstab++;
      this.dupAck(now, dlen, d);
      return;
    }
    // Acceptability as Linux's tcp_sequence: ends at or after RCV.NXT and starts inside the window.
    const segEnd = d + dlen + (f & F_FIN ? 1 : 0);
    const acceptable = segEnd >= 0 && d <= wnd;
    if (!acceptable) {
      c.DropOutOfWindow++;
      if (!(f & F_RST)) {
        if (f & F_SYN) this.challengeAck(now, true);
        else this.dupAck(now, dlen, d);
      }
      return;
    }
    if (f & F_RST) {
      // RFC 5961 §3.2: reset only on an exact match, else a challenge ACK.
      if (d === 0) {
        // The upper layer reads the reset's options first (MPTCP: MP_TCPRST, MP_FAIL, MP_FASTCLOSE).
        if (this.hook !== null) this.hookSeesReset(p, buf);
        if (!this.isClosed()) this.peerReset();
      } else {
        c.DropRstInvalid++;
        this.challengeAck(now, false);
      }
      return;
    }
    if (f & F_SYN) {
      // RFC 5961 §4: a SYN in a synchronized state gets a challenge ACK whatever its sequence number.
      this.challengeAck(now, true);
      return;
    }
    if (!(f & F_ACK)) {
      c.DropFlags++;
      return;
    }
    if (this.hook !== null && !this.hookIncoming(p, buf)) return;
    // Timestamps: TS.Recent follows segments that start at or before RCV.NXT (RFC 7323 §4.3).
    if (this.tsOk && p.hasTs && d <= 0 && !seqLt(p.tsval, this.tsRecent)) this.tsRecent = p.tsval;

    if (this.state === 'SYN_RECEIVED') {
      if (p.ack !== (this.iss + 1) >>> 0) {
        this.owner.queue(this.bareRst(p.ack, 0, false));
        c.DropAckUnsent++;
        return;
      }
      this.establishFromSynReceived(now, p);
      if (this.isClosed()) return;
    }
    if (!this.processAck(now, p, dlen)) return;
    if (this.isClosed()) return;

    if (dlen > 0 || f & F_FIN) this.processData(now, p, d, dlen);
  }

  /** The ACK of our SYN/ACK arrived (RFC 9293 §3.10.7.4, SYN-RECEIVED ACK check). */
  private establishFromSynReceived(now: Instant, p: ParsedSegment): void {
    this.sndWnd = p.window << this.sndShift;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = p.seq;
    this.sndWl2 = p.ack;
    this.takeSynRtt(now);
    this.rtoAt = INF;
    this.backoff = 0;
    this.synAckPending = false;
    this.setState(this.finQueued ? 'FIN_WAIT_1' : 'ESTABLISHED');
    if (this.listenerSlot !== null) {
      this.listenerSlot.halfOpen--;
      this.listenerSlot = null;
      this.owner.accepted(this);
    } else this.onEstablished?.();
    this.owner.activate(this);
  }

  /** Shows an accepted RST to the hook; its answer does not matter, the connection resets either way. */
  private hookSeesReset(p: ParsedSegment, buf: Uint8Array): void {
    const opts = decodeTcpOptions(buf, 20, p.headerLength);
    if (!Array.isArray(opts)) return;
    const info = this.inInfo;
    info.flags = p.flags;
    info.seq = p.seq;
    info.ack = p.ack;
    info.len = 0;
    info.ssn = this.rcvNxtOff + 1;
    info.window = p.window;
    this.hook!.incoming(this, info, opts);
  }

  private hookIncoming(p: ParsedSegment, buf: Uint8Array): boolean {
    const opts = decodeTcpOptions(buf, 20, p.headerLength);
    const info = this.inInfo;
    info.flags = p.flags;
    info.seq = p.seq;
    info.ack = p.ack;
    info.len = p.payloadEnd - p.payloadStart;
    info.ssn = this.rcvNxtOff + seqDiff(p.seq, this.rcvNxtSeq()) + 1;
    info.window = p.window;
    if (!Array.isArray(opts) || !this.hook!.incoming(this, info, opts)) {
      this.counters.DropHookVeto++;
      if (this.state === 'SYN_SENT') this.owner.queue(this.bareRst(p.ack, 0, false));
      else this.sendRstNow();
      this.enterClosed('rejected');
      return false;
    }
    return true;
  }

  /** The peer reset the connection. */
  private peerReset(): void {
    const s = this.state;
    if (s === 'ESTABLISHED' || s === 'CLOSE_WAIT') this.counters.EstabResets++;
    if (s === 'SYN_RECEIVED' && this.listenerSlot !== null) {
      this.enterClosed(null, true);
      return;
    }
    this.enterClosed(s === 'TIME_WAIT' ? null : 'reset', s === 'TIME_WAIT');
  }

  /** ACK for an unacceptable segment, rate-limited for bare ACKs (Linux tcp_oow_rate_limited). */
  private dupAck(now: Instant, dlen: number, d: number): void {
    if (dlen > 0 && d + dlen <= 0 && this.sackOk && this.config.dsack) {
      // An old duplicate: report it with D-SACK (RFC 2883).
      this.reasm.noteDuplicate(this.rcvNxtOff + d, this.rcvNxtOff + d + dlen);
      this.counters.TCPDSACKOldSent++;
    }
    const probeLike = dlen === 0 && d === -1;
    if (dlen === 0 && !probeLike) {
      if (now - this.lastInvalidAckAt < this.config.invalidAckInterval) {
        this.counters.TCPACKSkippedSeq++;
        return;
      }
      this.lastInvalidAckAt = now;
    }
    this.ackNow = true;
  }

  private challengeAck(now: Instant, syn: boolean): void {
    if (syn) this.counters.TCPSYNChallenge++;
    if (!this.owner.challengeAckAllowed(now)) {
      this.counters.TCPACKSkippedChallenge++;
      return;
    }
    this.counters.TCPChallengeACK++;
    this.ackNow = true;
  }

  /** The ACK field and the SACK blocks (RFC 9293 §3.10.7.4 fifth check). False: drop the segment. */
  private processAck(now: Instant, p: ParsedSegment, dlen: number): boolean {
    const c = this.counters;
    const unaSeq = this.seqOf(this.sndUnaOff);
    const ackOff = this.sndUnaOff + seqDiff(p.ack, unaSeq);
    if (ackOff > this.sndNxtOff) {
      c.DropAckUnsent++;
      this.challengeAck(now, false);
      return false;
    }
    if (ackOff < this.sndUnaOff - this.maxSndWnd) {
      // RFC 5961 §5.2.
      c.DropOldAck++;
      this.challengeAck(now, false);
      return false;
    }
    const wndBytes = p.window << this.sndShift;
    const prevUna = this.sndUnaOff;
    const advanced = ackOff > prevUna;
    let sacked = 0;
    // RFC 8985 §6.2 step 2: an ACK within min_RTT of a retransmission may be for the original.
    this.sb.beginAck(now - this.rtt.minRtt);
    this.ackDsack = false;
    if (this.sackOk && p.sackCount > 0) sacked = this.processSack(p, ackOff);
    const isDup =
      !advanced &&
      ackOff === prevUna &&
      this.sb.size > 0 &&
      (this.sackOk ? sacked > 0 : dlen === 0 && !(p.flags & F_FIN) && wndBytes === this.sndWnd);

    // Window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 rule).
    if (seqLt(this.sndWl1, p.seq) || (this.sndWl1 === p.seq && !seqLt(p.ack, this.sndWl2))) {
      const opened = wndBytes > this.sndWnd;
      this.sndWnd = wndBytes;
      this.sndWl1 = p.seq;
      this.sndWl2 = p.ack;
      if (wndBytes > this.maxSndWnd) this.maxSndWnd = wndBytes;
      if (opened) {
        this.persistAt = INF;
        this.persistBackoff = 0;
        this.owner.activate(this);
      }
    }

    let delivered = sacked;
    if (advanced) {
      delivered += this.newAck(now, ackOff);
      if (this.isClosed()) return false;
    } else if (isDup) {
      this.dupAcks++;
      if (!this.sackOk) {
        const cap = Math.max(0, this.sb.outstanding - this.effMss());
        this.renoSacked = Math.min(this.renoSacked + this.effMss(), cap);
      }
      this.owner.activate(this);
    }
    if (this.rackOn) this.rackOnAck(now);
    if (advanced || sacked > 0) this.takeRtt(now, p, advanced);
    if (this.frtoStage > 0) this.frtoOnAck(now, advanced, ackOff);
    if (this.rack.end >= 0) this.tlpOnAck(now, ackOff, advanced || sacked > 0 || dlen > 0);
    if (this.sb.size > 0 || advanced) this.lossLogic(now, advanced, delivered, p.hasTs ? p.tsecr : 0);
    // D-SACKs can come after everything was acknowledged (a spurious retransmission at the end of a write).
    else if (this.ackDsack && this.undo.active) this.tryUndo(now, false, 0);
    if (advanced && this.rackOn) this.armTlp(now);
    this.afterAckStates(now);
    return true;
  }

  /**
   * RTT sample for this ACK (RFC 6298 §3, Karn's rule as Linux applies it): from the oldest cumulatively
   * acknowledged record unless retransmitted data was acknowledged, else from SACKed records, else from the
   * timestamp echo (RFC 7323 §4, which is valid for retransmissions too).
   */
  private takeRtt(now: Instant, p: ParsedSegment, advanced: boolean): void {
    const sb = this.sb;
    let sample = -1;
    if (advanced && sb.ackRttSentAt >= 0 && !sb.ackedRetransmitted) sample = now - sb.ackRttSentAt;
    else if (sb.sackRttSentAt >= 0) sample = now - sb.sackRttSentAt;
    else if (advanced && this.tsOk && p.hasTs && p.tsecr !== 0) {
      const ms = (this.tsNow(now) - p.tsecr) >>> 0;
      if (ms < 60_000) sample = Math.max(1, ms) * 1000;
    }
    sb.sackRttSentAt = -1;
    if (sample < 0) return;
    this.rtt.sample(sample);
    this.backoff = 0;
    this.ctx.rttSample = sample;
    this.ctx.srtt = this.rtt.srtt;
    this.ctx.minRtt = this.rtt.minRtt;
    // RFC 6298 §5.3: only an ACK of new data restarts the timer. SACKs alone must not, or a lost
    // retransmission of the oldest segment is never timed out while later data keeps being SACKed.
    if (advanced && this.sb.size > 0) this.rtoAt = now + this.rtt.rto;
  }

  /** SACK blocks → scoreboard (RFC 2018 §4, D-SACK per RFC 2883 §4). Returns newly SACKed bytes. */
  private processSack(p: ParsedSegment, ackOff: number): number {
    const una = this.sndUnaOff;
    const unaSeq = this.seqOf(una);
    let n = 0;
    for (let i = 0; i < p.sackCount; i++) {
      let l = una + seqDiff(p.sackLeft[i]!, unaSeq);
      const r = una + seqDiff(p.sackRight[i]!, unaSeq);
      if (i === 0) {
        const l2 = p.sackCount > 1 ? una + seqDiff(p.sackLeft[1]!, unaSeq) : 0;
        const r2 = p.sackCount > 1 ? una + seqDiff(p.sackRight[1]!, unaSeq) : 0;
        if (r <= ackOff || (p.sackCount > 1 && l >= l2 && r <= r2)) {
          this.counters.TCPDSACKRecv++;
          this.ackDsack = true;
          this.undo.onDsack(l, r);
          const tlp = this.rack;
          if (tlp.retrans && l < tlp.end && r > tlp.start) tlp.dsacked = true;
          continue;
        }
      }
      if (r <= l || r > this.sndNxtOff || r <= ackOff) {
        this.counters.TCPSACKDiscard++;
        continue;
      }
      if (l < ackOff) l = ackOff;
      n += this.sb.sack(l, r);
    }
    return n;
  }

  /** SND.UNA advances to ackOff. Returns bytes newly delivered by the cumulative ACK. */
  private newAck(now: Instant, ackOff: number): number {
    const sb = this.sb;
    const acked = ackOff - this.sndUnaOff;
    const delivered = sb.ackTo(ackOff);
    this.sndUnaOff = ackOff;
    this.sndBuf.release(ackOff);
    this.timeouts = 0;
    this.dupAcks = 0;
    // Without SACK, an ACK that moves SND.UNA filled one hole; the rest of what it covers are segments the
    // duplicate ACKs had already counted (Linux's tcp_remove_reno_sacks), so a partial ACK delivers a segment.
    if (!this.sackOk)
      this.renoSacked = Math.min(
        Math.max(0, this.renoSacked - Math.max(0, acked - this.effMss())),
        Math.max(0, this.sb.outstanding - this.effMss()),
      );
    // RFC 6298 §5.3: restart the timer when new data is acknowledged.
    this.rtoAt = sb.size === 0 ? INF : now + this.rtt.backedOff(this.backoff);
    if (sb.size === 0) this.rack.reoAt = INF;
    if (ackOff >= this.roundEndOff) {
      this.cwndLimitedPrev = this.cwndLimitedNow;
      this.maxPipePrev = this.maxPipeNow;
      this.cwndLimitedNow = false;
      this.maxPipeNow = 0;
      this.roundEndOff = this.sndNxtOff;
    }
    // Wake a blocked writer once a third of the buffer is free (Linux's sk_stream_write_space: free space at
    // least half of what is queued), not on every ACK: one refill of many bytes instead of one per segment.
    const buf = this.sndBuf;
    if (this.writeBlocked && !this.finQueued && buf.space > 0 && 2 * buf.space >= buf.length) {
      this.writeBlocked = false;
      this.onWritable?.();
    }
    this.owner.activate(this);
    return delivered;
  }

  /** Loss detection and recovery state (RFC 6675 §5, RFC 6582, RFC 5681). */
  private lossLogic(now: Instant, advanced: boolean, delivered: number, tsecr: number): void {
    const sb = this.sb;
    const c = this.config;
    const mss = this.effMss();
    const lostBefore = sb.lostBytes;
    if (this.sackOk && advanced && sb.size > 0 && sb.flags(sb.head) & SACKED) {
      // The receiver dropped data it had SACKed (RFC 2018 §8): forget SACKs, time out soon (as Linux).
      this.counters.TCPSACKReneging++;
      sb.clearSacks();
      this.rtoAt = Math.min(this.rtoAt, now + Math.max(this.rtt.srtt / 2, 10_000));
    }
    // With RACK, time decides (RFC 8985 §6.2; Linux marks SACK losses only through RACK then): its window is 0
    // while no reordering was seen and DupThresh segments are SACKed, so the DupThresh rule still holds there.
    if (this.sackOk && sb.sackedBytes > 0 && !this.rackOn) {
      sb.markLost((c.dupThresh - 1) * mss);
      this.counters.TCPLostRetransmit += sb.markLostRetransmissions((c.dupThresh - 1) * mss);
    }
    // RACK marks too (RFC 8985 §6.2 step 5), when this ACK delivered something sent after what it knew of.
    if (this.rackOn && sb.rackTs >= 0 && sb.size > 0) this.rackDetect(now);
    this.delivered += delivered;
    this.updateRate(now);
    if (this.undo.active) this.tryUndo(now, advanced, tsecr);
    // What the receiver holds: SND.UNA plus SACKed bytes, or plus one segment per duplicate ACK without SACK.
    const data = this.prr.deliveredData(this.sndUnaOff + (this.sackOk ? sb.sackedBytes : this.renoSacked));
    switch (this.caState) {
      case 'open':
        // With RACK, recovery starts when RACK marks a loss (Linux's tcp_time_to_recover), not at DupThresh.
        if ((!this.rackOn && this.dupAcks >= c.dupThresh) || (this.sackOk && sb.toRetransBytes > 0))
          this.enterRecovery(now, data, advanced);
        break;
      case 'recovery':
        if (this.sndUnaOff >= this.recoveryPoint) {
          this.caState = 'open';
          this.rack.onRecoveryExit();
          this.fillCtx();
          this.cc.onRecoveryEnd(now, this.ctx);
        } else {
          if (advanced && !this.sackOk) sb.markHeadLost(); // RFC 6582 §3.2 step 5: partial ACK.
          this.prrOnAck(data, advanced, sb.lostBytes > lostBefore);
        }
        break;
      case 'loss':
        if (this.sndUnaOff >= this.recoveryPoint) {
          this.caState = 'open';
          this.rack.onRecoveryExit();
        }
        break;
    }
    if (this.caState !== 'recovery' && delivered > 0) {
      this.fillCtx();
      this.cc.onAck(now, delivered, this.ctx);
    }
    this.ctx.rttSample = undefined;
  }

  /** Fast recovery begins, on an ACK that delivered `delivered` bytes (none from the reordering timer). */
  private enterRecovery(now: Instant, delivered = 0, unaAdvanced = false): void {
    this.caState = 'recovery';
    this.recoveryPoint = this.sndNxtOff;
    if (this.config.undo) this.undo.begin();
    // The window reduction below is the response to a loss a probe may have repaired too (Linux resets
    // tlp_high_seq in tcp_init_cwnd_reduction), and probes wait for the open state again.
    this.rack.clearProbe();
    this.rack.ptoAt = INF;
    if (this.sackOk) this.counters.TCPSackRecovery++;
    else this.counters.TCPRenoRecovery++;
    // RFC 6675 §5 step 4.2: ssthresh from FlightSize, the data outstanding (or the window: lossFlight), but
    // never above cwnd. RFC 5681 §3.2 leaves limited-transmit segments out of FlightSize (they are what
    // exceeds cwnd at the third duplicate ACK), and data sent while pipe was small (holes marked lost that
    // were only late) can leave far more outstanding than the window: halving that would raise the window on
    // a loss, and each recovery would raise it again.
    this.fillCtx();
    const flight = this.lossFlight(this.sb.outstanding);
    this.ctx.bytesInFlight = flight;
    this.cc.onCongestionEvent(now, this.ctx);
    this.prr.begin(flight, this.cc.ssthresh);
    if (this.sb.toRetransBytes === 0) this.sb.markHeadLost();
    this.prrOnAck(delivered, unaAdvanced, true);
    this.owner.activate(this);
  }

  /** PRR's window for what this ACK delivered (config.prr); without PRR, recovery sends with cwnd. */
  private prrOnAck(data: number, unaAdvanced: boolean, newlyLost: boolean): void {
    if (this.config.prr) this.prr.onAck(data, this.pipe(), this.effMss(), unaAdvanced, newlyLost);
  }

  /** The window segments go out under: PRR's during fast recovery (config.prr), else the controller's. */
  private sendCwnd(): number {
    return this.caState === 'recovery' && this.config.prr ? this.prr.cwnd : this.cc.cwnd;
  }

  /** The flight a loss response halves (config.ssthreshFromCwnd: the window instead), never above cwnd. */
  private lossFlight(flight: number): number {
    return this.config.ssthreshFromCwnd ? this.cc.cwnd : Math.min(flight, this.cc.cwnd);
  }

  // ---------------------------------------------------------------- RACK-TLP (RFC 8985)

  /** §6.2 steps 2–3 for this ACK: RACK's most recently sent delivered segment, and reordering. */
  private rackOnAck(now: Instant): void {
    const sb = this.sb;
    this.rack.onAck(this.ackDsack, this.sndUnaOff, this.sndNxtOff);
    if (sb.rackTs >= 0) this.rack.update(now, sb.rackTs, sb.rackEnd);
    if (sb.reordered) {
      this.rack.reorderingSeen = true;
      this.counters.TCPSACKReorder++;
    }
  }

  /** §6.2 steps 4–5 and §6.3: marks what RACK finds lost and arms the reordering timer for the rest. */
  private rackDetect(now: Instant): void {
    const sb = this.sb;
    const r = this.rack;
    const sackedDupThresh = sb.sackedBytes >= this.config.dupThresh * this.effMss();
    const reo = r.reoWnd(this.rtt.minRtt, this.rtt.srtt, this.caState !== 'open', sackedDupThresh);
    r.reoAt = sb.rackDetect(r.xmitTs, r.endSeq, r.rtt + reo, now);
    this.counters.TCPLostRetransmit += sb.rackLostRetrans;
    // A pending reordering timer decides sooner than a probe would (as Linux, where it replaces the probe).
    if (r.reoAt !== INF) r.ptoAt = INF;
  }

  /** §7.2: (re)arms the probe timer of an open connection with data in flight and no probe outstanding. */
  private armTlp(now: Instant): void {
    const r = this.rack;
    const sb = this.sb;
    r.ptoAt = INF;
    if (this.caState !== 'open' || sb.size === 0 || r.end >= 0 || r.reoAt !== INF) return;
    const pto = r.pto(this.rtt.srtt, sb.size === 1, this.config.tlpMaxAckDelay);
    // Never after the retransmission timer: the probe then goes out in its place.
    r.ptoAt = Math.min(now + pto, this.rtoAt);
  }

  /** §7.3: the probe timer expired. The probe goes out on the next poll; the RTO restarts behind it. */
  private onPto(now: Instant): void {
    const r = this.rack;
    r.ptoAt = INF;
    if (this.caState !== 'open' || this.sb.size === 0 || r.end >= 0) return;
    r.fire = true;
    this.rtoAt = now + this.rtt.backedOff(this.backoff);
  }

  /** §7.3: one new segment if there is data and the peer's window allows it, else the last segment again. */
  private sendLossProbe(now: Instant): OutSegment | null {
    const r = this.rack;
    const sb = this.sb;
    r.fire = false;
    if (this.caState !== 'open' || sb.size === 0 || r.end >= 0 || sb.toRetransBytes > 0) return null;
    const flight = sb.outstanding;
    const nxt = this.sndNxtOff;
    this.tlpForce = true;
    let seg = this.nextDataSegment(now);
    this.tlpForce = false;
    if (seg === null) {
      const i = sb.lastUnsacked();
      if (i < 0) return null;
      r.start = sb.start(i);
      r.retrans = true;
      seg = this.retransmit(now, i);
    }
    r.end = this.sndNxtOff;
    r.flight = flight + this.sndNxtOff - nxt;
    r.ptoAt = INF;
    this.counters.TCPLossProbes++;
    return seg;
  }

  /**
   * §7.4: whether the outstanding probe repaired a loss. An ACK beyond a retransmitted probe without a
   * D-SACK for it shows the original was lost: respond as to a loss episode entered and left at once
   * (Linux's CWR). The ACK that reaches the probe's end exactly may be the original's, so it waits.
   */
  private tlpOnAck(now: Instant, ackOff: number, notPureDup: boolean): void {
    const r = this.rack;
    if (ackOff < r.end) return;
    if (!r.retrans || r.dsacked) r.clearProbe();
    else if (ackOff > r.end) {
      const flight = r.flight;
      r.clearProbe();
      this.counters.TCPLossProbeRecovery++;
      this.undo.clear();
      this.fillCtx();
      this.ctx.bytesInFlight = this.lossFlight(flight);
      this.cc.onCongestionEvent(now, this.ctx);
      this.cc.onRecoveryEnd(now, this.ctx);
    } else if (!notPureDup) r.clearProbe(); // A duplicate ACK: both copies arrived.
  }

  private updateRate(now: Instant): void {
    const span = now - this.rateStartAt;
    if (this.rtt.srtt > 0 && span >= this.rtt.srtt) {
      this.deliveryRate = ((this.delivered - this.rateStartDelivered) * 1e6) / span;
      this.rateStartAt = now;
      this.rateStartDelivered = this.delivered;
    }
  }

  /** Closing-state transitions driven by the ACK of our FIN (RFC 9293 §3.10.7.4). */
  private afterAckStates(now: Instant): void {
    const finAcked = this.finSent && this.sndUnaOff > this.finOff;
    if (!finAcked) return;
    switch (this.state) {
      case 'FIN_WAIT_1':
        this.setState('FIN_WAIT_2');
        break;
      case 'CLOSING':
        this.enterTimeWait(now);
        break;
      case 'LAST_ACK':
        this.enterClosed(null);
        break;
    }
  }

  /** Payload and FIN (RFC 9293 §3.10.7.4 seventh and eighth checks). */
  private processData(now: Instant, p: ParsedSegment, d: number, dlen: number): void {
    const buf = p.payload;
    const s = this.state;
    const acceptsText = s === 'ESTABLISHED' || s === 'FIN_WAIT_1' || s === 'FIN_WAIT_2';
    if (s === 'TIME_WAIT') {
      // The peer retransmitted its FIN: ACK it and restart 2·MSL.
      if (p.flags & F_FIN) {
        this.ackNow = true;
        this.timeWaitAt = now + this.config.timeWait;
      }
      return;
    }
    if (!acceptsText || this.finRcvd) {
      if (dlen > 0 || p.flags & F_FIN) this.ackNow = true;
      return;
    }
    let start = this.rcvNxtOff + d;
    let from = p.payloadStart;
    let to = p.payloadEnd;
    const fin = (p.flags & F_FIN) !== 0;
    const segEndOff = start + dlen;
    if (fin && this.peerFinOff < 0) this.peerFinOff = segEndOff;
    if (dlen > 0) {
      this.dataSegsIn++;
      this.lastDataRecv = now;
      if (dlen > this.rcvMss) this.rcvMss = Math.min(dlen, this.config.mss);
      // Trim what lies below RCV.NXT (already delivered) and beyond the offered window.
      if (start < this.rcvNxtOff) {
        const dup = this.rcvNxtOff - start;
        if (this.sackOk && this.config.dsack) {
          this.reasm.noteDuplicate(start, Math.min(this.rcvNxtOff, segEndOff));
          this.counters.TCPDSACKOldSent++;
        }
        from += dup;
        start = this.rcvNxtOff;
      }
      if (start + (to - from) > this.advEdgeOff) {
        to = from + Math.max(0, this.advEdgeOff - start);
        if (to === from) this.counters.TCPZeroWindowDrop++;
      }
    }
    const len = to - from;
    if (len > 0 && start === this.rcvNxtOff) {
      const hadHoles = this.reasm.ranges.length > 0;
      this.deliver(buf, from, to, p.payloadOwned, p.payloadLent);
      if (this.isClosed()) return;
      if (hadHoles) {
        for (
          let rg = this.reasm.takeInOrder(this.rcvNxtOff);
          rg !== null;
          rg = this.reasm.takeInOrder(this.rcvNxtOff)
        )
          this.deliverRange(rg.start, rg.chunks);
        this.ackNow = true;
      } else this.scheduleAck(now, len);
      this.measureRcvRtt(now);
    } else if (len > 0) {
      // Out of order (RFC 9293 §3.10.7.4: ACK at once so the sender sees the hole).
      const r = this.reasm.insert(start, buf, from, to, p.payloadOwned);
      if (r === 'dropped') this.counters.TCPOFODrop++;
      else if (r === 'stored') this.counters.TCPOFOQueue++;
      else if (this.sackOk && this.config.dsack) this.counters.TCPDSACKOfoSent++;
      this.ackNow = true;
    } else if (dlen > 0) this.ackNow = true;
    if (this.isClosed()) return;
    if (this.peerFinOff >= 0 && this.rcvNxtOff === this.peerFinOff && !this.finRcvd) this.takeFin(now);
    if (this.paused || this.rcvQueued > 0) this.maybeWindowUpdate();
    this.rcvSpaceAdjust(now);
  }

  /**
   * In-order bytes buf[from..to) at RCV.NXT (`owned`: the transport handed them over, see keepBytes; `lent`:
   * valid only during this call).
   */
  private deliver(buf: Uint8Array, from: number, to: number, owned: boolean, lent: boolean): void {
    const len = to - from;
    const ssn = this.rcvNxtOff + 1;
    this.rcvNxtOff += len;
    this.bytesReceived += len;
    if (lent && this.hook?.onLentData) {
      // The hook copies only what it keeps (MPTCP: out-of-order data, or what the application cannot take now).
      this.copiedOff += len;
      this.hook.onLentData(this, ssn, buf.subarray(from, to));
    } else this.handOver(ssn, keepBytes(buf, from, to, owned));
  }

  private deliverRange(start: number, chunks: Uint8Array[]): void {
    let off = start;
    for (let i = 0; i < chunks.length; i++) {
      let b = chunks[i]!;
      if (off + b.length <= this.rcvNxtOff) {
        off += b.length;
        continue;
      }
      if (off < this.rcvNxtOff) {
        b = b.subarray(this.rcvNxtOff - off);
        off = this.rcvNxtOff;
      }
      const ssn = this.rcvNxtOff + 1;
      this.rcvNxtOff += b.length;
      this.bytesReceived += b.length;
      off += b.length;
      this.handOver(ssn, b);
      if (this.isClosed()) return;
    }
  }

  private handOver(ssn: number, bytes: Uint8Array): void {
    if (this.hook?.onData) {
      this.copiedOff += bytes.length;
      this.hook.onData(this, ssn, bytes);
    } else if (!this.paused && this.rcvQueued === 0 && this.onData) {
      this.copiedOff += bytes.length;
      this.onData(bytes);
    } else {
      this.rcvQueue.push(bytes);
      this.rcvQueued += bytes.length;
    }
  }

  /** Delayed ACKs (RFC 9293 §3.8.6.3; Linux's quick-ACK mode and "more than one full segment" rule). */
  private scheduleAck(now: Instant, len: number): void {
    if (this.quickAcks > 0) {
      this.quickAcks--;
      this.ackNow = true;
      return;
    }
    if (!this.config.delayedAck) {
      this.ackNow = true;
      return;
    }
    this.unackedBytes += len;
    if (this.unackedBytes > this.rcvMss) this.ackNow = true;
    else if (this.delackAt === INF) this.delackAt = now + this.config.delayedAckTimeout;
  }

  private takeFin(now: Instant): void {
    this.finRcvd = true;
    this.ackNow = true;
    let timeWait = false;
    switch (this.state) {
      case 'ESTABLISHED':
        this.setState('CLOSE_WAIT');
        break;
      case 'FIN_WAIT_1':
        if (this.finSent && this.sndUnaOff > this.finOff) timeWait = true;
        else this.setState('CLOSING');
        break;
      case 'FIN_WAIT_2':
        timeWait = true;
        break;
    }
    // The end of the peer's stream is reported before the close it completes (net.Socket: 'end', then 'close').
    this.onEnd?.();
    if (timeWait && !this.isClosed()) this.enterTimeWait(now);
  }

  /** Receiver RTT for auto-tuning: time to receive one window of data (Linux tcp_rcv_rtt_measure). */
  private measureRcvRtt(now: Instant): void {
    if (this.rcvRttMarkOff < 0) {
      this.rcvRttMarkOff = this.rcvNxtOff + Math.max(this.rcvMss, this.advEdgeOff - this.rcvNxtOff);
      this.rcvRttMarkAt = now;
      return;
    }
    if (this.rcvNxtOff < this.rcvRttMarkOff) return;
    const sample = now - this.rcvRttMarkAt;
    if (sample > 0) {
      if (this.rcvRtt === 0 || sample < this.rcvRtt) this.rcvRtt = sample;
      else this.rcvRtt = 0.875 * this.rcvRtt + 0.125 * sample;
    }
    this.rcvRttMarkOff = -1;
  }

  /** Dynamic right-sizing (Linux tcp_rcv_space_adjust): buffer ≈ 2 × bytes consumed per RTT. */
  private rcvSpaceAdjust(now: Instant): void {
    if (this.rcvRtt === 0 || now - this.rcvqAt < this.rcvRtt) return;
    const copied = this.copiedOff - this.rcvqOff;
    if (copied > this.rcvqSpace) {
      if (this.config.autotune) {
        const cap = this.wsOk ? this.config.rcvBufMax : Math.min(this.config.rcvBufMax, 65535);
        const target = Math.min(cap, 2 * copied + 16 * this.rcvMss);
        if (target > this.rcvBuf) {
          this.rcvBuf = target;
          this.reasm.budget = target;
        }
      }
      this.rcvqSpace = copied;
    }
    this.rcvqOff = this.copiedOff;
    this.rcvqAt = now;
  }

  private afterRead(): void {
    this.maybeWindowUpdate();
  }

  /** Sends a window update when reading opened the window by a useful amount (RFC 9293 §3.8.6.2.2). */
  private maybeWindowUpdate(): void {
    if (this.isClosed() || this.finRcvd) return;
    const free = Math.max(0, this.rcvBuf - this.rcvQueued);
    const grow = this.rcvNxtOff + free - this.advEdgeOff;
    if (grow >= Math.min(this.rcvBuf / 2, this.config.mss)) {
      this.ackNow = true;
      this.owner.activate(this);
    }
  }

  // ---------------------------------------------------------------- output

  /** @internal The next segment to send, or null. */
  output(now: Instant): OutSegment | null {
    switch (this.state) {
      case 'CLOSED':
      case 'TIME_WAIT':
        return this.ackNow ? this.sendAck(now, 'ack') : null;
      case 'SYN_SENT':
        if (this.synPending) return this.sendSyn(now, false);
        return null;
      case 'SYN_RECEIVED':
        if (this.synAckPending) return this.sendSyn(now, true);
        if (this.ackNow) return this.sendAck(now, 'ack');
        return null;
    }
    if (this.ack3Pending) return this.sendAck(now, 'ack3');
    if (this.pureAckPending) {
      this.pureAckPending = false;
      return this.sendAck(now, 'ack');
    }
    if (this.rack.fire) {
      const probe = this.sendLossProbe(now);
      if (probe !== null) return probe;
    }
    const seg = this.trySendData(now);
    if (seg !== null) return seg;
    if (this.probePending) return this.sendProbe(now);
    if (this.ackNow) return this.sendAck(now, 'ack');
    return null;
  }

  private pipe(): number {
    const sb = this.sb;
    const v =
      sb.outstanding - (this.sackOk ? sb.sackedBytes : this.renoSacked) - sb.lostBytes + sb.retransBytes;
    return v > 0 ? v : 0;
  }

  /** Payload bytes of a full data segment with the options normally present. */
  private effMss(): number {
    return this.sndMss - (this.tsOk ? TS_LEN : 0) - this.hookOptEstimate;
  }

  private isCwndLimited(): boolean {
    const cwnd = this.cc.cwnd;
    if (cwnd < this.cc.ssthresh) return cwnd < 2 * Math.max(this.maxPipeNow, this.maxPipePrev);
    return this.cwndLimitedNow || this.cwndLimitedPrev;
  }

  private fillCtx(): void {
    const ctx = this.ctx;
    ctx.mss = this.effMss();
    ctx.bytesInFlight = this.pipe();
    ctx.srtt = this.rtt.srtt;
    ctx.minRtt = this.rtt.minRtt;
    ctx.appLimited = !this.isCwndLimited();
  }

  /**
   * Pacing (config.pacing): the next data segment waits until `paceAt - PACING_QUANTUM`. The schedule may lag
   * `now` by up to PACING_CATCH_UP, a token bucket of that depth: a driver's millisecond timers fire late, and
   * ACKs reach a busy process in batches, so a sender that never caught up would run below the pacing rate.
   */
  private trySendData(now: Instant): OutSegment | null {
    const pacing = this.config.pacing && this.rtt.srtt > 0;
    if (pacing && this.paceAt > now + PACING_QUANTUM) {
      this.paceWait = true;
      return null;
    }
    this.paceWait = false;
    const seg = this.nextDataSegment(now);
    if (seg !== null && pacing) {
      const cwnd = this.sendCwnd();
      const ratio = cwnd < this.cc.ssthresh / 2 ? 2 : 1.2;
      // The window that bounds the flight: the peer's when it is the smaller (cwnd grows past it unused). Never
      // below what is outstanding (Linux's max(snd_cwnd, packets_out)): a window PRR or a timeout just cut
      // would otherwise pace the repairs far below the rate the path was carrying.
      const window = Math.max(Math.min(Math.max(cwnd, this.sb.outstanding), this.sndWnd), this.effMss());
      // All of the segment's bytes: its data may go apart from the header (gatherPayload).
      const bytes = seg.segment.length + (seg.payload?.length ?? 0);
      this.paceAt = Math.max(this.paceAt, now - PACING_CATCH_UP) + (bytes * this.rtt.srtt) / (ratio * window);
    }
    return seg;
  }

  /** Retransmissions first (RFC 6675 NextSeg rule 1), then new data, under cwnd and the peer's window. */
  private nextDataSegment(now: Instant): OutSegment | null {
    const s = this.state;
    if (s === 'FIN_WAIT_2' || (this.finSent && this.sb.size === 0)) return null;
    const sb = this.sb;
    const mss = this.effMss();
    const cwnd = this.sendCwnd();
    const pipe = this.pipe();
    if (this.frtoStage === 2) {
      // F-RTO step 2b: up to two new segments, outside the congestion window; without new data, revert.
      const len = Math.min(
        mss,
        this.sndBuf.end - this.sndNxtOff,
        this.sndUnaOff + this.sndWnd - this.sndNxtOff,
      );
      if (len > 0) {
        if (--this.frtoBudget === 0) this.frtoStage = 3;
        return this.sendData(now, this.sndNxtOff, len, false, -1);
      }
      this.frtoStage = 0;
      sb.markAllLost();
    }
    const i = sb.nextLost();
    if (i >= 0) {
      const len = sb.end(i) - sb.start(i);
      if (pipe === 0 || cwnd - pipe >= Math.min(len, mss)) return this.retransmit(now, i);
      this.cwndLimitedNow = true;
      return null;
    }
    let unsent = this.sndBuf.end - this.sndNxtOff;
    const peerRoom = this.sndUnaOff + this.sndWnd - this.sndNxtOff;
    if (unsent <= 0 && this.hook?.pull && !this.finQueued && peerRoom > 0) {
      // Less than two segments of window left: the upper layer counts whole segments (its scheduler sees
      // floor(cwnd) against ceil(in flight)), so it holds data back here and this is cwnd-limited, not
      // application-limited; otherwise the window would never grow in congestion avoidance.
      if (pipe > 0 && cwnd - pipe < 2 * mss) this.cwndLimitedNow = true;
      const cwndRoom = pipe === 0 || this.tlpForce ? mss : cwnd - pipe;
      const max = Math.min(mss, peerRoom, this.sndBuf.space, cwndRoom);
      if (max > 0) {
        const bytes = this.hook.pull(this, this.sndBuf.end + 1, max, max === cwndRoom && cwndRoom < mss);
        if (bytes !== null && bytes.length > 0) {
          if (bytes.length > max)
            throw new SubflowHookError(
              `pull() returned ${bytes.length} bytes where at most ${max} were asked`,
            );
          this.sndBuf.append(bytes);
          this.sndBuf.markRecord();
          unsent = bytes.length;
        }
      }
    }
    // A pulling upper layer may hold data while the peer's window is closed and nothing is in flight: only a
    // window probe can learn that the window reopened if the peer's window update is lost (RFC 9293 §3.8.6.1).
    if (unsent <= 0 && this.hook?.pull && peerRoom <= 0) this.armPersist(now);
    if (unsent > 0) {
      let len = Math.min(mss, unsent, peerRoom);
      // A segment that ends a pulled chunk is complete: the upper layer already decided to send it now.
      let recordDone = false;
      if (this.hook !== null) {
        const rec = this.sndBuf.recordEnd(this.sndNxtOff) - this.sndNxtOff;
        if (rec <= len) {
          len = rec;
          recordDone = true;
        }
      }
      if (len <= 0) {
        this.armPersist(now);
        return null;
      }
      if (pipe > 0 && cwnd - pipe < len && !this.tlpForce) {
        this.cwndLimitedNow = true;
        return null;
      }
      if (len < mss && !this.persistForce && !recordDone && !this.tlpForce) {
        const allQueued = len === unsent;
        if (allQueued) {
          // Nagle (RFC 9293 §3.7.4): hold a small segment while data is unacknowledged.
          if (!this.noDelay && !this.finQueued && sb.size > 0) return null;
        } else if (len < this.maxSndWnd / 2) {
          // Sender silly-window avoidance (RFC 9293 §3.8.6.2.1).
          this.armPersist(now);
          return null;
        }
      }
      this.persistForce = false;
      const fin = this.finQueued && this.sndNxtOff + len === this.finOff;
      this.idleRestart(now, pipe);
      return this.sendData(now, this.sndNxtOff, len, fin, -1);
    }
    if (this.finQueued && !this.finSent && this.sndNxtOff === this.finOff)
      return this.sendData(now, this.finOff, 0, true, -1);
    return null;
  }

  private idleRestart(now: Instant, pipe: number): void {
    if (
      this.config.slowStartAfterIdle &&
      !this.idleRestarted &&
      pipe === 0 &&
      this.lastSendAt >= 0 &&
      now - this.lastSendAt > this.rtt.rto
    ) {
      this.idleRestarted = true;
      this.fillCtx();
      const halvings = Math.ceil((now - this.lastSendAt) / this.rtt.rto) - 1;
      this.cc.onIdleRestart(now, this.ctx, this.config.idleDecay ? halvings : undefined);
    }
  }

  private armPersist(now: Instant): void {
    if (this.sb.size === 0 && this.persistAt === INF && this.rtoAt === INF)
      this.persistAt = now + Math.min(this.config.maxRto, this.rtt.rto * 2 ** this.persistBackoff);
  }

  private retransmit(now: Instant, i: number): OutSegment {
    const sb = this.sb;
    const start = sb.start(i);
    const fin = (sb.flags(i) & FIN) !== 0;
    const len = sb.end(i) - start - (fin ? 1 : 0);
    const c = this.counters;
    c.RetransSegs++;
    if (this.caState === 'recovery') c.TCPFastRetrans++;
    else c.TCPSlowStartRetrans++;
    this.totalRetrans++;
    this.undo.onRetransmit(start, start + len, fin, this.tsNow(now));
    return this.sendData(now, start, len, fin, i);
  }

  /**
   * Chooses the options of a non-SYN segment: timestamps, the hook's options, then as many SACK blocks as
   * fit in the rest of the 40 bytes. Returns the option bytes (padded).
   */
  private layout(
    kind: SegmentKind,
    flags: number,
    seq: number,
    off: number,
    len: number,
    retrans: boolean,
    sackRoom: boolean,
  ): number {
    let used = this.tsOk ? TS_LEN : 0;
    this.lyHook = null;
    this.lyHookLen = 0;
    if (this.hook !== null) {
      const info = this.outInfo;
      info.kind = kind;
      info.flags = flags;
      info.seq = seq;
      info.ssn = off + 1;
      info.len = len;
      info.retransmission = retrans;
      const opts = this.hook.options(this, info, 40 - used);
      if (opts !== null && opts.length > 0) {
        const hl = tcpOptionsLength(opts);
        if (hl > 40 - used)
          throw new SubflowHookError(`hook options take ${hl} bytes; only ${40 - used} were free`);
        this.lyHook = opts;
        this.lyHookLen = hl;
        used += (hl + 3) & ~3;
      }
    }
    this.lySack = 0;
    if (sackRoom && this.sackOk && (this.reasm.ranges.length > 0 || this.reasm.dsackEnd >= 0)) {
      const max = Math.min(4, Math.floor((40 - used - 4) / 8));
      if (max > 0) {
        this.lySack = this.reasm.sackBlocks(this.sackOut, max, this.config.dsack);
        if (this.lySack > 0) used += 4 + 8 * this.lySack;
      }
    }
    return used;
  }

  /** Sends data [start, start+len) (+FIN); `rec` is the scoreboard record for a retransmission, else -1. */
  private sendData(now: Instant, start: number, len: number, fin: boolean, rec: number): OutSegment {
    const seq = this.seqOf(start);
    const last = start + len === this.sndBuf.end;
    let flags = F_ACK | (fin ? F_FIN : 0) | (last && len > 0 ? F_PSH : 0);
    const kind: SegmentKind = len === 0 && fin ? 'fin' : 'data';
    let optBytes = this.layout(kind, flags, seq, start, len, rec >= 0, true);
    let room = this.sndMss - optBytes;
    if (len > room && this.lySack > 0) {
      optBytes = this.layout(kind, flags, seq, start, len, rec >= 0, false);
      room = this.sndMss - optBytes;
    }
    if (this.hook !== null && kind === 'data') this.hookOptEstimate = (this.lyHookLen + 3) & ~3;
    if (len > room) {
      // The options outgrew the payload estimate: send less (and split the record on a retransmission).
      if (rec >= 0) this.sb.split(rec, start + room);
      len = room;
      if (fin) {
        fin = false;
        flags &= ~F_FIN;
      }
      flags &= ~F_PSH;
    }
    const seg = this.build(now, flags, seq, optBytes, start, len);
    const end = start + len + (fin ? 1 : 0);
    if (rec < 0) {
      this.sb.push(start, end, now, fin ? FIN : 0);
      this.sndNxtOff = end;
      if (fin) this.finSent = true;
      if (len > 0) this.counters.TCPOrigDataSent++;
    } else {
      this.sb.markRetransmitted(rec, now, this.sndNxtOff);
      this.bytesRetrans += len;
    }
    if (len > 0) {
      if (this.caState === 'recovery') this.prr.onSend(len);
      this.dataSegsOut++;
      this.bytesSent += len;
      this.lastDataSent = now;
    }
    this.lastSendAt = now;
    this.idleRestarted = false;
    const pipe = this.pipe();
    if (pipe > this.maxPipeNow) this.maxPipeNow = pipe;
    if (this.rtoAt === INF) this.rtoAt = now + this.rtt.backedOff(this.backoff);
    if (rec < 0 && this.rackOn) this.armTlp(now);
    this.persistAt = INF;
    return seg;
  }

  private sendAck(now: Instant, kind: 'ack' | 'ack3'): OutSegment {
    const seq = this.seqOf(this.sndNxtOff);
    const optBytes = this.layout(kind, F_ACK, seq, this.sndNxtOff, 0, false, kind === 'ack');
    this.ack3Pending = false;
    return this.build(now, F_ACK, seq, optBytes, 0, 0);
  }

  /** Zero-window and keep-alive probe: an ACK with an old sequence number (Linux tcp_xmit_probe_skb). */
  private sendProbe(now: Instant): OutSegment {
    this.probePending = false;
    const seq = (this.seqOf(this.sndUnaOff) - 1) >>> 0;
    const optBytes = this.layout('ack', F_ACK, seq, this.sndUnaOff, 0, false, true);
    return this.build(now, F_ACK, seq, optBytes, 0, 0);
  }

  private sendSyn(now: Instant, synAck: boolean): OutSegment {
    const c = this.config;
    if (synAck) this.synAckPending = false;
    else this.synPending = false;
    const opts: TcpOption[] = [{ kind: 'mss', mss: c.mss }];
    const sack = synAck ? this.sackOk : c.sack;
    const ts = synAck ? this.tsOk : c.timestamps;
    const ws = synAck ? this.wsOk : c.windowScale;
    if (sack) opts.push({ kind: 'sackPermitted' });
    else if (ts) opts.push({ kind: 'nop' }, { kind: 'nop' });
    if (ts) opts.push({ kind: 'timestamp', tsval: this.tsNow(now), tsecr: synAck ? this.tsRecent : 0 });
    else if (sack) opts.push({ kind: 'nop' }, { kind: 'nop' });
    if (ws) opts.push({ kind: 'nop' }, { kind: 'wscale', shift: this.rcvShift });
    const flags = synAck ? F_SYN | F_ACK : F_SYN;
    if (this.hook !== null) {
      const info = this.outInfo;
      info.kind = synAck ? 'synAck' : 'syn';
      info.flags = flags;
      info.seq = this.iss;
      info.ssn = 0;
      info.len = 0;
      info.retransmission = this.synTries > 0;
      const used = tcpOptionsLength(opts);
      const extra = this.hook.options(this, info, 40 - used);
      if (extra !== null && extra.length > 0) {
        if (tcpOptionsLength(extra) > 40 - used)
          throw new SubflowHookError(
            `hook SYN options take ${tcpOptionsLength(extra)} bytes; ${40 - used} were free`,
          );
        for (const o of extra) opts.push(o);
      }
    }
    const optLen = tcpOptionsLength(opts);
    const hl = 20 + ((optLen + 3) & ~3);
    const b = new Uint8Array(hl);
    const win = Math.min(65535, this.rcvBuf);
    writeHeader(
      b,
      this.local.port,
      this.remote.port,
      this.iss,
      synAck ? this.rcvNxtSeq() : 0,
      hl,
      flags,
      win,
    );
    encodeTcpOptions(opts, b, 20);
    if (this.synTries > 0) {
      this.counters.TCPSynRetrans++;
      this.counters.RetransSegs++;
    }
    this.synTries++;
    this.lastSendAt = now;
    this.idleRestarted = false;
    if (this.rtoAt === INF) this.rtoAt = now + this.rtt.backedOff(this.backoff);
    return this.finish(b, flags);
  }

  /** Writes header, options and payload into a fresh buffer (a polled segment may sit in a queue a while). */
  private build(
    now: Instant,
    flags: number,
    seq: number,
    optBytes: number,
    dataOff: number,
    len: number,
  ): OutSegment {
    const hl = 20 + optBytes;
    const data = len > 0 && this.config.gatherPayload ? this.sndBuf.view(dataOff, len) : null;
    const b = allocFramed(data === null ? hl + len : hl);
    writeHeader(b, this.local.port, this.remote.port, seq, this.rcvNxtSeq(), hl, flags, this.windowField());
    let i = 20;
    if (this.tsOk) i = writeTimestamp(b, i, this.tsNow(now), this.tsRecent);
    if (this.lySack > 0) {
      b[i] = 1;
      b[i + 1] = 1;
      b[i + 2] = 5;
      b[i + 3] = 2 + 8 * this.lySack;
      i += 4;
      const base = (this.irs + 1) >>> 0;
      for (let k = 0; k < this.lySack; k++) {
        put32(b, i, (base + this.sackOut[2 * k]!) >>> 0);
        put32(b, i + 4, (base + this.sackOut[2 * k + 1]!) >>> 0);
        i += 8;
      }
      this.reasm.dsackEnd = -1;
    }
    if (this.lyHook !== null) {
      // The bytes are not cleared beforehand (allocFramed): the hook's options are followed by zero padding.
      encodeTcpOptions(this.lyHook, b, i);
      for (let k = i + this.lyHookLen; k < hl; k++) b[k] = 0;
    }
    if (len > 0 && data === null) this.sndBuf.copyOut(dataOff, len, b, hl);
    // Any segment carrying ACK satisfies pending and delayed ACKs.
    this.ackNow = false;
    this.delackAt = INF;
    this.unackedBytes = 0;
    if (len === 0 && !(flags & (F_FIN | F_SYN))) this.counters.TCPPureAcks++;
    return this.finish(b, flags, data);
  }

  /** Fills in the checksum (over the header and, when it goes apart, the data) and hands the segment out. */
  private finish(b: Uint8Array, _flags: number, data: Uint8Array | null = null): OutSegment {
    const n = b.length;
    const sum = this.config.checksumOffload
      ? 0
      : data === null
        ? segmentChecksum(this.pseudoSum + n, b, 0, n)
        : gatheredChecksum(this.pseudoSum + n + data.length, b, data);
    b[16] = sum >>> 8;
    b[17] = sum;
    this.segsOut++;
    this.counters.OutSegs++;
    const out: OutSegment = { src: this.local.address, dst: this.remote.address, segment: b };
    if (data !== null) out.payload = data;
    if (this.tos !== 0) out.tos = this.tos;
    return out;
  }

  /** The window field: free buffer space, never shrinking the offered right edge, with receiver SWS avoidance. */
  private windowField(): number {
    // An MPTCP subflow advertises the connection-level window (RFC 8684 §3.3.4), which its hook knows.
    const hw = this.hook?.receiveWindow;
    const free = hw ? hw.call(this.hook, this) : Math.max(0, this.rcvBuf - this.rcvQueued);
    const cand = this.rcvNxtOff + free;
    if (
      cand >= this.advEdgeOff + Math.min(this.rcvBuf / 2, this.config.mss) ||
      this.advEdgeOff < this.rcvNxtOff
    )
      this.advEdgeOff = Math.max(cand, this.rcvNxtOff);
    const wnd = this.advEdgeOff - this.rcvNxtOff;
    const unit = 1 << this.rcvShift; // rcvShift ≤ 14
    const field = Math.min(65535, Math.ceil(wnd / unit));
    this.advEdgeOff = this.rcvNxtOff + field * unit;
    return field;
  }

  /** An RST for the current connection, queued at the endpoint (it must go out even though we close now). */
  private sendRstNow(): void {
    const seq = this.seqOf(this.sndNxtOff);
    let opts: readonly TcpOption[] | null = null;
    if (this.hook !== null) {
      const info = this.outInfo;
      info.kind = 'rst';
      info.flags = F_RST | F_ACK;
      info.seq = seq;
      info.ssn = this.sndNxtOff + 1;
      info.len = 0;
      info.retransmission = false;
      opts = this.hook.options(this, info, 40);
    }
    const optLen = opts !== null ? tcpOptionsLength(opts) : 0;
    const hl = 20 + ((optLen + 3) & ~3);
    const b = new Uint8Array(hl);
    writeHeader(b, this.local.port, this.remote.port, seq, this.rcvNxtSeq(), hl, F_RST | F_ACK, 0);
    if (opts !== null) encodeTcpOptions(opts, b, 20);
    this.counters.OutRsts++;
    this.owner.queue(this.finish(b, F_RST));
  }

  /** An RST <SEQ=seq><ACK=ack> built from raw fields (replies to unacceptable handshake segments). */
  private bareRst(seq: number, ack: number, withAck: boolean): OutSegment {
    const b = new Uint8Array(20);
    writeHeader(b, this.local.port, this.remote.port, seq, ack, 20, withAck ? F_RST | F_ACK : F_RST, 0);
    this.counters.OutRsts++;
    return this.finish(b, F_RST);
  }

  // ---------------------------------------------------------------- timers

  /** @internal The earliest armed timer, or Infinity. */
  deadline(): Instant {
    let t = this.rtoAt;
    if (this.rack.ptoAt < t) t = this.rack.ptoAt;
    if (this.rack.reoAt < t) t = this.rack.reoAt;
    if (this.paceWait) t = Math.min(t, Math.ceil(this.paceAt - PACING_QUANTUM));
    if (this.delackAt < t) t = this.delackAt;
    if (this.persistAt < t) t = this.persistAt;
    if (this.timeWaitAt < t) t = this.timeWaitAt;
    if (this.keepAlive && (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT')) {
      const ka =
        this.kaProbes === 0
          ? this.lastRecvAt + this.keepAliveIdle
          : this.lastProbeAt + this.config.keepAliveInterval;
      if (ka < t) t = ka;
    }
    return t;
  }

  /** @internal Runs the timers due at `now`. */
  timer(now: Instant): void {
    if (now >= this.timeWaitAt) {
      this.timeWaitAt = INF;
      this.enterClosed(null, true);
      return;
    }
    if (now >= this.rack.reoAt) this.onReorderTimeout(now);
    if (now >= this.rack.ptoAt) this.onPto(now);
    if (now >= this.rtoAt) this.onRto(now);
    if (this.isClosed()) return;
    if (now >= this.delackAt) {
      this.delackAt = INF;
      this.ackNow = true;
      this.counters.DelayedACKs++;
    }
    if (now >= this.persistAt) this.onPersist(now);
    if (this.keepAlive && (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT'))
      this.onKeepAlive(now);
    if (!this.isClosed()) this.owner.activate(this);
  }

  /** RACK's reordering timer (RFC 8985 §6.3): what is now due is lost; in the open state, recovery starts. */
  private onReorderTimeout(now: Instant): void {
    this.rack.reoAt = INF;
    if (this.sb.size === 0 || this.rack.xmitTs < 0) return;
    this.rackDetect(now);
    if (this.caState === 'open' && this.sb.toRetransBytes > 0) this.enterRecovery(now);
  }

  /** Retransmission timeout (RFC 6298 §5; RFC 5681 §3.1; go-back-N keeping SACK marks, as Linux's loss state). */
  private onRto(now: Instant): void {
    const c = this.config;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') {
      const limit = this.state === 'SYN_SENT' ? c.synRetries : c.synAckRetries;
      if (this.synTries > limit) {
        if (this.state === 'SYN_SENT') this.counters.AttemptFails++;
        this.enterClosed('timeout', this.listenerSlot !== null);
        return;
      }
      this.backoff++;
      this.rtoAt = now + this.rtt.backedOff(this.backoff);
      if (this.state === 'SYN_SENT') this.synPending = true;
      else this.synAckPending = true;
      return;
    }
    const sb = this.sb;
    this.stopRackTimers();
    if (sb.size === 0) {
      this.rtoAt = INF;
      return;
    }
    if (this.timeouts >= c.maxRetransmissions) {
      this.counters.TCPAbortOnTimeout++;
      this.enterClosed('timeout');
      return;
    }
    this.counters.TCPTimeouts++;
    if (this.sackOk && sb.flags(sb.head) & SACKED) {
      this.counters.TCPSACKReneging++;
      sb.clearSacks();
    }
    // RFC 5681 §3.1 eq. (4): ssthresh from FlightSize (the controller keeps it on backed-off timeouts),
    // counted as RFC 6675's pipe: bytes the receiver SACKed left the network, and after a long stall they
    // can be hundreds of segments more than the path ever held.
    this.fillCtx();
    // Linux's tcp_enter_loss: a timeout inside fast recovery, or a repeat with nothing acknowledged since the
    // last one, belongs to the episode already under way (its undo record, its F-RTO decision).
    const wasRecovery = this.caState === 'recovery';
    const newEpisode = this.caState === 'open' || (this.caState === 'loss' && this.timeouts === 0);
    this.ctx.newEpisode = newEpisode;
    if (c.ssthreshFromCwnd) {
      // As Linux: a timeout inside fast recovery keeps the recovery's ssthresh (the pipe then counts little
      // but what was marked lost, and says nothing of what the path holds); otherwise halve the window.
      this.ctx.keepSsthresh = this.caState === 'recovery';
      this.ctx.bytesInFlight = this.lossFlight(this.ctx.bytesInFlight);
    }
    this.cc.onRto(now, this.ctx);
    this.ctx.keepSsthresh = false;
    this.ctx.newEpisode = undefined;
    const wasLoss = this.caState === 'loss';
    if (c.undo && newEpisode) this.undo.begin();
    sb.markAllLost();
    this.caState = 'loss';
    this.recoveryPoint = this.sndNxtOff;
    this.dupAcks = 0;
    this.renoSacked = 0;
    this.timeouts++;
    this.backoff++;
    this.rtoAt = now + this.rtt.backedOff(this.backoff);
    // F-RTO only for a first timeout outside recovery (RFC 5682 §2; Linux's tp->frto): inside one, the
    // recovery's own retransmissions make its proof ambiguous, and an undo would take back that recovery too.
    this.frtoStage = c.frto && !wasLoss && !wasRecovery && this.timeouts === 1 ? 1 : 0;
  }

  /**
   * F-RTO (RFC 5682 §2; with SACK, §3's dup-ACK test is the same here since we keep SACK marks). Stage 1:
   * the RTO retransmission is out. An ACK that delivers data sent before the timeout and never retransmitted
   * proves the timeout spurious at once (SACK-enhanced F-RTO as Linux runs it: a subflow of a multipath
   * connection often has no new data of its own to send in stage 2); without SACK only if it acknowledged
   * no retransmission, which could have caused it. Otherwise, if the ACK advances SND.UNA below the recovery
   * point, stop retransmitting and send up to two new segments (stage 2, then 3); if the ACK after those
   * advances SND.UNA again, the timeout was spurious. A duplicate ACK at any stage reverts to go-back-N.
   */
  private frtoOnAck(now: Instant, advanced: boolean, ackOff: number): void {
    const sb = this.sb;
    const original = sb.origDelivered && (this.sackOk || !sb.ackedRetransmitted);
    if (this.frtoStage === 1 && !original) {
      if (advanced && ackOff < this.recoveryPoint) {
        sb.unmarkPendingLost();
        this.frtoStage = 2;
        this.frtoBudget = 2;
        this.owner.activate(this);
      } else this.frtoStage = 0;
      return;
    }
    this.frtoStage = 0;
    if (advanced || original) this.spuriousRto(now);
    else {
      sb.markAllLost();
      this.owner.activate(this);
    }
  }

  /** F-RTO found the last timeout spurious. */
  private spuriousRto(now: Instant): void {
    this.counters.TCPSpuriousRTOs++;
    this.undoLossResponse(now);
  }

  /**
   * config.undo (Linux's tcp_try_undo_dsack, tcp_try_undo_recovery and tcp_try_undo_loss): D-SACKs for every
   * retransmission of the episode undo it in any state, late ones after recovery ended included; a timestamp
   * echo older than its first retransmission undoes a fast recovery on the ACK that completes it, and a timeout
   * on any ACK of new data (Eifel). Reordering and delay spikes are what make such episodes, and each would
   * otherwise halve the window or restart it from one segment.
   */
  private tryUndo(now: Instant, advanced: boolean, tsecr: number): void {
    const u = this.undo;
    const c = this.counters;
    if (u.allDsacked) {
      if (this.caState === 'loss') c.TCPLossUndo++;
      else c.TCPDSACKUndo++;
    } else if (this.tsOk && u.echoPredatesRetransmission(tsecr)) {
      if (this.caState === 'recovery' && this.sndUnaOff >= this.recoveryPoint) c.TCPFullUndo++;
      else if (this.caState === 'loss' && advanced) c.TCPLossUndo++;
      else return;
    } else return;
    this.undoLossResponse(now);
  }

  /** The loss response was unnecessary: leave recovery or loss state and give back what it cut (Linux's undo). */
  private undoLossResponse(now: Instant): void {
    this.undo.clear();
    this.frtoStage = 0;
    if (this.caState !== 'open') {
      this.caState = 'open';
      this.rack.onRecoveryExit();
      this.sb.unmarkPendingLost();
    }
    this.fillCtx();
    this.cc.onUndo(now, this.ctx);
    this.owner.activate(this);
  }

  private onPersist(now: Instant): void {
    this.persistAt = INF;
    const unsent = this.sndBuf.end - this.sndNxtOff;
    if ((unsent <= 0 && !this.hook?.pull) || this.sb.size > 0) return;
    const room = this.sndUnaOff + this.sndWnd - this.sndNxtOff;
    if (unsent <= 0 && room > 0) {
      // A pulling hook and an open window: no probe needed, let it pull.
      this.owner.activate(this);
      return;
    }
    if (room > 0) this.persistForce = true;
    else {
      this.probePending = true;
      this.counters.TCPWinProbe++;
    }
    this.persistBackoff++;
    this.persistAt = now + Math.min(this.config.maxRto, this.rtt.rto * 2 ** this.persistBackoff);
  }

  private onKeepAlive(now: Instant): void {
    const due =
      this.kaProbes === 0
        ? this.lastRecvAt + this.keepAliveIdle
        : this.lastProbeAt + this.config.keepAliveInterval;
    if (now < due) return;
    if (this.sb.size > 0 || this.sndBuf.end > this.sndNxtOff) {
      // Data in flight: the retransmission timer watches the peer.
      this.lastRecvAt = now;
      return;
    }
    if (this.kaProbes >= this.config.keepAliveProbes) {
      this.counters.TCPAbortOnTimeout++;
      this.sendRstNow();
      this.enterClosed('timeout');
      return;
    }
    this.kaProbes++;
    this.lastProbeAt = now;
    this.probePending = true;
    this.counters.TCPKeepAlive++;
  }

  // ---------------------------------------------------------------- state

  private stopRackTimers(): void {
    const r = this.rack;
    r.ptoAt = INF;
    r.reoAt = INF;
    r.fire = false;
    r.clearProbe();
  }

  private setState(s: TcpState): void {
    const was = this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT';
    const is = s === 'ESTABLISHED' || s === 'CLOSE_WAIT';
    if (was && !is) this.counters.CurrEstab--;
    else if (is && !was) this.counters.CurrEstab++;
    this.state = s;
  }

  private enterTimeWait(now: Instant): void {
    this.setState('TIME_WAIT');
    this.rtoAt = INF;
    this.stopRackTimers();
    this.persistAt = INF;
    this.delackAt = INF;
    this.timeWaitAt = now + this.config.timeWait;
    this.notifyClose(null);
  }

  /** Closes; `quiet` skips the application callback (half-open drops, TIME_WAIT expiry). */
  private enterClosed(reason: string | null, quiet = false): void {
    if (this.isClosed()) return;
    this.setState('CLOSED');
    this.rtoAt = INF;
    this.stopRackTimers();
    this.delackAt = INF;
    this.persistAt = INF;
    this.timeWaitAt = INF;
    this.ackNow = false;
    this.probePending = false;
    if (this.listenerSlot !== null) {
      this.listenerSlot.halfOpen--;
      this.listenerSlot = null;
    }
    this.cc.detach();
    this.owner.closed(this);
    if (!quiet) this.notifyClose(reason);
  }

  private notifyClose(reason: string | null): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.closeReason = reason;
    this.onClose?.(reason);
  }

  /** Why the connection closed (null: clean), once it has. */
  get reason(): string | null {
    return this.closeReason;
  }

  /** @internal A TIME_WAIT connection may give way to a new SYN above its sequence space (RFC 6191 spirit). */
  acceptsReuse(p: ParsedSegment): boolean {
    if (this.state !== 'TIME_WAIT') return false;
    if (this.tsOk && p.hasTs) return seqLt(this.tsRecent, p.tsval);
    return seqLt(this.rcvNxtSeq(), p.seq);
  }

  /** @internal Drop a TIME_WAIT connection for reuse of its 4-tuple. */
  forceClose(): void {
    this.enterClosed(null, true);
  }

  private isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  private seqOf(off: number): number {
    return (this.iss + 1 + off) >>> 0;
  }

  private rcvNxtSeq(): number {
    return (this.irs + 1 + this.rcvNxtOff + (this.finRcvd ? 1 : 0)) >>> 0;
  }

  private tsNow(now: Instant): number {
    return (Math.floor(now / 1000) + this.tsOffset) >>> 0;
  }
}
