/**
 * `default`: the Linux default (net/mptcp/mptcp_sched.c): reinjections first, on the lowest-RTT subflow
 * that can send and has not carried the packet; then new data on the lowest-RTT non-backup subflow that can
 * send, and on a backup subflow only when no non-backup subflow is available (all in RTO recovery): a
 * non-backup subflow with a full window is waited for. One packet per call; ties go to the first subflow in
 * SUBFLOWS order. Behaves exactly like schedulers/minrtt.progmp.
 */
import { MinRttFamily } from './base.ts';
import type { SchedState, SchedSubflow, SchedulerOptions } from './types.ts';

export class DefaultScheduler extends MinRttFamily {
  constructor(options?: SchedulerOptions) {
    super('default', options);
  }

  protected choose(_state: SchedState, candidate: SchedSubflow): SchedSubflow {
    return candidate;
  }
}
