/**
 * `blest`: BLEST, blocking-estimation scheduling (Ferlin, Alay, Mehani, Boreli, IFIP Networking 2016).
 * When the fast subflow's window is full and only a slower one can send, estimate how many bytes the fast
 * subflow could send while one packet of the slow one is in flight,
 *   X = MSS_f · (CWND_f + (r − 1) / 2) · r,   r = RTT_s / RTT_f   (CWND grows by one per RTT),
 * and skip the slow subflow when λ·X exceeds what the connection-level send window leaves once the slow
 * subflow's in-flight data plus this packet are counted: sending there would block the fast subflow.
 * λ adapts at most once per fast-subflow RTT: up by 0.04 when the connection was blocked by the send
 * window since the last update, down by 0.01 otherwise, within [1.0, 1.3], starting at 1.2 (the values of
 * the authors' Linux implementation). Reinjections go first, as in `default`.
 */
import { fastest, MinRttFamily } from './base.ts';
import type { SchedState, SchedSubflow, SchedulerOptions } from './types.ts';

const LAMBDA_START = 1.2;
const LAMBDA_MIN = 1.0;
const LAMBDA_MAX = 1.3;
const LAMBDA_UP = 0.04;
const LAMBDA_DOWN = 0.01;

export class BlestScheduler extends MinRttFamily {
  /** The current scaling factor of the fast subflow's estimate. */
  lambda = LAMBDA_START;
  private lastUpdate = Number.NEGATIVE_INFINITY;
  private lastBlocked = 0;

  constructor(options?: SchedulerOptions) {
    super('blest', options);
  }

  protected choose(state: SchedState, slow: SchedSubflow): SchedSubflow | null {
    const fast = fastest(state.subflows);
    if (fast !== null && fast !== slow && fast.rtt > 0) {
      this.adapt(state, fast.rtt >>> 3);
      const r = slow.rtt / fast.rtt;
      const fastBytes = fast.mss * (fast.cwnd + (r - 1) / 2) * r;
      const room = state.sendWindow - slow.mss * (slow.skbsInFlight + slow.queued + 1);
      if (this.lambda * fastBytes > Math.max(0, room)) return null;
    }
    return slow;
  }

  private adapt(state: SchedState, fastRttUs: number): void {
    if (state.now - this.lastUpdate < fastRttUs) return;
    const blocked = state.sendWindowBlocked !== this.lastBlocked;
    const next = blocked ? this.lambda + LAMBDA_UP : this.lambda - LAMBDA_DOWN;
    this.lambda = Math.min(LAMBDA_MAX, Math.max(LAMBDA_MIN, next));
    this.lastBlocked = state.sendWindowBlocked;
    this.lastUpdate = state.now;
  }
}
