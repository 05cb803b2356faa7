/**
 * Evidence that a loss response was unnecessary, kept per loss episode (Linux's undo_marker, undo_retrans and
 * retrans_stamp). Two kinds of proof:
 * - D-SACK (RFC 3708): the receiver reported a duplicate for every byte retransmitted in the episode, so every
 *   original had arrived;
 * - timestamps (Eifel, RFC 3522): an ACK echoes a TSval older than the episode's first retransmission, so an
 *   original, not a retransmission, advanced the receiver's left edge (RFC 7323 §4.3 keeps TS.Recent from
 *   going back).
 * The connection decides when each proof counts and what undoing means.
 */
import { seqLt } from './seq.ts';

/** Retransmitted ranges kept per episode; beyond this the episode is not undone (memory stays bounded). */
const MAX_RANGES = 256;

export class LossUndo {
  private on = false;
  /**
   * What the episode retransmitted and no D-SACK has reported yet, as stream offsets [start, end) in pairs.
   * Only these count: a D-SACK for anything else (a loss probe's copy sent before the episode, a duplicate
   * the network made of an original) proves nothing about this episode. Linux gets the same from its
   * per-segment flags (and counts D-SACKs below SND.UNA without them; this keeps the ranges instead).
   */
  private readonly ranges: number[] = [];
  /** Whether the episode retransmitted anything (before that, no D-SACK can prove it spurious). */
  private retransmitted = false;
  /** TSval carried by the episode's first retransmission. */
  private firstRetransTs = 0;

  /** Whether an episode can still be undone. */
  get active(): boolean {
    return this.on;
  }

  /** A loss episode begins (fast recovery, or a timeout outside one). */
  begin(): void {
    this.on = true;
    this.ranges.length = 0;
    this.retransmitted = false;
  }

  /** Nothing left to undo: the response was undone, or another one replaced it. */
  clear(): void {
    this.on = false;
    this.ranges.length = 0;
  }

  /**
   * [start, end) was retransmitted, carrying TSval `tsval`; `fin`: with the FIN, which no D-SACK reports, so an
   * episode that retransmitted it is never proven by D-SACKs alone.
   */
  onRetransmit(start: number, end: number, fin: boolean, tsval: number): void {
    if (!this.on) return;
    if (!this.retransmitted) this.firstRetransTs = tsval;
    this.retransmitted = true;
    // The FIN's sequence number is part of the range: no D-SACK ever reports it.
    const stop = fin ? end + 1 : end;
    const r = this.ranges;
    const last = r.length - 2;
    if (last >= 0 && r[last + 1] === start) r[last + 1] = stop;
    else if (r.length < 2 * MAX_RANGES) r.push(start, stop);
    else this.clear();
  }

  /**
   * A D-SACK reported [left, right) as received twice: each byte of it proves one retransmission of that byte
   * (the earliest still unproven), so bytes sent three times need two reports, as Linux's count does.
   */
  onDsack(left: number, right: number): void {
    const r = this.ranges;
    let at = left;
    while (at < right && r.length > 0) {
      let hit = -1;
      let next = right;
      for (let i = 0; i < r.length; i += 2) {
        if (r[i]! <= at && r[i + 1]! > at) {
          hit = i;
          break;
        }
        if (r[i]! > at && r[i]! < next) next = r[i]!;
      }
      if (hit < 0) {
        at = next;
        continue;
      }
      const s = r[hit]!;
      const e = r[hit + 1]!;
      const to = Math.min(e, right);
      if (s === at && e === to) r.splice(hit, 2);
      else if (s === at) r[hit] = to;
      else if (e === to) r[hit + 1] = at;
      else r.splice(hit, 2, s, at, to, e);
      at = to;
    }
    // A peer cutting ranges into many small pieces loses the undo, not memory.
    if (r.length > 2 * MAX_RANGES) this.clear();
  }

  /** Every retransmission of the episode has been reported as a duplicate. */
  get allDsacked(): boolean {
    return this.on && this.retransmitted && this.ranges.length === 0;
  }

  /** The ACK's timestamp echo predates the episode's first retransmission (RFC 3522 §3.2). */
  echoPredatesRetransmission(tsecr: number): boolean {
    return this.on && this.retransmitted && tsecr !== 0 && seqLt(tsecr, this.firstRetransTs);
  }
}
