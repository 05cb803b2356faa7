/**
 * RACK-TLP state (RFC 8985) of one connection: RACK's most recently sent delivered segment (§6.1), its
 * reordering window and timer, and the tail loss probe (§7). The scoreboard does the per-segment work
 * (Scoreboard.rackDetect); the connection decides when.
 */
import { type Duration, type Instant, MS, SECOND } from '../util/time.ts';

const INF = Number.POSITIVE_INFINITY;

/** RACK_sent_after (RFC 8985 §6.2): was (t1, end1) sent after (t2, end2)? Ties in time go by sequence. */
export const sentAfter = (t1: number, end1: number, t2: number, end2: number): boolean =>
  t1 > t2 || (t1 === t2 && end1 > end2);

export class Rack {
  /** RACK.xmit_ts and RACK.end_seq (a stream offset): the most recently sent segment delivered; -1: none. */
  xmitTs = -1;
  endSeq = -1;
  /** RACK.rtt: the RTT of that segment (µs). */
  rtt: Duration = 0;
  /** RACK.reordering_seen: an original transmission was delivered after data sent later. */
  reorderingSeen = false;
  /** Reordering timer: when the earliest segment RACK is waiting for becomes due (INF: not armed). */
  reoAt = INF;
  /** RACK.reo_wnd_mult: the window in quarters of min_RTT, widened by D-SACKs (§6.2 step 4). */
  private reoWndMult = 1;
  /** RACK.dsack_round: SND.NXT when the multiplier last grew (-1: none open). */
  private dsackRound = -1;
  /** RACK.reo_wnd_persist: loss recoveries left before the multiplier falls back to 1. */
  private reoWndPersist = 0;

  /** The probe timer (INF: not armed), and whether it fired and the probe is still to be sent. */
  ptoAt = INF;
  fire = false;
  /** TLP.end_seq: SND.NXT when the outstanding probe was sent (-1: none outstanding). */
  end = -1;
  /** The probe retransmitted [start, end) rather than sending new data (TLP.is_retrans). */
  retrans = false;
  start = -1;
  /** A D-SACK reported the retransmitted probe: the original had arrived, nothing was lost. */
  dsacked = false;
  /** FlightSize when the probe left, for the congestion response if it repaired a loss. */
  flight = 0;

  /** §6.2 step 2 for the newest segment an ACK delivered (the caller applied the retransmission check). */
  update(now: Instant, xmitTs: number, endSeq: number): void {
    this.rtt = now - xmitTs;
    if (sentAfter(xmitTs, endSeq, this.xmitTs, this.endSeq)) {
      this.xmitTs = xmitTs;
      this.endSeq = endSeq;
    }
  }

  /**
   * §6.2 step 4 for each ACK: a D-SACK says a retransmission was spurious, so the window grows by a quarter of
   * min_RTT, at most once per round trip; it keeps that width for 16 loss recoveries. The original arrived
   * after the data that made it look lost, which is reordering (Linux counts it so too).
   */
  onAck(dsack: boolean, sndUna: number, sndNxt: number): void {
    if (dsack) this.reorderingSeen = true;
    if (this.dsackRound >= 0 && sndUna >= this.dsackRound) this.dsackRound = -1;
    if (this.dsackRound < 0 && dsack) {
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = 16;
    }
  }

  /** §6.2 step 4: a fast or timeout recovery ended. */
  onRecoveryExit(): void {
    if (--this.reoWndPersist <= 0) this.reoWndMult = 1;
  }

  /**
   * §6.2 step 4, RACK.reo_wnd: none while no reordering was seen and loss is already evident (in recovery,
   * or DupThresh segments SACKed), else reo_wnd_mult · min_RTT/4, at most SRTT.
   */
  reoWnd(minRtt: Duration, srtt: Duration, inRecovery: boolean, dupThreshSacked: boolean): Duration {
    if (!this.reorderingSeen && (inRecovery || dupThreshSacked)) return 0;
    return Math.min((this.reoWndMult * minRtt) / 4, srtt);
  }

  /**
   * §7.2 TLP_calc_PTO: 2·SRTT, plus the worst-case delayed ACK when a single segment is in flight (its
   * ACK may be delayed), else 2 ms; 1 s before an RTT sample.
   */
  pto(srtt: Duration, oneSegment: boolean, maxAckDelay: Duration): Duration {
    if (srtt <= 0) return SECOND;
    return 2 * srtt + (oneSegment ? maxAckDelay : 2 * MS);
  }

  /** Forgets the outstanding probe (it was answered, or a recovery or timeout took over). */
  clearProbe(): void {
    this.end = -1;
    this.retrans = false;
    this.start = -1;
    this.dsacked = false;
  }
}
