/**
 * The send buffer: bytes from SND.UNA to the last byte written, addressed by 53-bit stream offsets.
 * Stored in fixed 16 KiB blocks (recycled through a small free list) so writes copy once, reads for a
 * segment copy straight into the outgoing packet, and acknowledged bytes free whole blocks: nothing is
 * ever concatenated. Optional record marks keep segments from straddling chunks pulled from an upper
 * layer (MPTCP maps each pulled chunk to one data-sequence range).
 */

const BLOCK_SHIFT = 14;
const BLOCK = 1 << BLOCK_SHIFT;
const BLOCK_MASK = BLOCK - 1;
/** Spare blocks kept while the buffer is idle (empty). */
const FREE_LIST_IDLE = 16;
const RELEASED = new Uint8Array(0);

/** A block's bytes are only ever read where they were written first, so it need not be zero-filled. */
const newBlock = (): Uint8Array => new Uint8Array(Buffer.allocUnsafeSlow(BLOCK).buffer);

export class SendBuffer {
  private blocks: Uint8Array[] = [];
  private head = 0;
  /** Offset of blocks[head][0]. */
  private base = 0;
  private startOff = 0;
  private endOff = 0;
  private readonly spare: Uint8Array[] = [];
  private marks: number[] = [];
  private markHead = 0;

  constructor(public capacity: number) {}

  /** Offset of the first byte held (SND.UNA's data offset). */
  get start(): number {
    return this.startOff;
  }
  /** Offset one past the last byte written. */
  get end(): number {
    return this.endOff;
  }
  get length(): number {
    return this.endOff - this.startOff;
  }
  get space(): number {
    return Math.max(0, this.capacity - (this.endOff - this.startOff));
  }

  /** Copies as much of `data[from..to)` as fits; returns the byte count taken. */
  write(data: Uint8Array, from = 0, to = data.length): number {
    const n = Math.min(to - from, this.space);
    let done = 0;
    while (done < n) {
      const rel = this.endOff - this.base;
      const bi = this.head + (rel >>> BLOCK_SHIFT);
      if (bi === this.blocks.length) this.blocks.push(this.spare.pop() ?? newBlock());
      const pos = rel & BLOCK_MASK;
      const k = Math.min(n - done, BLOCK - pos);
      this.blocks[bi]!.set(data.subarray(from + done, from + done + k), pos);
      done += k;
      this.endOff += k;
    }
    return n;
  }

  /** Ends a record at the current end: a segment never spans a record boundary. */
  markRecord(): void {
    this.marks.push(this.endOff);
  }

  /** The end of the record holding `off` (Infinity without records). */
  recordEnd(off: number): number {
    const m = this.marks;
    let lo = this.markHead;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid]! <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo < m.length ? m[lo]! : Number.POSITIVE_INFINITY;
  }

  /** Copies `len` bytes from offset `off` into `dst[at..]`. */
  copyOut(off: number, len: number, dst: Uint8Array, at: number): void {
    let rel = off - this.base;
    while (len > 0) {
      const block = this.blocks[this.head + (rel >>> BLOCK_SHIFT)]!;
      const pos = rel & BLOCK_MASK;
      const k = Math.min(len, BLOCK - pos);
      dst.set(k === BLOCK ? block : block.subarray(pos, pos + k), at);
      at += k;
      rel += k;
      len -= k;
    }
  }

  /** Drops bytes below `off` (they were acknowledged). */
  release(off: number): void {
    if (off <= this.startOff) return;
    if (off > this.endOff) off = this.endOff;
    this.startOff = off;
    while (this.startOff - this.base >= BLOCK) {
      const b = this.blocks[this.head]!;
      this.blocks[this.head++] = RELEASED;
      // A busy writer refills a third of the buffer at a time (see TcpConnection's wake-up): keep that many
      // blocks for it instead of making new ones.
      if (this.spare.length < Math.max(FREE_LIST_IDLE, this.capacity / 3 / BLOCK + 1)) this.spare.push(b);
      this.base += BLOCK;
    }
    if (this.head > 64) {
      this.blocks = this.blocks.slice(this.head);
      this.head = 0;
    }
    if (off === this.endOff && this.spare.length > FREE_LIST_IDLE) this.spare.length = FREE_LIST_IDLE;
    const m = this.marks;
    while (this.markHead < m.length && m[this.markHead]! <= off) this.markHead++;
    if (this.markHead > 256) {
      this.marks = m.slice(this.markHead);
      this.markHead = 0;
    }
  }
}
