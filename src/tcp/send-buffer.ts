/**
 * The send buffer: bytes from SND.UNA to the last byte written, addressed by 53-bit stream offsets, as a
 * run of pieces. `write` copies into fixed 16 KiB blocks (recycled through a small free list); `append` keeps
 * a view its caller will not change (an MPTCP subflow's chunks, pulled from data the connection holds until
 * DATA_ACK), so those bytes are copied at most once more, straight into the outgoing packet, or not at all
 * when the driver sends a view of them (`view`, TcpConfig.gatherPayload). Acknowledged bytes
 * free whole pieces: nothing is ever concatenated. Optional record marks keep segments from straddling
 * chunks pulled from an upper layer (MPTCP maps each pulled chunk to one data-sequence range).
 */

const BLOCK = 1 << 14;
/** Spare blocks kept while the buffer is idle (empty). */
const FREE_LIST_IDLE = 16;
const RELEASED = new Uint8Array(0);

/** A block's bytes are only ever read where they were written first, so it need not be zero-filled. */
const newBlock = (): Uint8Array => new Uint8Array(Buffer.allocUnsafeSlow(BLOCK).buffer);

export class SendBuffer {
  /** The bytes, in order: views of owned blocks (from offset 0 of the block) or appended views. */
  private pieces: Uint8Array[] = [];
  /** Stream offset of each piece's first byte. */
  private offs: number[] = [];
  /** For each piece: its whole block when the buffer owns it, else null. */
  private owned: (Uint8Array | null)[] = [];
  private head = 0;
  /** Index of the piece the last copyOut started in (reads move forward, mostly). */
  private cursor = 0;
  /** The owned block `write` fills (always the last piece), or null to start a new one. */
  private tail: Uint8Array | null = null;
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
      let last = this.pieces.length - 1;
      if (this.tail === null || this.pieces[last]!.length === BLOCK) {
        this.tail = this.spare.pop() ?? newBlock();
        this.push(this.tail.subarray(0, 0), this.tail);
        last++;
      }
      const fill = this.pieces[last]!.length;
      const k = Math.min(n - done, BLOCK - fill);
      this.tail.set(data.subarray(from + done, from + done + k), fill);
      this.pieces[last] = this.tail.subarray(0, fill + k);
      done += k;
      this.endOff += k;
    }
    return n;
  }

  /** Takes `view` by reference (the caller never changes those bytes); returns the byte count taken. */
  append(view: Uint8Array): number {
    if (view.length === 0) return 0;
    if (view.length > this.space) return this.write(view);
    this.tail = null;
    this.push(view, null);
    this.endOff += view.length;
    return view.length;
  }

  private push(piece: Uint8Array, block: Uint8Array | null): void {
    this.pieces.push(piece);
    this.offs.push(this.endOff);
    this.owned.push(block);
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

  /**
   * The `len` bytes at offset `off` as a view, when they lie in one appended piece (bytes the caller never
   * changes); else null. Owned blocks are recycled once acknowledged, so views of them never leave.
   */
  view(off: number, len: number): Uint8Array | null {
    const i = this.find(off);
    if (this.owned[i] !== null) return null;
    const p = this.pieces[i]!;
    const pos = off - this.offs[i]!;
    if (pos + len > p.length) return null;
    return pos === 0 && len === p.length ? p : p.subarray(pos, pos + len);
  }

  /** Copies `len` bytes from offset `off` into `dst[at..]`. */
  copyOut(off: number, len: number, dst: Uint8Array, at: number): void {
    let i = this.find(off);
    this.cursor = i;
    let pos = off - this.offs[i]!;
    while (len > 0) {
      const p = this.pieces[i++]!;
      const k = Math.min(len, p.length - pos);
      dst.set(pos === 0 && k === p.length ? p : p.subarray(pos, pos + k), at);
      at += k;
      len -= k;
      pos = 0;
    }
  }

  /** The index of the piece holding `off` (which is held). */
  private find(off: number): number {
    const offs = this.offs;
    const c = this.cursor;
    if (c >= this.head && c < offs.length && offs[c]! <= off) {
      if (off < offs[c]! + this.pieces[c]!.length) return c;
      if (c + 1 < offs.length && off < offs[c + 1]! + this.pieces[c + 1]!.length) return c + 1;
    }
    let lo = this.head;
    let hi = offs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offs[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Drops bytes below `off` (they were acknowledged). */
  release(off: number): void {
    if (off <= this.startOff) return;
    if (off > this.endOff) off = this.endOff;
    this.startOff = off;
    const n = this.pieces.length;
    while (this.head < n) {
      const h = this.head;
      const p = this.pieces[h]!;
      // Keep the block write is filling, even when all of it so far was acknowledged.
      if (this.offs[h]! + p.length > off || (this.owned[h] !== null && this.owned[h] === this.tail)) break;
      const block = this.owned[h];
      // A busy writer refills a third of the buffer at a time (see TcpConnection's wake-up): keep that many
      // blocks for it instead of making new ones.
      if (block && this.spare.length < Math.max(FREE_LIST_IDLE, this.capacity / 3 / BLOCK + 1))
        this.spare.push(block);
      this.pieces[h] = RELEASED;
      this.owned[h] = null;
      this.head++;
    }
    if (this.head > 64) {
      this.pieces = this.pieces.slice(this.head);
      this.offs = this.offs.slice(this.head);
      this.owned = this.owned.slice(this.head);
      this.cursor = Math.max(0, this.cursor - this.head);
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
