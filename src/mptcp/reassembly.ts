/**
 * Data-level reassembly (RFC 8684 §3.3): bytes arrive by data sequence on any subflow, in any order, possibly
 * more than once (retransmissions, reinjections, redundant schedulers). In-order bytes go to the application
 * as soon as they exist; the rest wait, bounded by the receive window the connection advertised.
 *
 * Positions are stream offsets (DSN − IDSN − 1) as numbers: exact up to 2^53 bytes (8 PB) per direction.
 */
import { keepBytes } from '../tcp/segment.ts';

interface Piece {
  offset: number;
  data: Uint8Array;
}

export interface InsertResult {
  /** In-order bytes now deliverable, oldest first (empty when nothing new became contiguous). */
  deliver: Uint8Array[];
  /** Bytes of this insert already received before (duplicates). */
  duplicate: number;
  /** Bytes of this insert beyond the window, dropped. */
  beyondWindow: number;
}

export class DataReassembly {
  /** The next stream offset the application expects. */
  private next = 0;
  /** Out-of-order pieces, sorted by offset, never overlapping each other or `next`. */
  private pieces: Piece[] = [];
  private held = 0;

  /** @param window how far past `next` bytes may be held (the advertised receive window, bytes). */
  constructor(private window: number) {}

  get expected(): number {
    return this.next;
  }

  /** Bytes held out of order. */
  get bufferedBytes(): number {
    return this.held;
  }

  setWindow(window: number): void {
    this.window = window;
  }

  /**
   * Accepts `data` at stream `offset`. The returned views may alias `data`. `lent`: `data` is valid only during
   * the call, so what waits out of order is copied.
   */
  insert(offset: number, data: Uint8Array, lent = false): InsertResult {
    const res: InsertResult = { deliver: [], duplicate: 0, beyondWindow: 0 };
    let start = offset;
    let end = offset + data.length;
    const limit = this.next + this.window;
    if (end > limit) {
      res.beyondWindow = end - Math.max(start, limit);
      end = Math.max(start, limit);
    }
    if (start < this.next) {
      res.duplicate += Math.min(end, this.next) - start;
      start = this.next;
    }
    if (start >= end) return res;
    if (start === this.next) {
      res.deliver.push(data.subarray(start - offset, end - offset));
      this.next = end;
      this.drain(res);
      return res;
    }
    this.store(start, data.subarray(start - offset, end - offset), res, lent);
    return res;
  }

  /** Moves pieces that became contiguous to `deliver`, trimming what `next` already covers. */
  private drain(res: InsertResult): void {
    let i = 0;
    while (i < this.pieces.length && this.pieces[i]!.offset <= this.next) {
      const p = this.pieces[i]!;
      const pEnd = p.offset + p.data.length;
      this.held -= p.data.length;
      if (pEnd > this.next) {
        res.deliver.push(p.data.subarray(this.next - p.offset));
        res.duplicate += this.next - p.offset;
        this.next = pEnd;
      } else res.duplicate += p.data.length;
      i++;
    }
    if (i) this.pieces.splice(0, i);
  }

  /**
   * Stores the parts of [start, start+data.length) not already held: views of `data`, or copies when a part is
   * much smaller than the buffer under it (keepBytes), so what `held` counts bounds the memory pinned.
   */
  private store(start: number, data: Uint8Array, res: InsertResult, lent: boolean): void {
    const end = start + data.length;
    // First piece whose end is past `start`.
    let lo = 0;
    let hi = this.pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.pieces[mid]!;
      if (p.offset + p.data.length <= start) lo = mid + 1;
      else hi = mid;
    }
    const added: Piece[] = [];
    let cur = start;
    let i = lo;
    while (cur < end) {
      const p = this.pieces[i];
      if (!p || p.offset >= end) {
        added.push({ offset: cur, data: keepBytes(data, cur - start, data.length, !lent) });
        break;
      }
      if (p.offset > cur)
        added.push({ offset: cur, data: keepBytes(data, cur - start, p.offset - start, !lent) });
      const pEnd = p.offset + p.data.length;
      res.duplicate += Math.min(pEnd, end) - Math.max(p.offset, cur);
      cur = pEnd;
      i++;
    }
    if (!added.length) return;
    for (const a of added) this.held += a.data.length;
    // `added` pieces interleave with existing ones from index `lo` on; merge by offset.
    const tail = this.pieces.splice(lo);
    let t = 0;
    for (const a of added) {
      while (t < tail.length && tail[t]!.offset < a.offset) this.pieces.push(tail[t++]!);
      this.pieces.push(a);
    }
    while (t < tail.length) this.pieces.push(tail[t++]!);
  }
}
