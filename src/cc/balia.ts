/**
 * BALIA, the Balanced Linked Adaptation algorithm (Peng, Walid, Hwang, Low, "Multipath TCP: Analysis, Design,
 * and Implementation", IEEE/ACM ToN 24(1), 2016, §VI): slow start as Reno, a coupled increase and a coupled
 * decrease that balance friendliness and responsiveness between LIA and OLIA.
 */
import type { Instant } from '../util/time.ts';
import { type GroupMember, isCoupled } from './coupling.ts';
import { Reno } from './reno.ts';
import type { CcContext } from './types.ts';

/** alpha_r = max_k x_k / x_r with x_k = w_k/rtt_k over the eligible members. */
export function baliaAlpha(members: readonly GroupMember[], self: GroupMember): number {
  let maxRate = 0;
  for (const m of members) if (m.eligible) maxRate = Math.max(maxRate, m.cwnd / m.srtt);
  return maxRate / (self.cwnd / self.srtt);
}

/**
 * The increase in bytes for `ackedBytes` acknowledged on `self`: the paper's per-ACK increase in packets,
 * (x_r/rtt_r)/(Σ_k x_k)² · ((1+alpha_r)/2) · ((4+alpha_r)/5), scaled by MSS_r · bytes_acked for byte windows
 * (it is homogeneous of degree −1 in the windows, like Reno's 1/w).
 */
export function baliaIncrease(
  members: readonly GroupMember[],
  self: GroupMember,
  ackedBytes: number,
): number {
  let sum = 0;
  for (const m of members) if (m.eligible) sum += m.cwnd / m.srtt;
  const alpha = baliaAlpha(members, self);
  const x = self.cwnd / self.srtt;
  const perByte = (x / self.srtt / (sum * sum)) * ((1 + alpha) / 2) * ((4 + alpha) / 5);
  return perByte * self.mss * ackedBytes;
}

export class Balia extends Reno {
  override readonly name: string = 'balia';

  protected override congestionAvoidance(_now: Instant, ackedBytes: number, _ctx: CcContext): void {
    if (!isCoupled(this.member)) {
      this.renoIncrease(ackedBytes);
      return;
    }
    this.cw += baliaIncrease(this.member.group.members, this.member, ackedBytes);
  }

  /**
   * The paper's decrease, w_r −= (w_r/2)·min(alpha_r, 1.5), with w_r the FlightSize as Reno uses it; alone
   * (alpha = 1) this is Reno's halving.
   */
  protected override lossSsthresh(ctx: CcContext): number {
    if (!isCoupled(this.member)) return super.lossSsthresh(ctx);
    const alpha = baliaAlpha(this.member.group.members, this.member);
    const w = ctx.bytesInFlight;
    return Math.max(Math.floor(w - (w / 2) * Math.min(alpha, 1.5)), 2 * this.smss);
  }
}
