/**
 * `default`: the Linux default (net/mptcp/mptcp_sched.c): reinjections first, on the lowest-RTT subflow
 * that can send and has not carried the packet; then new data on the lowest-RTT non-backup subflow that can
 * send, and on a backup subflow only when no non-backup subflow can. One packet per call; ties go to the
 * first subflow in SUBFLOWS order. Behaves exactly like schedulers/minrtt.progmp.
 */
import { BuiltinScheduler, minRttCanSend, reinjectMinRtt, top } from './base.ts';
import type { OutcomeBuffer } from './outcome.ts';
import type { SchedState, SchedulerOptions } from './types.ts';

export class DefaultScheduler extends BuiltinScheduler {
  constructor(options?: SchedulerOptions) {
    super('default', options);
  }

  protected decide(state: SchedState, out: OutcomeBuffer): void {
    const re = top(state.rq);
    if (re !== null) {
      reinjectMinRtt(state, re, out);
      return;
    }
    const p = top(state.q);
    if (p === null) return;
    const chosen = minRttCanSend(state.subflows);
    if (chosen !== null) out.push(chosen, p);
  }
}
