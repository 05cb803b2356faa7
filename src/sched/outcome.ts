/**
 * The reusable action list a scheduler run fills. It classifies each PUSH/DROP (new data, reinjection,
 * redundant copy) from where the packet is and what this run already did with it, and it is reused from
 * call to call so that scheduling allocates nothing once warm.
 */
import {
  ActionKind,
  PacketQueue,
  type SchedAction,
  type SchedOutcome,
  type SchedPacket,
  type SchedSubflow,
} from './types.ts';

// Local copies: under tsx an imported binding is read through a getter, too slow for the per-packet path.
const { Q, QU, RQ } = PacketQueue;
const { PUSH_NEW, PUSH_REINJECT, PUSH_REDUNDANT, DROP_Q, DROP_RQ } = ActionKind;

/** Runs are numbered process-wide so a packet's `stamp` tells whether the current run already acted on it. */
let lastEpoch = 0;

export class OutcomeBuffer implements SchedOutcome {
  readonly actions: SchedAction[] = [];
  count = 0;
  pushes = 0;
  rerun = false;
  budgetExceeded = false;
  private epoch = 0;

  /** Starts a run: no actions yet. */
  begin(): void {
    this.count = 0;
    this.pushes = 0;
    this.rerun = false;
    this.budgetExceeded = false;
    this.epoch = ++lastEpoch;
  }

  /** Hands `pkt` to `sbf`. */
  push(sbf: SchedSubflow, pkt: SchedPacket): void {
    let kind: ActionKind;
    if (pkt.queue === Q) kind = pkt.stamp === this.epoch ? PUSH_REDUNDANT : PUSH_NEW;
    else if (pkt.queue === RQ) kind = PUSH_REINJECT;
    else kind = PUSH_REDUNDANT;
    pkt.stamp = this.epoch;
    this.pushes++;
    this.add(kind, pkt, sbf);
  }

  /**
   * Drops `pkt`: a Q packet joins QU unsent, an RQ packet is abandoned. Returns false (and records nothing)
   * for a QU packet or one this run already pushed or dropped, whose place the first action decided.
   */
  drop(pkt: SchedPacket): boolean {
    if (pkt.queue === QU || pkt.stamp === this.epoch) return false;
    pkt.stamp = this.epoch;
    this.add(pkt.queue === Q ? DROP_Q : DROP_RQ, pkt, null);
    return true;
  }

  /** Forgets the run's actions (step budget exceeded). */
  discard(): void {
    this.count = 0;
    this.pushes = 0;
    this.budgetExceeded = true;
  }

  private add(kind: ActionKind, packet: SchedPacket, subflow: SchedSubflow | null): void {
    const i = this.count++;
    const a = this.actions[i];
    if (a === undefined) this.actions.push({ kind, packet, subflow });
    else {
      a.kind = kind;
      a.packet = packet;
      a.subflow = subflow;
    }
  }
}
