/**
 * Outgoing packets of a TUN device, batched: each segment is framed as an IP packet straight into a slab, and
 * the slab goes to the addon in one call (it copies the packets into its write queue, so the slab is reused).
 */
import type { OutSegment } from '../stack.ts';
import type { TunAddon, TunHandle } from './tun-addon.ts';
import type { IpFramer } from './tun-frame.ts';

const OUT_SLAB = 256 * 1024;
const OUT_PACKETS = 1024;
const MAX_PACKET = 65535;

export type TunWriterStats = {
  packetsOut: number;
  writeErrors: number;
  /** Segments from an address the stack does not own, or too large for one IP packet. */
  badSource: number;
};

export class TunWriter {
  private readonly out = new Uint8Array(OUT_SLAB);
  private readonly ends = new Uint32Array(OUT_PACKETS);
  private count = 0;
  private used = 0;

  /** `stats` is updated in place. */
  constructor(
    private readonly addon: TunAddon,
    private readonly handle: TunHandle,
    private readonly framer: IpFramer,
    private readonly stats: TunWriterStats,
  ) {}

  /** Whether packets wait for flush(). */
  get pending(): boolean {
    return this.count > 0;
  }

  /** Frames the segment into the batch (flushing first when it is full). */
  add(o: OutSegment): void {
    const len = this.framer.packetLength(o.src, o.dst, o.segment.length);
    if (len < 0 || len > MAX_PACKET || !this.framer.owns(o.src)) {
      this.stats.badSource++;
      return;
    }
    if (this.used + len > OUT_SLAB || this.count === OUT_PACKETS) this.flush();
    if (len > OUT_SLAB) {
      // Larger than the slab (an MTU near 64 KB): framed and written alone.
      const big = new Uint8Array(len);
      this.framer.frame(o.src, o.dst, o.segment, o.tos ?? 0, big, 0);
      if (this.addon.write(this.handle, big) === 0) this.stats.writeErrors++;
      else this.stats.packetsOut++;
      return;
    }
    const at = this.used;
    this.framer.frame(o.src, o.dst, o.segment, o.tos ?? 0, this.out, at);
    this.used = at + len;
    this.ends[this.count++] = this.used;
  }

  /** Hands the batch to the addon's writer thread (packets it cannot queue are counted as write errors). */
  flush(): void {
    if (this.count === 0) return;
    const written = this.addon.writeMany(this.handle, this.out, this.ends, this.count);
    this.stats.packetsOut += written;
    this.stats.writeErrors += this.count - written;
    this.count = 0;
    this.used = 0;
  }

  /** Forgets the batch (the device is closing). */
  drop(): void {
    this.count = 0;
    this.used = 0;
  }
}
