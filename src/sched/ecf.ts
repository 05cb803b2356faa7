/**
 * `ecf`: Earliest Completion First (Lim, Nahum, Towsley, Gibbens, CoNEXT 2017). When the fastest subflow
 * x_f has no room and a slower x_s could send, with k packets queued at connection level:
 *   n = 1 + k / CWND_f,  δ = max(σ_f, σ_s),
 *   if n·RTT_f < (1 + waiting·β)(RTT_s + δ):
 *     if (k / CWND_s)·RTT_s ≥ 2·RTT_f + δ: waiting = 1 and send nothing (x_f finishes sooner);
 *     else send on x_s;
 *   else waiting = 0 and send on x_s,
 * with β = 0.25 as hysteresis so the decision does not flap. σ is the RTT variation. Reinjections go first,
 * as in `default`.
 */
import { fastest, MinRttFamily } from './base.ts';
import type { SchedState, SchedSubflow, SchedulerOptions } from './types.ts';

const BETA = 0.25;

export class EcfScheduler extends MinRttFamily {
  /** ECF's hysteresis state: the last decision was to wait for the fast subflow. */
  waiting = false;

  constructor(options?: SchedulerOptions) {
    super('ecf', options);
  }

  protected choose(state: SchedState, xs: SchedSubflow): SchedSubflow | null {
    const xf = fastest(state.subflows);
    if (xf !== null && xf !== xs && xf.cwnd > 0 && xs.cwnd > 0) {
      const k = Math.ceil(state.queuedBytes / xf.mss);
      const rttF = xf.rtt / 8;
      const rttS = xs.rtt / 8;
      const delta = Math.max(xf.rttVar, xs.rttVar) / 4;
      const n = 1 + k / xf.cwnd;
      if (n * rttF < (1 + (this.waiting ? BETA : 0)) * (rttS + delta)) {
        if ((k / xs.cwnd) * rttS >= 2 * rttF + delta) {
          this.waiting = true;
          return null;
        }
      } else this.waiting = false;
    }
    return xs;
  }
}
