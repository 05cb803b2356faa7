/**
 * The congestion-control interface every controller implements (Reno, CUBIC, and the coupled LIA, OLIA,
 * BALIA). Windows are in bytes. The TCP engine decides *when* (ACK, loss event, timeout); the controller
 * decides *how much*. Coupled controllers see their sibling subflows through a CouplingGroup.
 */
import type { Duration, Instant } from '../util/time.ts';

/** What the TCP engine knows at the moment it reports an event. */
export interface CcContext {
  /** Sender maximum segment size in bytes (payload bytes per full segment). */
  mss: number;
  /**
   * Bytes sent and not yet acknowledged (RFC 6675 "pipe" when SACK is in use). On onCongestionEvent and onRto
   * controllers read it as RFC 5681's FlightSize (ssthresh = max(FlightSize/2, 2·MSS)), so pass the data
   * outstanding before the loss was marked there.
   */
  bytesInFlight: number;
  /** Smoothed RTT (µs), 0 before the first sample. */
  srtt: Duration;
  /** Smallest RTT seen (µs), 0 before the first sample. */
  minRtt: Duration;
  /** The RTT sample taken from this ACK, when there is one (Karn's rule applied). */
  rttSample?: Duration;
  /** True when the sender could not fill the window (application-limited): do not grow cwnd. */
  appLimited: boolean;
  /**
   * onRto only: the timeout is part of a loss episode whose response already set ssthresh (a timeout during
   * fast recovery); keep that ssthresh instead of computing one from bytesInFlight (Linux's tcp_enter_loss).
   */
  keepSsthresh?: boolean;
  /**
   * onRto only: whether this timeout starts a loss episode, the one onUndo would take back (the connection's
   * rule, Linux's tcp_enter_loss: not inside fast recovery, not a backed-off repeat). Undefined: the
   * controller's own guess (not backed off, keepSsthresh unset).
   */
  newEpisode?: boolean;
}

export interface CongestionControl {
  readonly name: string;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (Infinity initially). */
  readonly ssthresh: number;
  /** `ackedBytes` of new data were acknowledged (cumulatively or by SACK) outside loss recovery. */
  onAck(now: Instant, ackedBytes: number, ctx: CcContext): void;
  /** A loss was detected by duplicate ACKs or SACK (once per window of data): enter recovery. */
  onCongestionEvent(now: Instant, ctx: CcContext): void;
  /** Loss recovery ended (the recovery point was acknowledged). */
  onRecoveryEnd(now: Instant, ctx: CcContext): void;
  /** The retransmission timer expired. */
  onRto(now: Instant, ctx: CcContext): void;
  /**
   * The last loss response (fast recovery or timeout) was spurious: F-RTO (RFC 5682), D-SACKs (RFC 3708) or
   * timestamps (RFC 3522) showed nothing was lost. Restore the window and threshold it cut, as Linux's undo
   * does (never below what they are now).
   */
  onUndo(now: Instant, ctx: CcContext): void;
  /**
   * The connection was idle for longer than an RTO: the window falls to RFC 5681 §4.1's restart window,
   * min(IW, cwnd). With `halvings` (Linux's tcp_cwnd_restart, RFC 2861's decay) ssthresh is first raised to at
   * least 3/4 of the window, and the window is halved that many times (once per RTO idle after the first),
   * never below the restart window.
   */
  onIdleRestart(now: Instant, ctx: CcContext, halvings?: number): void;
  /** The subflow left the connection (coupled controllers drop it from their group). */
  detach(): void;
}

/** One member's view for coupled controllers (RFC 6356 §3: cwnd_i, rtt_i, mss_i). */
export interface CoupledMember {
  readonly cwnd: number;
  readonly ssthresh: number;
  /** Smoothed RTT in µs (0 until measured). */
  readonly srtt: Duration;
  readonly mss: number;
  /** Bytes delivered on this subflow since the last loss (OLIA's l2_r). */
  readonly bytesSinceLoss: number;
  /** Bytes delivered between the last two losses (OLIA's l1_r); 0 before the second loss. */
  readonly bytesBetweenLosses?: number;
  /** Whether the subflow may carry data now (established, not backup-idle, not failed). */
  readonly active: boolean;
}

/**
 * What the connection tells a coupling group about one subflow, read live each time a sibling computes its
 * increase. A subflow object that implements CoupledMember satisfies it too.
 */
export interface SubflowView {
  /** Smoothed RTT in µs (0 until measured). */
  readonly srtt: Duration;
  /** Whether the subflow may carry data now (established, not backup-idle, not failed). */
  readonly active: boolean;
}

/** The set of subflows whose windows are coupled: one per MPTCP connection. */
export interface CouplingGroup {
  readonly members: readonly CoupledMember[];
}
