/**
 * HyStart++ (RFC 9406): leaves the initial slow start when the round trip time starts to grow (a queue is
 * building) instead of when the queue overflows, which with standard slow start costs up to a window of losses.
 * After the RTT rise, Conservative Slow Start grows the window a quarter as fast for a few rounds; if the RTT
 * falls back below the level that triggered it, the rise was spurious and slow start resumes.
 *
 * A round is approximated by acknowledged bytes: it ends when a window's worth (the window at its start) has
 * been acknowledged since it began, which in slow start is one round trip.
 *
 * One addition to RFC 9406: a rise of half the last round's RTT or more leaves slow start at once. Such a rise
 * is a standing queue of half a BDP at least, not noise; by then the window has doubled past the BDP, and five
 * rounds of conservative growth on top of it overflowed a one-BDP queue in the test bed's runs (a userspace
 * stack's own scheduling delays also make the round minimum swing, so CSS resumed slow start at 3–6 BDP).
 */
import { type Duration, MS } from '../util/time.ts';

/** RFC 9406 §4.3 constants. */
const MIN_RTT_THRESH = 4 * MS;
const MAX_RTT_THRESH = 16 * MS;
const MIN_RTT_DIVISOR = 8;
const N_RTT_SAMPLE = 8;
const CSS_GROWTH_DIVISOR = 4;
const CSS_ROUNDS = 5;
/** A round minimum this many times the last one's leaves slow start without conservative slow start. */
const EXIT_RTT_RATIO = 1.5;

/**
 * What slow start does with an ACK, as the divisor of its growth: 1 standard slow start, CSS_GROWTH_DIVISOR
 * conservative slow start, 0 leave slow start now (ssthresh = cwnd).
 */
export const SlowStartPhase = { Slow: 1, Conservative: CSS_GROWTH_DIVISOR, Done: 0 } as const;
export type SlowStartPhase = (typeof SlowStartPhase)[keyof typeof SlowStartPhase];

export class HyStart {
  private acked = 0;
  private roundEnd = 0;
  private lastRoundMinRtt = Number.POSITIVE_INFINITY;
  private currentRoundMinRtt = Number.POSITIVE_INFINITY;
  private samples = 0;
  private cssBaselineMinRtt = Number.POSITIVE_INFINITY;
  private cssRounds = 0;

  /** An ACK of `ackedBytes` in slow start, with the window before it and the ACK's RTT sample if any. */
  onAck(ackedBytes: number, cwnd: number, rttSample: Duration | undefined): SlowStartPhase {
    const css = this.cssBaselineMinRtt !== Number.POSITIVE_INFINITY;
    this.acked += ackedBytes;
    if (this.acked >= this.roundEnd) {
      if (css && ++this.cssRounds >= CSS_ROUNDS) return SlowStartPhase.Done;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Number.POSITIVE_INFINITY;
      this.samples = 0;
      this.roundEnd = this.acked + cwnd;
    }
    if (rttSample !== undefined && rttSample > 0) {
      if (rttSample < this.currentRoundMinRtt) this.currentRoundMinRtt = rttSample;
      this.samples++;
    }
    if (this.samples < N_RTT_SAMPLE || this.currentRoundMinRtt === Number.POSITIVE_INFINITY)
      return css ? SlowStartPhase.Conservative : SlowStartPhase.Slow;
    if (!css) {
      if (this.lastRoundMinRtt === Number.POSITIVE_INFINITY) return SlowStartPhase.Slow;
      const thresh = Math.min(
        MAX_RTT_THRESH,
        Math.max(MIN_RTT_THRESH, this.lastRoundMinRtt / MIN_RTT_DIVISOR),
      );
      if (this.currentRoundMinRtt < this.lastRoundMinRtt + thresh) return SlowStartPhase.Slow;
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt * EXIT_RTT_RATIO) return SlowStartPhase.Done;
      this.cssBaselineMinRtt = this.currentRoundMinRtt;
      this.cssRounds = 0;
      return SlowStartPhase.Conservative;
    }
    if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
      // The RTT came back down: the rise was not a queue. Resume standard slow start.
      this.cssBaselineMinRtt = Number.POSITIVE_INFINITY;
      return SlowStartPhase.Slow;
    }
    return SlowStartPhase.Conservative;
  }
}
