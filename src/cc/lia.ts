/**
 * LIA, the Linked Increases Algorithm of RFC 6356: slow start and loss response as Reno per subflow, and a
 * coupled congestion-avoidance increase so the connection takes no more than one TCP flow would on its best
 * path, and never more than Reno on any one subflow.
 */
import type { Instant } from '../util/time.ts';
import { type GroupMember, isCoupled } from './coupling.ts';
import { Reno } from './reno.ts';
import type { CcContext } from './types.ts';

/**
 * RFC 6356 §3: alpha = cwnd_total · max_i(cwnd_i/rtt_i²) / (Σ_i cwnd_i/rtt_i)², over eligible members, with
 * windows in bytes and RTTs in µs. Evaluated in doubles exactly as written: the expression has only products,
 * quotients and sums of positive terms (no cancellation), so each of its ~4n+3 roundings adds at most 2⁻⁵³
 * relative error and alpha is good to ~1e-15 whatever the units; the kernel's fixed-point scaling is not needed.
 */
export function liaAlpha(members: readonly GroupMember[]): number {
  let total = 0;
  let best = 0;
  let sum = 0;
  for (const m of members) {
    if (!m.eligible) continue;
    const w = m.cwnd;
    const rtt = m.srtt;
    total += w;
    best = Math.max(best, w / (rtt * rtt));
    sum += w / rtt;
  }
  return (total * best) / (sum * sum);
}

/** RFC 6356 §3 per-ACK increase in bytes: min(alpha·bytes_acked·MSS_i/cwnd_total, bytes_acked·MSS_i/cwnd_i). */
export function liaIncrease(members: readonly GroupMember[], self: GroupMember, ackedBytes: number): number {
  let total = 0;
  for (const m of members) if (m.eligible) total += m.cwnd;
  const alpha = liaAlpha(members);
  // The second term caps the coupled increase at what Reno would do on this subflow.
  return Math.min((alpha * ackedBytes * self.mss) / total, (ackedBytes * self.mss) / self.cwnd);
}

export class Lia extends Reno {
  override readonly name: string = 'lia';

  protected override congestionAvoidance(_now: Instant, ackedBytes: number, _ctx: CcContext): void {
    if (!isCoupled(this.member)) {
      this.renoIncrease(ackedBytes);
      return;
    }
    this.cw += liaIncrease(this.member.group.members, this.member, ackedBytes);
  }
}
