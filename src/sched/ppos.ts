/**
 * `ppos` (primary path only): data goes only to subflows the engine marked `primary` while at least one of
 * them works (usable and not in RTO recovery), choosing the lowest RTT among those with a free congestion
 * window and otherwise waiting for them. When no primary subflow works, the others take over (lowest RTT
 * with room); as soon as a primary works again it is used again. Reinjections first, same rule.
 */
import { BuiltinScheduler, canSend, sentOn, top } from './base.ts';
import type { OutcomeBuffer } from './outcome.ts';
import type { SchedState, SchedSubflow, SchedulerOptions } from './types.ts';

export class PposScheduler extends BuiltinScheduler {
  constructor(options?: SchedulerOptions) {
    super('ppos', options);
  }

  protected decide(state: SchedState, out: OutcomeBuffer): void {
    const re = top(state.rq);
    const p = re ?? top(state.q);
    if (p === null) return;
    const sbfs = state.subflows;
    let primaryWorks = false;
    for (let i = 0; i < sbfs.length; i++) {
      const s = sbfs[i]!;
      if (s.primary && !s.lossy) primaryWorks = true;
    }
    let best: SchedSubflow | null = null;
    for (let i = 0; i < sbfs.length; i++) {
      const s = sbfs[i]!;
      if (s.primary !== primaryWorks || !canSend(s) || (re !== null && sentOn(re, s))) continue;
      if (best === null || s.rtt < best.rtt) best = s;
    }
    if (best !== null) out.push(best, p);
  }
}
