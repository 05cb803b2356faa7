/** Connection states, tunables (with Linux-like defaults) and the tcp_info-like snapshot. */
import type { CcName } from '../cc/index.ts';
import type { CongestionControl, SubflowView } from '../cc/types.ts';
import { type Duration, MS, SECOND } from '../util/time.ts';

/** RFC 9293 §3.3.2 state names. */
export type TcpState =
  | 'CLOSED'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** What a congestion-control factory is told when a connection needs a controller. */
export interface CcRequest {
  name: CcName;
  /** Send MSS (payload bytes of a full segment), known once the handshake is done. */
  mss: number;
  initialCwnd: number;
  now: number;
  /** The connection's live view (srtt, active) for coupling groups. */
  view: SubflowView;
  /** HyStart++ in the initial slow start (TcpConfig.hystart). */
  hystart: boolean;
}

export interface TcpConfig {
  /** MSS announced in our SYN and the largest payload we send (bytes; 1460 for a 1500-byte MTU). */
  mss: number;
  /** Send buffer bound in bytes: write() accepts no more than this many unacknowledged bytes. */
  sndBuf: number;
  /** Initial receive buffer (the window we offer) in bytes. */
  rcvBuf: number;
  /** Upper bound for receive-buffer auto-tuning (Linux tcp_rmem[2]). */
  rcvBufMax: number;
  /** Grow the receive buffer with the bytes delivered per RTT (Linux's DRS). */
  autotune: boolean;
  windowScale: boolean;
  sack: boolean;
  /** Report duplicate segments with D-SACK (RFC 2883). */
  dsack: boolean;
  timestamps: boolean;
  minRto: Duration;
  initialRto: Duration;
  maxRto: Duration;
  delayedAck: boolean;
  delayedAckTimeout: Duration;
  /** Segments acknowledged at once at the start of a connection (Linux's quick-ACK mode). */
  quickAcks: number;
  nagle: boolean;
  /** Congestion controller handed to the factory ('reno', 'cubic', ...). */
  cc: CcName;
  /** Builds the controller; defaults to src/cc's createCc. MPTCP passes one that joins a coupling group. */
  ccFactory?: (req: CcRequest) => CongestionControl;
  /** Initial congestion window in segments (RFC 6928: 10). */
  initialCwnd: number;
  /** TIME_WAIT length (2·MSL; Linux uses 60 s). */
  timeWait: Duration;
  keepAlive: boolean;
  keepAliveIdle: Duration;
  keepAliveInterval: Duration;
  keepAliveProbes: number;
  /** SYN retransmissions before an active open fails (Linux tcp_syn_retries). */
  synRetries: number;
  /** SYN/ACK retransmissions before a half-open connection is dropped (Linux tcp_synack_retries). */
  synAckRetries: number;
  /** Retransmission timeouts in a row before the connection is aborted (Linux tcp_retries2). */
  maxRetransmissions: number;
  /** Half-open (SYN_RECEIVED) connections a listener holds at most. */
  backlog: number;
  /** F-RTO spurious-timeout detection (RFC 5682, SACK-enhanced when SACK is on); a spurious timeout is undone. */
  frto: boolean;
  /**
   * Undo a fast recovery or a timeout shown to be unnecessary: D-SACKs reported every retransmission of the
   * episode as a duplicate (RFC 3708), or an ACK echoed a timestamp older than its first retransmission
   * (Eifel, RFC 3522). The window and ssthresh go back to their values before the episode, as Linux's undo
   * does. Off by default (the simulator keeps RFC 5681/6675 loss recovery); the real drivers turn it on.
   */
  undo: boolean;
  /** Restart from the initial window after an idle period longer than the RTO (RFC 5681 §4.1). */
  slowStartAfterIdle: boolean;
  /**
   * With slowStartAfterIdle, restart as Linux does (tcp_cwnd_restart, RFC 2861's decay): halve the window once
   * for every RTO of the idle period after the first, never below the restart window, and raise ssthresh to
   * 3/4 of the window first, so slow start takes it back. An idle period just over the RTO then costs half the
   * window, not all of it above the initial window. A userspace stack meets such periods whenever its process
   * is descheduled (host steal); so does a request-response application. Off by default (the simulator keeps
   * RFC 5681); the real drivers turn it on.
   */
  idleDecay: boolean;
  /** Minimum gap between ACKs sent in reply to out-of-window segments (Linux tcp_invalid_ratelimit). */
  invalidAckInterval: Duration;
  /** Challenge ACKs per second per endpoint (RFC 5961 §7; Linux tcp_challenge_ack_limit). */
  challengeAckLimit: number;
  /** Duplicate-ACK / SACK threshold for fast retransmit (RFC 5681, RFC 6675). */
  dupThresh: number;
  /**
   * RACK-TLP loss detection (RFC 8985), with SACK only, as Linux has by default. RACK marks a segment lost
   * when a segment sent after it was delivered at least an RTT plus a reordering window (min RTT / 4) after
   * it was sent; DupThresh marking stays (lost if either says so). TLP sends a probe (new data, else the last
   * segment) when an open connection's ACKs stop for 2·SRTT, so a loss among a flight's last segments is
   * repaired without a retransmission timeout. Off: DupThresh and the RTO only. Off by default here, so the
   * simulator keeps RFC 5681/6675 loss recovery and compares with the literature; the real drivers turn it on
   * (src/api/host.ts), as Linux has it.
   */
  rackTlp: boolean;
  /** TLP's worst-case delayed-ACK allowance when one segment is in flight (RFC 8985 WCDelAckT). */
  tlpMaxAckDelay: Duration;
  /**
   * The driver does not need the TCP checksum: segments go out with 0 in the field (TCP-in-UDP carries no
   * TCP checksum, UDP's covers the datagram; a NIC's transmit checksum offload).
   */
  checksumOffload: boolean;
  /**
   * The driver sends a segment's header and data without joining them (UDP's sendmsg gathers them): poll()
   * may hand a data segment out as its header in `segment` and its data in `payload`, a view of bytes the
   * connection holds unchanged until they are acknowledged (OutSegment.payload), instead of a copy.
   */
  gatherPayload: boolean;
  /**
   * Spread data segments over the round trip instead of sending each window as one burst (Linux's pacing
   * rates: 2·cwnd/srtt in slow start, 1.2·cwnd/srtt after), ahead of the schedule by at most PACING_QUANTUM
   * and behind it by at most PACING_CATCH_UP. Off by default; the UDP transport turns it on (src/api/host.ts
   * says why not TUN).
   */
  pacing: boolean;
  /**
   * Leave the initial slow start when the RTT rises (HyStart++, RFC 9406; Linux's CUBIC has HyStart) rather
   * than at the first loss, which costs up to a window of drops at a shallow bottleneck. Real drivers turn it on.
   */
  hystart: boolean;
  /**
   * Halve the window on a loss rather than the data in flight (Linux's tcp_reno_ssthresh and CUBIC use
   * cwnd; RFC 5681 eq. (4) uses FlightSize). The window grows only while it is used (Linux's rule, kept by
   * this engine), so it is a flight the path carried, though not always a recent one: nothing shrinks a window
   * a long application-limited period left unused (RFC 7661; Linux's tcp_cwnd_application_limited). Without
   * it, an MPTCP subflow the scheduler left short of data at the moment of a loss falls to half of that
   * shortfall. A timeout does the same, except inside fast recovery, where it keeps the recovery's ssthresh
   * (Linux's tcp_enter_loss). Real drivers turn it on.
   */
  ssthreshFromCwnd: boolean;
  /**
   * Proportional Rate Reduction in fast recovery (RFC 6937, Linux's tcp_cwnd_reduction; src/tcp/prr.ts): each
   * ACK lets out a share of what it reports delivered, so the window falls to ssthresh over a round trip with
   * the ACK clock kept, instead of RFC 6675's drop to ssthresh, silence while the pipe drains, then a burst of
   * retransmissions into the queue that just overflowed. Off by default (RFC 6675 here); real drivers turn it on.
   */
  prr: boolean;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  mss: 1460,
  sndBuf: 4 * 1024 * 1024,
  rcvBuf: 128 * 1024,
  rcvBufMax: 6 * 1024 * 1024,
  autotune: true,
  windowScale: true,
  sack: true,
  dsack: true,
  timestamps: true,
  minRto: 200 * MS,
  initialRto: SECOND,
  maxRto: 120 * SECOND,
  delayedAck: true,
  delayedAckTimeout: 40 * MS,
  quickAcks: 16,
  nagle: true,
  cc: 'reno',
  initialCwnd: 10,
  timeWait: 60 * SECOND,
  keepAlive: false,
  keepAliveIdle: 7200 * SECOND,
  keepAliveInterval: 75 * SECOND,
  keepAliveProbes: 9,
  synRetries: 6,
  synAckRetries: 5,
  maxRetransmissions: 15,
  backlog: 128,
  frto: false,
  undo: false,
  slowStartAfterIdle: true,
  idleDecay: false,
  invalidAckInterval: 500 * MS,
  challengeAckLimit: 1000,
  dupThresh: 3,
  rackTlp: false,
  tlpMaxAckDelay: 200 * MS,
  checksumOffload: false,
  gatherPayload: false,
  pacing: false,
  hystart: false,
  ssthreshFromCwnd: false,
  prr: false,
});

/**
 * The behaviours of Linux's TCP that are off by default here (so the simulator keeps the RFC baseline the
 * literature compares with), as the real drivers run them (src/api/host.ts):
 * - frto: Linux's tcp_frto 2. A real process can be descheduled past an RTO, and F-RTO undoes the spurious
 *   timeout instead of retransmitting the whole flight.
 * - undo: a recovery or timeout that D-SACKs or timestamps show unneeded gives its window back. Reordering and
 *   delay spikes on real paths are what start them.
 * - hystart: slow start ends when the RTT rises, not after a window of drops at the bottleneck.
 * - rackTlp: tail losses repaired by a probe after 2·SRTT, and time-based loss marking.
 * - ssthreshFromCwnd: a loss halves the window, not a flight the scheduler had left short on this subflow.
 * - prr: fast recovery sends a share of each ACK's delivered data, keeping the ACK clock, not a burst.
 * - idleDecay: after idle, the window halves per RTO idle rather than falling to the initial window at once,
 *   so a descheduled process comes back to a window it can still use.
 * Pacing is not among them: Linux paces CUBIC and Reno only under the fq qdisc (its internal pacing, since
 * 4.13, serves congestion controls that ask for it, such as BBR), and the drivers decide it per transport.
 */
export const LINUX_BEHAVIOURS: Readonly<Partial<TcpConfig>> = Object.freeze({
  frto: true,
  undo: true,
  hystart: true,
  rackTlp: true,
  ssthreshFromCwnd: true,
  prr: true,
  idleDecay: true,
});

/** The settings that are durations (µs here): a text form of them, such as the CLI's `--tcp`, needs a unit. */
export const TCP_DURATION_KEYS: ReadonlySet<keyof TcpConfig> = new Set<keyof TcpConfig>([
  'minRto',
  'initialRto',
  'maxRto',
  'delayedAckTimeout',
  'timeWait',
  'keepAliveIdle',
  'keepAliveInterval',
  'invalidAckInterval',
  'tlpMaxAckDelay',
]);

/** Thrown when a configuration value cannot work. */
export class TcpConfigError extends Error {
  override name = 'TcpConfigError';
}

/** Merges `over` into `base` and checks the result. */
export function resolveConfig(base: Readonly<TcpConfig>, over?: Partial<TcpConfig>): TcpConfig {
  const c: TcpConfig = { ...base, ...over };
  if (!Number.isInteger(c.mss) || c.mss < 64 || c.mss > 65495)
    throw new TcpConfigError(`mss ${c.mss} is out of range: give an integer in 64..65495`);
  if (c.sndBuf < c.mss) throw new TcpConfigError(`sndBuf ${c.sndBuf} must hold at least one MSS (${c.mss})`);
  if (c.rcvBuf < c.mss) throw new TcpConfigError(`rcvBuf ${c.rcvBuf} must hold at least one MSS (${c.mss})`);
  if (c.rcvBufMax < c.rcvBuf) c.rcvBufMax = c.rcvBuf;
  if (c.rcvBufMax > 1 << 30) throw new TcpConfigError('rcvBufMax is above 2^30 bytes, the RFC 7323 limit');
  if (c.minRto <= 0 || c.maxRto < c.minRto || c.initialRto <= 0)
    throw new TcpConfigError('need 0 < minRto <= maxRto and initialRto > 0');
  if (c.backlog < 1) throw new TcpConfigError('backlog must be at least 1');
  if (c.tlpMaxAckDelay < 0) throw new TcpConfigError('tlpMaxAckDelay must not be negative');
  if (c.initialCwnd < 1) throw new TcpConfigError('initialCwnd must be at least 1 segment');
  return c;
}

/** The part of TcpInfo a scheduler reads per decision (TcpConnection.pathState fills it in place). */
export interface TcpPathState {
  srtt: Duration;
  rttvar: Duration;
  rcvRtt: Duration;
  cwnd: number;
  ssthresh: number;
  mss: number;
  inFlight: number;
  lost: number;
  /** caState is 'loss' (after an RTO). */
  loss: boolean;
  sndWnd: number;
  sndWscale: number;
  /** Consecutive timeouts (TcpInfo.retransmits). */
  retransmits: number;
  deliveryRate: number;
}

/** A fresh TcpPathState to be filled. */
export const newPathState = (): TcpPathState => ({
  srtt: 0,
  rttvar: 0,
  rcvRtt: 0,
  cwnd: 0,
  ssthresh: 0,
  mss: 0,
  inFlight: 0,
  lost: 0,
  loss: false,
  sndWnd: 0,
  sndWscale: 0,
  retransmits: 0,
  deliveryRate: 0,
});

/** A tcp_info-like snapshot. Byte counts unless the name says segments; times in µs (0 = not measured). */
export interface TcpInfo {
  state: TcpState;
  /** Congestion-control state: 'open', 'recovery' (fast recovery) or 'loss' (after an RTO). */
  caState: 'open' | 'recovery' | 'loss';
  srtt: Duration;
  rttvar: Duration;
  rto: Duration;
  minRtt: Duration;
  /** The receiver's RTT estimate used by auto-tuning. */
  rcvRtt: Duration;
  cwnd: number;
  cwndSegs: number;
  ssthresh: number;
  /** Send MSS: payload bytes in a full segment with the options in use. */
  mss: number;
  /** Largest payload seen from the peer. */
  rcvMss: number;
  peerMss: number;
  sndWscale: number;
  rcvWscale: number;
  sackOk: boolean;
  tsOk: boolean;
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  dataSegsOut: number;
  dataSegsIn: number;
  /** Timeouts in a row (the current backoff exponent). */
  retransmits: number;
  totalRetrans: number;
  /** Bytes marked lost and not yet SACKed or acknowledged. */
  lost: number;
  sacked: number;
  /** RFC 6675 pipe. */
  inFlight: number;
  /** Bytes delivered per second over the last RTT. */
  deliveryRate: number;
  appLimited: boolean;
  rcvWnd: number;
  rcvBuf: number;
  /** Out-of-order bytes held, and the memory charged for them (bounded by rcvBuf). */
  oooBytes: number;
  oooMemory: number;
  sndWnd: number;
  sndBufUsed: number;
  /** Instants of the last data sent and received (-1 = never). */
  lastDataSent: number;
  lastDataRecv: number;
}
