/**
 * The TUN driver: carries a SegmentStack (src/stack.ts) over a Linux TUN device, so the engine exchanges real
 * IPv4/IPv6 packets with the kernel (and through it with any host). Time is a monotonic integer-µs clock
 * from process.hrtime; one timer follows the stack's nextDeadline(); after every received segment, every
 * timer firing and every wake() the stack is polled until it has nothing more to send. Outgoing packets of
 * one drain are written with one call into the addon. An optional PcapWriter (LinkType.RAW) records every
 * packet in both directions.
 */
import type { SegmentStack } from '../stack.ts';
import type { Instant } from '../util/time.ts';
import type { PcapWriter } from '../wire/pcap.ts';
import type { TunAddonStats } from './tun-addon.ts';
import { newTunDeviceStats, TunDevice, type TunDeviceOptions, type TunDeviceStats } from './tun-device.ts';
import type { StrippedSegment } from './tun-frame.ts';

export { TunUnavailableError, tunUnavailableReason } from './tun-addon.ts';

export interface TunDriverOptions extends TunDeviceOptions {
  /** The stack's own addresses: packets to others are dropped, segments from others are refused. */
  addresses: readonly string[];
  /** Records every packet read and written (link type RAW). */
  pcap?: PcapWriter;
  /** Most segments taken from the stack in one drain before yielding to the event loop (default 10 000). */
  pollCap?: number;
}

export type TunDriverStats = TunDeviceStats & {
  /** Segments handed to the stack. */
  segmentsIn: number;
  /** Drains stopped at the poll cap (continued on the next turn of the event loop). */
  pollCapHits: number;
};

/** Misuse of a TunDriver (use after close). */
export class TunDriverError extends Error {
  override name = 'TunDriverError';
}

const DEFAULT_POLL_CAP = 10_000;

export class TunDriver {
  readonly stats: TunDriverStats = { ...newTunDeviceStats(), segmentsIn: 0, pollCapHits: 0 };
  /** The device's name as the kernel knows it. */
  readonly name: string;
  private readonly tun: TunDevice;
  private readonly pollCap: number;
  private readonly epoch: [number, number];
  /** Wall-clock µs at `now() === 0`, for capture timestamps. */
  private readonly wallEpochUs: number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt: Instant | null = null;
  private refed = true;
  private busy = false;
  private again = false;
  private closed = false;
  private continueLater: NodeJS.Immediate | null = null;

  constructor(
    private readonly stack: SegmentStack,
    opts: TunDriverOptions,
  ) {
    const pcap = opts.pcap;
    this.tun = new TunDevice(
      opts,
      opts.addresses,
      this.stats,
      pcap ? (packet) => pcap.add(this.wallEpochUs + this.now(), packet) : undefined,
    );
    this.name = this.tun.name;
    this.pollCap = opts.pollCap ?? DEFAULT_POLL_CAP;
    this.epoch = process.hrtime();
    this.wallEpochUs = Date.now() * 1000;
    this.tun.start(this.input);
    this.service(null);
  }

  /** Monotonic time in integer microseconds since the driver started. */
  now(): Instant {
    const [s, ns] = process.hrtime(this.epoch);
    return s * 1_000_000 + Math.floor(ns / 1000);
  }

  /** The application gave the stack work (wrote, opened, closed): poll it now. */
  wake(): void {
    if (this.closed) throw new TunDriverError('the TUN driver is closed; open a new one');
    this.service(null);
  }

  /** Tells the stack that one of its addresses went down or came up. */
  addressChanged(address: string, up: boolean): void {
    const stack = this.stack;
    if (!stack.onAddressChange || this.closed) return;
    this.service(() => stack.onAddressChange!(this.now(), address, up));
  }

  /** Whether the driver keeps the event loop alive (it does until close, by default). */
  ref(yes: boolean): void {
    if (this.closed) return;
    this.refed = yes;
    this.tun.ref(yes);
    if (yes) this.timer?.ref();
    else this.timer?.unref();
  }

  /** Stops the reader, closes the device (a non-persistent one disappears) and cancels the timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.continueLater) clearImmediate(this.continueLater);
    this.timer = null;
    this.tun.close();
  }

  /** The addon's reader and writer counters. */
  deviceStats(): TunAddonStats {
    return this.tun.deviceStats();
  }

  private readonly input = (s: StrippedSegment): void => {
    this.stats.segmentsIn++;
    const stack = this.stack;
    this.service(() => stack.receive(this.now(), s.src, s.dst, s.segment));
  };

  /**
   * Runs `action` against the stack, drains its output to the TUN and re-arms the timer. A call made while
   * a drain runs (the application writing from a stack callback) runs its action and makes the drain poll
   * again. A drain that hits the poll cap continues on the next turn of the event loop.
   */
  private service(action: (() => void) | null): void {
    if (this.busy) {
      action?.();
      this.again = true;
      return;
    }
    this.busy = true;
    let capped = false;
    try {
      action?.();
      do {
        this.again = false;
        for (let n = 0; ; n++) {
          if (n >= this.pollCap) {
            capped = true;
            this.stats.pollCapHits++;
            break;
          }
          const out = this.stack.poll(this.now());
          if (out === null) break;
          this.tun.writer.add(out);
        }
      } while (this.again && !capped);
    } finally {
      this.tun.flush();
      this.busy = false;
    }
    if (this.closed) return;
    if (capped && !this.continueLater)
      this.continueLater = setImmediate(() => {
        this.continueLater = null;
        if (!this.closed) this.service(null);
      });
    this.reschedule();
  }

  /** One timer at the stack's next deadline (setTimeout has millisecond resolution: rounded up). */
  private reschedule(): void {
    const deadline = this.stack.nextDeadline();
    if (deadline === this.timerAt && (this.timer !== null || deadline === null)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = deadline;
    if (deadline === null) return;
    const delayMs = Math.max(0, Math.ceil((deadline - this.now()) / 1000));
    this.timer = setTimeout(this.fire, delayMs);
    if (!this.refed) this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerAt = null;
    // Packets that arrived while the process was busy are read first (setImmediate runs after this turn's
    // I/O): an ACK waiting on the TUN must not lose to the retransmission timer.
    setImmediate(this.expire);
  };

  private readonly expire = (): void => {
    if (this.closed) return;
    const stack = this.stack;
    this.service(() => {
      const now = this.now();
      const d = stack.nextDeadline();
      if (d !== null && d <= now) stack.onTimer(now);
    });
  };
}
