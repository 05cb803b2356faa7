/**
 * One opened TUN device, for the TUN transport (src/io/tun-transport.ts): opened in its network namespace,
 * with the IP framer for the stack's addresses and the batched writer (src/io/tun-writer.ts); received
 * batches are split into packets and stripped to TCP segments, and what is dropped is counted by reason.
 */
import { loadTunAddon, type TunAddon, type TunHandle } from './tun-addon.ts';
import { type DropReason, IpFramer, type StrippedSegment } from './tun-frame.ts';
import { TunWriter, type TunWriterStats } from './tun-writer.ts';

export interface TunDeviceOptions {
  /** The TUN device: opened when it exists (e.g. made persistent by `ip tuntap add`), created otherwise. */
  device: string;
  /** A network namespace to open the device in: a name under /run/netns (`ip netns`) or a path. */
  netns?: string;
}

export type TunDeviceStats = TunWriterStats & {
  /** Packets read from the device. */
  packetsIn: number;
  /** Received packets dropped, by reason (see DropReason). */
  badIp: number;
  notTcp: number;
  fragment: number;
  notOurs: number;
};

export const newTunDeviceStats = (): TunDeviceStats => ({
  packetsIn: 0,
  packetsOut: 0,
  badIp: 0,
  notTcp: 0,
  fragment: 0,
  notOurs: 0,
  badSource: 0,
  writeErrors: 0,
});

export class TunDevice {
  /** The device's name as the kernel knows it. */
  readonly name: string;
  readonly framer: IpFramer;
  /** Outgoing packets, framed into batches: `writer.add(segment)`, then `writer.flush()`. */
  readonly writer: TunWriter;
  private readonly addon: TunAddon;
  private readonly handle: TunHandle;
  private closed = false;

  /** Opens the device for a stack owning `addresses` (TunUnavailableError when TUN cannot work here). */
  constructor(
    opts: TunDeviceOptions,
    addresses: readonly string[],
    readonly stats: TunDeviceStats,
  ) {
    this.addon = loadTunAddon();
    const netns =
      opts.netns === undefined || opts.netns.includes('/') ? opts.netns : `/run/netns/${opts.netns}`;
    const opened = this.addon.open(opts.device, netns);
    this.handle = opened.handle;
    this.name = opened.name;
    this.framer = new IpFramer(addresses);
    this.writer = new TunWriter(this.addon, this.handle, this.framer, stats);
  }

  /** Starts reading: each received TCP segment for one of our addresses goes to `onSegment`, in order. */
  start(onSegment: (s: StrippedSegment) => void): void {
    this.addon.start(this.handle, (data, ends, count) => {
      let start = 0;
      for (let i = 0; i < count && !this.closed; i++) {
        const end = ends[i]!;
        const packet = data.subarray(start, end);
        start = end;
        this.stats.packetsIn++;
        const s = this.framer.strip(packet);
        if (typeof s === 'string') this.stats[s satisfies DropReason]++;
        else onSegment(s);
      }
    });
  }

  /** Writes what the writer holds, or forgets it once the device is closed. */
  flush(): void {
    if (this.closed) this.writer.drop();
    else this.writer.flush();
  }

  /** Whether the running reader keeps the event loop alive. */
  ref(yes: boolean): void {
    if (!this.closed) this.addon.ref(this.handle, yes);
  }

  /** Stops the reader and the writer thread and closes the device (a non-persistent one disappears). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }
}
