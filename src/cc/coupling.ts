/**
 * The coupling group of one MPTCP connection: which subflows' windows LIA, OLIA and BALIA couple (RFC 6356 §3).
 * A controller joins when it is created with `{ group, view }` and leaves on `detach()`; the connection only
 * creates the group and keeps each subflow's view live.
 */
import type { CongestionControl, CoupledMember, CouplingGroup, SubflowView } from './types.ts';

/** A controller whose state a group can read: every controller in this folder. */
export interface Couplable extends CongestionControl {
  /** The sender MSS the controller last saw. */
  readonly mss: number;
  readonly bytesSinceLoss: number;
  readonly bytesBetweenLosses: number;
}

/** One subflow in a group: window state from its controller, RTT and liveness from the connection's view. */
export class GroupMember implements CoupledMember {
  constructor(
    readonly group: CouplingGroupHandle,
    readonly cc: Couplable,
    private readonly view: SubflowView,
  ) {}

  get cwnd(): number {
    return this.cc.cwnd;
  }
  get ssthresh(): number {
    return this.cc.ssthresh;
  }
  get srtt(): number {
    return this.view.srtt;
  }
  get mss(): number {
    return this.cc.mss;
  }
  get bytesSinceLoss(): number {
    return this.cc.bytesSinceLoss;
  }
  get bytesBetweenLosses(): number {
    return this.cc.bytesBetweenLosses;
  }
  get active(): boolean {
    return this.view.active;
  }
  /** Whether the member enters the coupled sums: active and with an RTT sample (RFC 6356 needs rtt_i). */
  get eligible(): boolean {
    return this.view.active && this.view.srtt > 0;
  }
}

/** The group handle the MPTCP connection owns; pass it to `createCc` for every subflow of the connection. */
export class CouplingGroupHandle implements CouplingGroup {
  private readonly list: GroupMember[] = [];

  get members(): readonly GroupMember[] {
    return this.list;
  }

  /** Number of members currently registered (active or not). */
  get size(): number {
    return this.list.length;
  }

  /** Number of members that enter the coupled sums now. */
  eligibleCount(): number {
    let n = 0;
    for (const m of this.list) if (m.eligible) n++;
    return n;
  }

  /** Registers a controller with its subflow's live view; called by the controller's constructor. */
  add(cc: Couplable, view: SubflowView): GroupMember {
    for (const m of this.list) {
      if (m.cc === cc)
        throw new CouplingError('this controller is already in the group; create one controller per subflow');
    }
    const member = new GroupMember(this, cc, view);
    this.list.push(member);
    return member;
  }

  /** Drops a member (the subflow left); returns whether it was present. */
  remove(member: GroupMember): boolean {
    const i = this.list.indexOf(member);
    if (i < 0) return false;
    this.list.splice(i, 1);
    return true;
  }
}

/** Misuse of a coupling group. */
export class CouplingError extends Error {
  override name = 'CouplingError';
}

/** Creates the coupling group for one MPTCP connection. */
export function createCouplingGroup(): CouplingGroupHandle {
  return new CouplingGroupHandle();
}

/** Whether `member` couples now: it is eligible and at least one sibling is; otherwise controllers act as Reno. */
export function isCoupled(member: GroupMember | undefined): member is GroupMember {
  return member?.eligible === true && member.group.eligibleCount() > 1;
}
