/**
 * The RTT estimator and retransmission timeout (RFC 6298 §2). As in Linux (tcp_set_rto), the configured
 * minimum bounds the variance term: RTO = SRTT + max(4·RTTVAR, minRto), then at most maxRto.
 */
import type { Duration } from '../util/time.ts';

export class RttEstimator {
  srtt: Duration = 0;
  rttvar: Duration = 0;
  minRtt: Duration = 0;
  latest: Duration = 0;
  rto: Duration;

  constructor(
    initialRto: Duration,
    private readonly minRto: Duration,
    private readonly maxRto: Duration,
  ) {
    this.rto = Math.min(initialRto, maxRto);
  }

  /** Takes one RTT measurement (µs). */
  sample(r: Duration): void {
    if (r < 1) r = 1;
    this.latest = r;
    if (this.minRtt === 0 || r < this.minRtt) this.minRtt = r;
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // β = 1/4, α = 1/8 (RFC 6298 §2.3).
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(this.maxRto, Math.round(this.srtt + Math.max(4 * this.rttvar, this.minRto)));
  }

  /** The timeout after `backoff` expirations in a row (RFC 6298 §5.5), capped at maxRto. */
  backedOff(backoff: number): Duration {
    // rto never exceeds maxRto; the common case needs no power.
    return backoff === 0 ? this.rto : Math.min(this.maxRto, this.rto * 2 ** backoff);
  }
}
