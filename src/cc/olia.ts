/**
 * OLIA, the Opportunistic Linked Increases Algorithm (Khalili, Gast, Popovic, Le Boudec, "MPTCP is not
 * Pareto-optimal", CoNEXT 2012; draft-khalili-mptcp-congestion-control-05 §3): slow start and halving on loss
 * as Reno, and a congestion-avoidance increase that moves window from the largest-window paths to the paths
 * that look best (most bytes between losses for their RTT).
 */
import type { Instant } from '../util/time.ts';
import { type GroupMember, isCoupled } from './coupling.ts';
import { Reno } from './reno.ts';
import type { CcContext } from './types.ts';

/** l_r = max(l1_r, l2_r): bytes between the last two losses, or since the last loss if that is more. */
function interLoss(m: GroupMember): number {
  return Math.max(m.bytesBetweenLosses, m.bytesSinceLoss);
}

/** Rank of a path for the best_paths set: l_r²/rtt_r, as the draft writes it. */
function quality(m: GroupMember): number {
  const l = interLoss(m);
  return (l * l) / m.srtt;
}

/**
 * OLIA's alpha_r for `self` among the eligible members: with collected_paths = best_paths \ max_w_paths,
 * 1/(n·|collected_paths|) on a collected path, −1/(n·|max_w_paths|) on a max-window path when some path is
 * collected, else 0. The alphas of all paths sum to zero: window moves between paths, it is not created.
 */
export function oliaAlpha(members: readonly GroupMember[], self: GroupMember): number {
  let n = 0;
  let maxW = 0;
  let bestQ = 0;
  for (const m of members) {
    if (!m.eligible) continue;
    n++;
    maxW = Math.max(maxW, m.cwnd);
    bestQ = Math.max(bestQ, quality(m));
  }
  let maxCount = 0;
  let collectedCount = 0;
  for (const m of members) {
    if (!m.eligible) continue;
    if (m.cwnd === maxW) maxCount++;
    else if (quality(m) === bestQ) collectedCount++;
  }
  if (collectedCount === 0) return 0;
  if (self.cwnd === maxW) return -1 / (n * maxCount);
  return quality(self) === bestQ ? 1 / (n * collectedCount) : 0;
}

/**
 * The increase in bytes for `ackedBytes` acknowledged on `self` (may be negative): the draft's
 * [(w_r/rtt_r²)/(Σ_p w_p/rtt_p)² + alpha_r/w_r] · MSS_r · bytes_acked with byte windows, which is the paper's
 * per-packet increase in packets converted to bytes.
 */
export function oliaIncrease(members: readonly GroupMember[], self: GroupMember, ackedBytes: number): number {
  let sum = 0;
  for (const m of members) if (m.eligible) sum += m.cwnd / m.srtt;
  const w = self.cwnd;
  const rtt = self.srtt;
  const perByte = w / (rtt * rtt) / (sum * sum) + oliaAlpha(members, self) / w;
  return perByte * self.mss * ackedBytes;
}

export class Olia extends Reno {
  override readonly name: string = 'olia';

  protected override congestionAvoidance(_now: Instant, ackedBytes: number, _ctx: CcContext): void {
    if (!isCoupled(this.member)) {
      this.renoIncrease(ackedBytes);
      return;
    }
    const increase = oliaIncrease(this.member.group.members, this.member, ackedBytes);
    // A negative alpha shrinks the largest window slowly. Keep at least 2·MSS, and keep the subflow in
    // congestion avoidance: falling below ssthresh this way is not a reason to slow-start again.
    this.cw = Math.max(this.cw + increase, 2 * this.smss);
    if (this.cw < this.thresh) this.thresh = Math.floor(this.cw);
  }
}
