/**
 * Proportional Rate Reduction (RFC 6937, as Linux's tcp_cwnd_reduction): the window a connection sends with
 * during fast recovery. Without it (RFC 6675), the window drops to ssthresh at once: the sender falls silent
 * until the pipe drains below ssthresh, then sends everything the pipe lost in one burst, and a burst into a
 * queue that just overflowed is lost again. PRR instead sends ssthresh/RecoverFS of what each ACK reports
 * delivered while the pipe is above ssthresh, and no more than was delivered (plus a segment) below it, so
 * recovery keeps the ACK clock and ends with the pipe at ssthresh. Byte-based; the connection tells it what
 * the receiver holds on every ACK, the pipe, and what it sends.
 */
export class Prr {
  /** What the reduction starts from: the window at the loss, or the flight (RFC 6937 RecoverFS; Linux's prior_cwnd). */
  private recoverFs = 1;
  private ssthresh = 0;
  /** Bytes the receiver newly holds since recovery began (prr_delivered). */
  private delivered = 0;
  /** Bytes sent since recovery began (prr_out). */
  private out = 0;
  /** What the receiver held at the last ACK (SND.UNA plus what it reported above it). */
  private held = 0;
  /** The window to send with until the next ACK: the pipe now plus what this ACK lets out (Linux's snd_cwnd). */
  cwnd = 0;

  /**
   * Every ACK, in recovery or not: what the receiver holds now, as SND.UNA plus what it reported above it.
   * Returns what this ACK delivered (RFC 6937 DeliveredData); reneging takes back, which delivers nothing.
   */
  deliveredData(held: number): number {
    const data = Math.max(0, held - this.held);
    this.held = held;
    return data;
  }

  /** Fast recovery begins: the controller reduced from `recoverFs` to `ssthresh`. */
  begin(recoverFs: number, ssthresh: number): void {
    this.recoverFs = Math.max(1, recoverFs);
    this.ssthresh = ssthresh;
    this.delivered = 0;
    this.out = 0;
  }

  /**
   * An ACK during recovery reported `data` bytes newly delivered (cumulatively or by SACK). `unaAdvanced` and
   * `newlyLost` choose the bound below ssthresh as Linux does: one segment more than was delivered only when
   * the ACK moved SND.UNA and marked nothing lost (slow-start reduction bound), else exactly what was
   * delivered (conservative bound).
   */
  onAck(data: number, pipe: number, mss: number, unaAdvanced: boolean, newlyLost: boolean): void {
    this.delivered += data;
    let sndcnt: number;
    if (pipe > this.ssthresh) {
      sndcnt = Math.ceil((this.delivered * this.ssthresh) / this.recoverFs) - this.out;
    } else {
      sndcnt = Math.max(this.delivered - this.out, data);
      if (unaAdvanced && !newlyLost) sndcnt += mss;
      sndcnt = Math.min(this.ssthresh - pipe, sndcnt);
    }
    // The fast retransmit itself always goes out (RFC 6937 §3: the first ACK of recovery sends a segment).
    sndcnt = Math.max(sndcnt, this.out === 0 ? mss : 0);
    // The pipe in whole segments, as Linux counts packets: a short segment in flight must not eat into the
    // segment this ACK lets out (an MPTCP scheduler compares whole segments too).
    this.cwnd = Math.ceil(pipe / mss) * mss + sndcnt;
  }

  /** `len` bytes went out (retransmitted or new) during recovery. */
  onSend(len: number): void {
    this.out += len;
  }
}
