/**
 * Data sequence mappings of one subflow direction (RFC 8684 §3.3.1): subflow sequence ranges (relative, the
 * first data byte is ssn 1) to stream offsets. Sorted by ssn; pruned once the subflow no longer needs them.
 */
export interface Mapping {
  ssn: number;
  length: number;
  /** Stream offset of the byte at `ssn`. */
  offset: number;
  /** DSS checksum of the mapping (RFC 8684 §3.3.1), when checksums were negotiated. */
  checksum?: number;
  /** The mapping also carried the DATA_FIN (its data-level length, which the checksum covers, is one more). */
  fin?: boolean;
}

export class MappingTable {
  private list: Mapping[] = [];
  private head = 0;

  get size(): number {
    return this.list.length - this.head;
  }

  /** Records a mapping; an identical repeat (Linux repeats the mapping on every segment) is ignored. */
  add(ssn: number, length: number, offset: number, checksum?: number, fin?: boolean): void {
    const last = this.list[this.list.length - 1];
    if (last && this.list.length > this.head) {
      if (last.ssn === ssn && last.length === length && last.offset === offset) return;
      if (ssn < last.ssn) {
        // Out of order (a segment overtook another): keep the list sorted.
        if (this.list.some((m, i) => i >= this.head && m.ssn === ssn && m.length === length)) return;
        let i = this.list.length;
        while (i > this.head && this.list[i - 1]!.ssn > ssn) i--;
        this.list.splice(i, 0, { ssn, length, offset, checksum, fin });
        return;
      }
    }
    this.list.push({ ssn, length, offset, checksum, fin });
  }

  /** The mapping covering `ssn`, or undefined (binary search: the list is sorted by ssn). */
  find(ssn: number): Mapping | undefined {
    let lo = this.head;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.ssn <= ssn) lo = mid + 1;
      else hi = mid;
    }
    // The last mapping starting at or before ssn; overlapping repeats are rare, so look back a little.
    for (let i = lo - 1; i >= this.head && i >= lo - 4; i--) {
      const m = this.list[i]!;
      if (ssn < m.ssn + m.length) return m;
    }
    return undefined;
  }

  /** Forgets mappings that end at or before `ssn`. */
  pruneBefore(ssn: number): void {
    while (this.head < this.list.length && this.list[this.head]!.ssn + this.list[this.head]!.length <= ssn)
      this.head++;
    if (this.head > 256 && this.head * 2 > this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
  }

  /** The oldest mapping still held. */
  get first(): Mapping | undefined {
    return this.list[this.head];
  }

  /** The lowest stream offset a held mapping covers, or Infinity: data the subflow may still send. */
  lowestOffset(): number {
    let low = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.list.length; i++) low = Math.min(low, this.list[i]!.offset);
    return low;
  }

  /** Every mapping still held (for reinjection of a failed subflow's data). */
  *entries(): Iterable<Mapping> {
    for (let i = this.head; i < this.list.length; i++) yield this.list[i]!;
  }
}
