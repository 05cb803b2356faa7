/** Shared plumbing of the hand-written schedulers: statistics, the optional clock, the reused outcome. */
import { OutcomeBuffer } from './outcome.ts';
import {
  newStats,
  type PacketQueueView,
  type SchedOutcome,
  type SchedPacket,
  type SchedState,
  type SchedSubflow,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerStats,
} from './types.ts';

export abstract class BuiltinScheduler implements Scheduler {
  readonly stats: SchedulerStats;
  private readonly clock: (() => number) | undefined;
  private readonly out = new OutcomeBuffer();

  constructor(
    readonly name: string,
    options: SchedulerOptions = {},
  ) {
    this.stats = options.stats ?? newStats();
    this.clock = options.clock;
  }

  schedule(state: SchedState): SchedOutcome {
    const clock = this.clock;
    const t0 = clock === undefined ? 0 : clock();
    const out = this.out;
    out.begin();
    this.decide(state, out);
    const stats = this.stats;
    stats.executions++;
    stats.actions += out.count;
    if (clock !== undefined) stats.timeSpent += clock() - t0;
    return out;
  }

  /** One decision: record PUSH/DROP actions on `out`. */
  protected abstract decide(state: SchedState, out: OutcomeBuffer): void;
}

/** A subflow that may take a packet now: not throttled, not in RTO recovery, congestion window not full. */
export const canSend = (s: SchedSubflow): boolean =>
  !s.throttled && !s.lossy && s.cwnd > s.skbsInFlight + s.queued;

/** The first packet of a queue, or null. */
export const top = (q: PacketQueueView): SchedPacket | null =>
  q.head < q.packets.length ? q.packets[q.head]! : null;

export const sentOn = (p: SchedPacket, s: SchedSubflow): boolean => {
  const on = p.sentOn;
  for (let i = 0; i < on.length; i++) if (on[i] === s) return true;
  return false;
};

/**
 * The Linux default's choice for new data: the lowest-RTT non-backup subflow that can send; backups only
 * when no non-backup subflow is available at all (all in RTO recovery or gone). A non-backup subflow whose
 * window is merely full is waited for, so backups stay idle under bulk load, as in Linux (ties: first in
 * SUBFLOWS order).
 */
export function minRttCanSend(sbfs: readonly SchedSubflow[]): SchedSubflow | null {
  let active: SchedSubflow | null = null;
  let any: SchedSubflow | null = null;
  let activeAvailable = false;
  for (let i = 0; i < sbfs.length; i++) {
    const s = sbfs[i]!;
    if (!s.isBackup && !s.lossy) activeAvailable = true;
    if (!canSend(s)) continue;
    if (any === null || s.rtt < any.rtt) any = s;
    if (!s.isBackup && (active === null || s.rtt < active.rtt)) active = s;
  }
  return activeAvailable ? active : any;
}

/** The lowest-RTT usable subflow whatever its window (non-backup first): the one worth waiting for. */
export function fastest(sbfs: readonly SchedSubflow[]): SchedSubflow | null {
  let active: SchedSubflow | null = null;
  let any: SchedSubflow | null = null;
  for (let i = 0; i < sbfs.length; i++) {
    const s = sbfs[i]!;
    if (s.throttled || s.lossy) continue;
    if (any === null || s.rtt < any.rtt) any = s;
    if (!s.isBackup && (active === null || s.rtt < active.rtt)) active = s;
  }
  return active ?? any;
}

/**
 * Reinjection as the default does it: RQ's head on the lowest-RTT subflow that can send and lacks it,
 * non-backup first (Linux's retransmission choice), backups only when no non-backup one is available.
 */
export function reinjectMinRtt(state: SchedState, re: SchedPacket, out: OutcomeBuffer): void {
  const sbfs = state.subflows;
  let active: SchedSubflow | null = null;
  let any: SchedSubflow | null = null;
  let activeAvailable = false;
  for (let i = 0; i < sbfs.length; i++) {
    const s = sbfs[i]!;
    if (sentOn(re, s)) continue;
    // Backups take reinjections too only when no non-backup subflow lacking the packet is available.
    if (!s.isBackup && !s.lossy) activeAvailable = true;
    if (!canSend(s)) continue;
    if (any === null || s.rtt < any.rtt) any = s;
    if (!s.isBackup && (active === null || s.rtt < active.rtt)) active = s;
  }
  const best = activeAvailable ? active : any;
  if (best !== null) out.push(best, re);
}

/**
 * Schedulers that differ from the Linux default only in whether to use the lowest-RTT subflow with room now:
 * reinjections first (on the lowest-RTT subflow that lacks the packet), then the head of Q goes to
 * `choose`'s subflow, or waits when it returns null (BLEST, ECF: better to wait for the fast subflow).
 */
export abstract class MinRttFamily extends BuiltinScheduler {
  protected decide(state: SchedState, out: OutcomeBuffer): void {
    const re = top(state.rq);
    if (re !== null) {
      reinjectMinRtt(state, re, out);
      return;
    }
    const p = top(state.q);
    if (p === null) return;
    const candidate = minRttCanSend(state.subflows);
    if (candidate === null) return;
    const chosen = this.choose(state, candidate);
    if (chosen !== null) out.push(chosen, p);
  }

  /** The subflow for the head of Q given the lowest-RTT one that can send, or null to wait. */
  protected abstract choose(state: SchedState, candidate: SchedSubflow): SchedSubflow | null;
}
