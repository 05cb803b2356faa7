/**
 * The connection-level send side of "Multipath TCP in the Linux kernel": Q (written, not yet scheduled),
 * QU (scheduled, not yet covered by a DATA_ACK) and RQ (to be reinjected on another subflow). Packets are
 * chunks of at most one packet size from one application write (with coalescing, from consecutive writes of
 * the same USER); their positions are stream offsets (DSN − IDSN − 1). The three queues are the views the
 * scheduler reads (src/sched/types.ts).
 */
import { PacketQueue, type PacketQueueView, type SchedPacket, type SchedSubflow } from '../sched/types.ts';

/** Bytes allocated at once for the buffers of coalesced packets. */
const SLAB = 64 * 1024;

export class DataPacket implements SchedPacket {
  seq: number;
  queue: PacketQueue = PacketQueue.Q;
  sentOn: SchedSubflow[] = [];
  stamp = 0;
  /** The RQ view of this packet while a reinjection is pending. */
  reinjection: DataPacket | null = null;

  constructor(
    /** Stream offset of the first byte. */
    readonly offset: number,
    readonly data: Uint8Array,
    readonly psh: boolean,
    readonly user: number,
    idsnLow: number,
    /** For an RQ view: the QU packet it stands for. */
    readonly original: DataPacket | null = null,
  ) {
    // SEQ is the low 32 bits of the DSN = IDSN + 1 + offset.
    this.seq = (idsnLow + 1 + offset) >>> 0;
    if (original) this.sentOn = original.sentOn;
  }

  get length(): number {
    return this.data.length;
  }

  get end(): number {
    return this.offset + this.data.length;
  }
}

/** An array-backed FIFO exposing `packets`/`head` to the scheduler without copying. */
class Fifo implements PacketQueueView {
  packets: DataPacket[] = [];
  head = 0;

  get size(): number {
    return this.packets.length - this.head;
  }

  at(i: number): DataPacket | undefined {
    return this.packets[this.head + i];
  }

  push(p: DataPacket): void {
    this.packets.push(p);
  }

  shift(): DataPacket | undefined {
    const p = this.packets[this.head];
    if (p === undefined) return undefined;
    this.head++;
    this.compact();
    return p;
  }

  /** Removes a packet anywhere in the queue (the scheduler may act on any element). */
  remove(p: DataPacket): boolean {
    if (this.packets[this.head] === p) return this.shift() !== undefined;
    const i = this.packets.indexOf(p, this.head);
    if (i < 0) return false;
    this.packets.splice(i, 1);
    return true;
  }

  /** Drops acknowledged packets from the front. */
  dropUntil(offset: number, onDrop?: (p: DataPacket) => void): void {
    while (this.head < this.packets.length && this.packets[this.head]!.end <= offset) {
      onDrop?.(this.packets[this.head]!);
      this.head++;
    }
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.packets.length) {
      this.packets = this.packets.slice(this.head);
      this.head = 0;
    }
  }
}

export class SendQueues {
  readonly q = new Fifo();
  readonly qu = new Fifo();
  readonly rq = new Fifo();
  /** Stream offset of the next byte written by the application. */
  private writeEnd = 0;
  /** Bytes written and not yet DATA_ACKed (the bound of the connection's send buffer). */
  private unacked = 0;
  /** Stream offset up to which the peer acknowledged (DATA_ACK). */
  acked = 0;
  bytesInQ = 0;
  /** The buffer in which `tailPacket`, the newest packet of Q, grows while writes top it up. */
  private tailBuf: Uint8Array | null = null;
  private tailPacket: DataPacket | null = null;
  private slab = new Uint8Array(0);
  private slabUsed = 0;

  constructor(
    private readonly idsnLow: number,
    /** Largest payload of one packet. */
    public packetSize: number,
    /** Send buffer bound in bytes (written and not yet DATA_ACKed). */
    public sndBuf: number,
    /** Writes top up the newest packet of Q (MptcpConfig.coalesceWrites). */
    private readonly coalesce = false,
  ) {}

  get written(): number {
    return this.writeEnd;
  }

  get bufferedBytes(): number {
    return this.unacked;
  }

  /** Bytes write() would accept now. */
  get space(): number {
    return Math.max(0, this.sndBuf - this.unacked);
  }

  /** Appends as much of `data` as the buffer takes, cut into packets; returns the bytes taken. */
  write(data: Uint8Array, user: number): number {
    const n = Math.min(data.length, this.space);
    for (let i = this.coalesce && n > 0 ? this.fillTail(data, n, user) : 0; i < n; i += this.packetSize) {
      const len = Math.min(this.packetSize, n - i);
      const p = new DataPacket(this.writeEnd, data.subarray(i, i + len), i + len === n, user, this.idsnLow);
      this.q.push(p);
      this.writeEnd += len;
      this.bytesInQ += len;
    }
    this.unacked += n;
    return n;
  }

  /**
   * Tops up the newest packet with the first bytes of a write when it is short, still in Q and has the same
   * USER, so consecutive small writes share segments (Linux's tcp_sendmsg filling its unsent tail). Returns
   * the bytes taken. PSH stays set on a packet that holds the end of any write.
   */
  private fillTail(data: Uint8Array, n: number, user: number): number {
    const list = this.q.packets;
    const last = list[list.length - 1];
    if (this.q.size === 0 || last === undefined) return 0;
    if (last.end !== this.writeEnd || last.user !== user || last.length >= this.packetSize) return 0;
    const k = Math.min(this.packetSize - last.length, n);
    // The packet grows in a buffer of a whole packet, copied into once: appending a write costs its own bytes.
    let buf = this.tailBuf;
    if (buf === null || last !== this.tailPacket || buf.length < last.length + k) {
      buf = this.packetBuffer(last);
      buf.set(last.data);
      this.tailBuf = buf;
    }
    buf.set(k === data.length ? data : data.subarray(0, k), last.length);
    this.tailPacket = list[list.length - 1] = new DataPacket(
      last.offset,
      buf.subarray(0, last.length + k),
      last.psh || k === n,
      user,
      this.idsnLow,
    );
    this.writeEnd += k;
    this.bytesInQ += k;
    return k;
  }

  /**
   * A packet-sized buffer for `growing`, cut from a slab: one allocation per SLAB bytes, not one per packet.
   * The tail buffer is always the slab's last cut; when another packet starts growing, the previous tail never
   * grows again and the slab takes back what it left unused.
   */
  private packetBuffer(growing: DataPacket): Uint8Array {
    const prev = this.tailPacket;
    if (prev !== null && prev !== growing && this.tailBuf !== null)
      this.slabUsed -= this.tailBuf.length - prev.length;
    if (this.slab.length - this.slabUsed < this.packetSize) {
      this.slab = new Uint8Array(Math.max(SLAB, this.packetSize));
      this.slabUsed = 0;
    }
    this.slabUsed += this.packetSize;
    return this.slab.subarray(this.slabUsed - this.packetSize, this.slabUsed);
  }

  /** A packet left Q (pushed as new data or dropped): it joins QU. */
  scheduled(p: DataPacket): void {
    this.q.remove(p);
    this.bytesInQ -= p.length;
    p.queue = PacketQueue.QU;
    this.qu.push(p);
  }

  /** Queues a QU packet for reinjection unless it is already queued or acknowledged. */
  reinject(p: DataPacket): DataPacket | null {
    if (p.reinjection || p.end <= this.acked || p.queue !== PacketQueue.QU) return null;
    const r = new DataPacket(p.offset, p.data, p.psh, p.user, this.idsnLow, p);
    r.queue = PacketQueue.RQ;
    p.reinjection = r;
    // RQ stays in data-sequence order: reinjections of older data go first.
    const list = this.rq.packets;
    let i = list.length;
    while (i > this.rq.head && list[i - 1]!.offset > r.offset) i--;
    list.splice(i, 0, r);
    return r;
  }

  /** The reinjection left RQ (pushed or abandoned). */
  unqueueReinjection(r: DataPacket): void {
    this.rq.remove(r);
    if (r.original) r.original.reinjection = null;
  }

  /** A DATA_ACK covered everything below `offset`. */
  ack(offset: number): void {
    if (offset <= this.acked) return;
    const freed = Math.min(offset, this.writeEnd) - this.acked;
    this.acked = offset;
    this.unacked = Math.max(0, this.unacked - freed);
    this.qu.dropUntil(offset);
    this.rq.dropUntil(offset, (r) => {
      if (r.original) r.original.reinjection = null;
    });
  }
}
