/**
 * `roundrobin`: packets go to the usable subflows in turn (the one after the subflow used last, in SUBFLOWS
 * order), skipping those whose congestion window is full; backup subflows only when no non-backup subflow
 * is usable. Reinjections first, on a subflow that has not carried the packet. The turn is remembered by
 * subflow id, so it survives subflows joining and leaving.
 */
import { BuiltinScheduler, canSend, sentOn, top } from './base.ts';
import type { OutcomeBuffer } from './outcome.ts';
import type { SchedState, SchedulerOptions } from './types.ts';

export class RoundRobinScheduler extends BuiltinScheduler {
  private lastId = -1;

  constructor(options?: SchedulerOptions) {
    super('roundrobin', options);
  }

  protected decide(state: SchedState, out: OutcomeBuffer): void {
    const re = top(state.rq);
    const p = re ?? top(state.q);
    if (p === null) return;
    const sbfs = state.subflows;
    const n = sbfs.length;
    let useBackup = true;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const s = sbfs[i]!;
      if (!s.isBackup && !s.throttled && !s.lossy) useBackup = false;
      if (s.id === this.lastId) start = i + 1;
    }
    for (let k = 0; k < n; k++) {
      const s = sbfs[(start + k) % n]!;
      if (s.isBackup !== useBackup || !canSend(s) || (re !== null && sentOn(re, s))) continue;
      this.lastId = s.id;
      out.push(s, p);
      return;
    }
  }
}
