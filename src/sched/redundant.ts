/**
 * `redundant`: every packet on every subflow. Each usable subflow with a free congestion window gets, per
 * call, the oldest scheduled packet it has not carried yet, else the head of Q (new data on the first
 * subflow, redundant copies on the others). Reinjections go first to every subflow that lacks them. Backup
 * subflows are used only when no non-backup subflow is usable.
 */
import { BuiltinScheduler, canSend, sentOn, top } from './base.ts';
import type { OutcomeBuffer } from './outcome.ts';
import type { PacketQueueView, SchedPacket, SchedState, SchedSubflow, SchedulerOptions } from './types.ts';

export class RedundantScheduler extends BuiltinScheduler {
  constructor(options?: SchedulerOptions) {
    super('redundant', options);
  }

  protected decide(state: SchedState, out: OutcomeBuffer): void {
    const sbfs = state.subflows;
    let useBackup = true;
    for (let i = 0; i < sbfs.length; i++) {
      const s = sbfs[i]!;
      if (!s.isBackup && !s.throttled && !s.lossy) useBackup = false;
    }
    const re = top(state.rq);
    const head = top(state.q);
    for (let i = 0; i < sbfs.length; i++) {
      const s = sbfs[i]!;
      if (s.isBackup !== useBackup || !canSend(s)) continue;
      if (re !== null) {
        if (!sentOn(re, s)) out.push(s, re);
        continue;
      }
      const lagging = oldestMissing(state.qu, s);
      if (lagging !== null) out.push(s, lagging);
      else if (head !== null) out.push(s, head);
    }
  }
}

/**
 * The oldest QU packet `s` has not carried. Subflows receive the stream in order here, so what a subflow
 * lacks is a suffix of QU: scan back from the newest packet and stop at the first one it has (O(lag), not
 * O(|QU|), which matters because QU holds a whole window).
 */
function oldestMissing(qu: PacketQueueView, s: SchedSubflow): SchedPacket | null {
  const pkts = qu.packets;
  let found: SchedPacket | null = null;
  for (let i = pkts.length - 1; i >= qu.head; i--) {
    const p = pkts[i]!;
    if (sentOn(p, s)) break;
    found = p;
  }
  return found;
}
