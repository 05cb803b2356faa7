/**
 * Out-of-order receive queue and SACK block generation (RFC 2018 §4, RFC 2883 for D-SACK). Data is held
 * as disjoint, non-touching ranges of copied chunks keyed by 53-bit stream offsets. Its memory (payload
 * plus a per-chunk overhead, like the kernel's truesize) is capped: past the cap new out-of-order data is
 * dropped, so a hostile peer cannot make us hold more than the budget whatever it sends.
 */
import { keepBytes } from './segment.ts';

/** Bookkeeping charged per stored chunk, so a flood of tiny segments exhausts the budget early. */
export const CHUNK_OVERHEAD = 128;

export interface OooRange {
  start: number;
  end: number;
  chunks: Uint8Array[];
  /** Set when the range was merged away or delivered (stale entries in the SACK recency list). */
  dead: boolean;
}

export type InsertResult = 'stored' | 'duplicate' | 'dropped';

export class Reassembly {
  readonly ranges: OooRange[] = [];
  /** Payload bytes held. */
  bytes = 0;
  chunkCount = 0;
  /** Ranges in the order they last received data (most recent first), for SACK blocks. */
  private recent: OooRange[] = [];
  /** D-SACK block to report once, [dsackStart, dsackEnd) (dsackEnd = -1: none). */
  dsackStart = 0;
  dsackEnd = -1;

  constructor(public budget: number) {}

  /** Memory charged against the budget. */
  get cost(): number {
    return this.bytes + CHUNK_OVERHEAD * this.chunkCount;
  }

  /** Index of the first range with end >= off. */
  private lower(off: number): number {
    const r = this.ranges;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.end < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Stores the bytes of `buf[from..to)`, which sit at stream offset `start` (above RCV.NXT): copies, or views
   * when the caller hands the bytes over (`owned`, see keepBytes). Parts already held are not stored twice.
   */
  insert(start: number, buf: Uint8Array, from: number, to: number, owned = false): InsertResult {
    const end = start + (to - from);
    const r = this.ranges;
    const j = this.lower(start);
    if (j < r.length && r[j]!.start <= start && r[j]!.end >= end) {
      this.noteDuplicate(start, end);
      this.touch(r[j]!);
      return 'duplicate';
    }
    if (this.cost + (end - start) + CHUNK_OVERHEAD > this.budget) return 'dropped';
    let cur = start;
    let landed: OooRange | null = null;
    while (cur < end) {
      const rg = j < r.length ? r[j]! : null;
      if (rg !== null && rg.start <= cur) {
        if (rg.end > cur) {
          this.noteDuplicate(cur, Math.min(end, rg.end));
          cur = Math.min(end, rg.end);
          if (cur === end) {
            landed ??= rg;
            break;
          }
        }
        // Extend rg to the right up to the next range.
        const next = j + 1 < r.length ? r[j + 1]! : null;
        const stop = next !== null ? Math.min(end, next.start) : end;
        rg.chunks.push(keepBytes(buf, from + (cur - start), from + (stop - start), owned));
        this.bytes += stop - cur;
        this.chunkCount++;
        rg.end = stop;
        cur = stop;
        landed ??= rg;
        if (next !== null && stop === next.start) {
          for (const c of next.chunks) rg.chunks.push(c);
          rg.end = next.end;
          next.dead = true;
          r.splice(j + 1, 1);
          this.replaceRecent(next, rg);
        }
        continue;
      }
      const stop = rg !== null ? Math.min(end, rg.start) : end;
      const chunk = keepBytes(buf, from + (cur - start), from + (stop - start), owned);
      this.bytes += stop - cur;
      this.chunkCount++;
      if (rg !== null && stop === rg.start) {
        rg.chunks.unshift(chunk);
        rg.start = cur;
        landed ??= rg;
      } else {
        const nr: OooRange = { start: cur, end: stop, chunks: [chunk], dead: false };
        r.splice(j, 0, nr);
        landed ??= nr;
      }
      cur = stop;
    }
    if (landed !== null) this.touch(landed);
    return 'stored';
  }

  /**
   * Records a duplicate for D-SACK (RFC 2883 §4: the first block of the next ACK). Duplicates that arrive
   * together before the ACK goes out (a batch from the driver) extend the block while they touch it, as Linux's
   * tcp_dsack_extend does, so the sender learns of every one of them; otherwise the first is reported.
   */
  noteDuplicate(start: number, end: number): void {
    if (this.dsackEnd < 0) {
      this.dsackStart = start;
      this.dsackEnd = end;
    } else if (start <= this.dsackEnd && end >= this.dsackStart) {
      this.dsackStart = Math.min(this.dsackStart, start);
      this.dsackEnd = Math.max(this.dsackEnd, end);
    }
  }

  private touch(rg: OooRange): void {
    const rc = this.recent;
    const at = rc.indexOf(rg);
    if (at === 0) return;
    if (at > 0) rc.splice(at, 1);
    rc.unshift(rg);
    if (rc.length > 8) rc.length = 8;
  }

  private replaceRecent(old: OooRange, by: OooRange): void {
    const rc = this.recent;
    const at = rc.indexOf(old);
    if (at < 0) return;
    if (rc.includes(by)) rc.splice(at, 1);
    else rc[at] = by;
  }

  /** The first range if it starts at or below `off` (RCV.NXT), removed from the queue; else null. */
  takeInOrder(off: number): OooRange | null {
    const rg = this.ranges[0];
    if (rg === undefined || rg.start > off) return null;
    this.ranges.shift();
    rg.dead = true;
    this.bytes -= rg.end - rg.start;
    this.chunkCount -= rg.chunks.length;
    const at = this.recent.indexOf(rg);
    if (at >= 0) this.recent.splice(at, 1);
    return rg;
  }

  /**
   * Writes up to `max` SACK blocks (offsets) into `out` as [left0, right0, left1, ...]: the D-SACK block
   * first when one is pending, then the most recently changed range, then the others by recency. Returns
   * the number of blocks.
   */
  sackBlocks(out: Float64Array, max: number, withDsack: boolean): number {
    let n = 0;
    if (withDsack && this.dsackEnd >= 0 && n < max) {
      out[0] = this.dsackStart;
      out[1] = this.dsackEnd;
      n = 1;
    }
    for (const rg of this.recent) {
      if (n >= max) break;
      if (rg.dead) continue;
      out[2 * n] = rg.start;
      out[2 * n + 1] = rg.end;
      n++;
    }
    return n;
  }
}
