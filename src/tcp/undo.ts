/**
 * Evidence that a loss response was unnecessary, kept per loss episode (Linux's undo_marker, undo_retrans and
 * retrans_stamp). Two kinds of proof:
 * - D-SACK (RFC 3708 §3): the receiver reported a duplicate for every byte retransmitted in the episode, so
 *   every original had arrived;
 * - timestamps (Eifel, RFC 3522): an ACK echoes a TSval older than the episode's first retransmission, so an
 *   original, not a retransmission, advanced the receiver's left edge (RFC 7323 §4.3 keeps TS.Recent from
 *   going back).
 * The connection decides when each proof counts and what undoing means.
 */
import { seqLt } from './seq.ts';

export class LossUndo {
  /** SND.UNA (a stream offset) when the episode began; -1: no episode to undo. */
  private marker = -1;
  /** Bytes retransmitted in the episode that no D-SACK has reported yet. */
  private unproven = 0;
  /** Whether the episode retransmitted anything (before that, no D-SACK can prove it spurious). */
  private retransmitted = false;
  /** TSval carried by the episode's first retransmission. */
  private firstRetransTs = 0;

  get active(): boolean {
    return this.marker >= 0;
  }

  /** A loss episode begins (fast recovery, or a timeout outside one) with SND.UNA at `sndUna`. */
  begin(sndUna: number): void {
    this.marker = sndUna;
    this.unproven = 0;
    this.retransmitted = false;
  }

  /** Nothing left to undo: the response was undone, or another one replaced it. */
  clear(): void {
    this.marker = -1;
  }

  /** `len` bytes were retransmitted, carrying TSval `tsval`. */
  onRetransmit(len: number, tsval: number): void {
    if (this.marker < 0) return;
    if (!this.retransmitted) this.firstRetransTs = tsval;
    this.retransmitted = true;
    this.unproven += len;
  }

  /**
   * A D-SACK reported [left, right) as received twice. Above the episode's start, count it against the
   * retransmissions; like Linux, without asking whether that range was retransmitted (it has usually been
   * acknowledged and forgotten by now), so a duplicate made by the network counts too.
   */
  onDsack(left: number, right: number): void {
    if (this.marker < 0 || right <= this.marker) return;
    this.unproven = Math.max(0, this.unproven - (right - Math.max(left, this.marker)));
  }

  /** Every retransmission of the episode has been reported as a duplicate. */
  get allDsacked(): boolean {
    return this.marker >= 0 && this.retransmitted && this.unproven === 0;
  }

  /** The ACK's timestamp echo predates the episode's first retransmission (RFC 3522 §3.2). */
  echoPredatesRetransmission(tsecr: number): boolean {
    return this.marker >= 0 && this.retransmitted && tsecr !== 0 && seqLt(tsecr, this.firstRetransTs);
  }
}
