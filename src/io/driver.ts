/**
 * The real-time event loop around a SegmentStack (the sans-I/O contract of src/stack.ts), after the
 * simulator's host (src/sim/host.ts): segments from the transport go into the stack, and after the input of
 * one turn of the event loop, every timer and every application action the stack is polled until it has
 * nothing more to send. One Node timer follows the stack's next deadline. Time is the monotonic clock in
 * integer microseconds.
 */
import type { SegmentStack } from '../stack.ts';
import type { Instant } from '../util/time.ts';
import { type PacketSink, SegmentCapture } from './capture.ts';
import { type Clock, monotonicClock } from './clock.ts';
import type { Transport } from './transport.ts';

export interface DriverOptions {
  clock?: Clock;
  /** Most segments taken from the stack in one go before other I/O gets a turn (default 2048). */
  pollCap?: number;
  /**
   * Hand received segments to the stack as they come but poll once per turn of the event loop, after all
   * the datagrams this turn read (default true: about 40 % less CPU per byte than polling after each one).
   */
  batchReceive?: boolean;
  /** Records every segment received and sent as a raw IP packet (src/io/capture.ts), e.g. a PcapWriter. */
  capture?: PacketSink;
}

export interface DriverStats {
  received: number;
  sent: number;
  timerFires: number;
  /** Drains that stopped at the poll cap and continued on the next turn of the event loop. */
  pollCapHits: number;
  /** Exceptions thrown by the stack or an application callback inside it (each is also reported). */
  stackErrors: number;
}

const DEFAULT_POLL_CAP = 2048;

export class StackDriver {
  readonly stats: DriverStats = { received: 0, sent: 0, timerFires: 0, pollCapHits: 0, stackErrors: 0 };
  readonly now: Clock;
  private readonly pollCap: number;
  private busy = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  /** The instant the armed timer is for (it may be earlier than the stack's deadline: it then re-arms). */
  private timerAt: Instant | null = null;
  private continuation: NodeJS.Immediate | null = null;
  private wakeScheduled = false;
  private closed = false;
  private readonly batch: boolean;
  private readonly capture: SegmentCapture | null;
  /** Wall-clock µs at `now() === 0`, for capture timestamps. */
  private readonly wallEpochUs: number;
  /** Receives errors thrown inside the stack (application callbacks run there); the driver keeps going. */
  onError: (e: unknown) => void = (e) => {
    queueMicrotask(() => {
      throw e;
    });
  };

  constructor(
    readonly stack: SegmentStack,
    readonly transport: Transport,
    opts: DriverOptions = {},
  ) {
    this.now = opts.clock ?? monotonicClock();
    this.pollCap = opts.pollCap ?? DEFAULT_POLL_CAP;
    this.batch = opts.batchReceive ?? process.env.MPTCP_TS_BATCH !== '0';
    this.capture = opts.capture ? new SegmentCapture(opts.capture, !transport.carriesTcpChecksum) : null;
    this.wallEpochUs = Date.now() * 1000 - this.now();
    transport.attach({
      receive: (src, dst, segment, verified, payload, lent) => {
        this.stats.received++;
        this.capture?.record(this.wallEpochUs + this.now(), src, dst, segment, 0, payload);
        if (this.batch) {
          // No closure per datagram (this path runs for every one): guard's try/catch, inline.
          try {
            stack.receive(this.now(), src, dst, segment, verified, payload, lent);
          } catch (e) {
            this.failed(e);
          }
          this.wakeLater();
        } else this.service(() => stack.receive(this.now(), src, dst, segment, verified, payload, lent));
      },
      addressChanged: (address, up) => {
        const s = this.stack;
        if (s.onAddressChange) this.service(() => s.onAddressChange!(this.now(), address, up));
      },
    });
  }

  /** Runs an application action against the stack now and sends what it produced. */
  run<T>(action: () => T): T {
    let result!: T;
    this.service(() => {
      result = action();
    });
    return result;
  }

  /** The application gave the stack work outside `run`: poll it soon (once per turn of the event loop). */
  wake(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    // A drain already due this turn (received segments, a capped drain) will poll for this work too.
    if (this.wakeScheduled || this.closed || this.continuation !== null) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      this.service(null);
    });
  }

  /** Polls once the I/O callbacks of this turn of the event loop are done (many datagrams, one drain). */
  private wakeLater(): void {
    if (this.continuation !== null || this.closed) return;
    this.continuation = setImmediate(() => {
      this.continuation = null;
      this.service(null);
    });
  }

  /** Stops the timer; the transport is closed by its owner. */
  stop(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.continuation !== null) clearImmediate(this.continuation);
    this.timer = null;
    this.timerAt = null;
    this.continuation = null;
  }

  /**
   * Runs `action`, drains the stack's output into the transport and re-arms the timer. A call made while
   * the driver is already draining (an application callback writing from inside the stack) runs its action
   * at once and makes the outer drain poll again.
   */
  private service(action: (() => void) | null): void {
    if (this.closed) return;
    if (this.busy) {
      this.guard(action);
      this.again = true;
      return;
    }
    this.busy = true;
    let capped = false;
    try {
      this.guard(action);
      const stack = this.stack;
      let n = 0;
      do {
        this.again = false;
        for (;;) {
          if (n >= this.pollCap) {
            capped = true;
            break;
          }
          let out: ReturnType<SegmentStack['poll']>;
          try {
            out = stack.poll(this.now());
          } catch (e) {
            this.failed(e);
            break;
          }
          if (out === null) break;
          n++;
          this.stats.sent++;
          this.capture?.record(
            this.wallEpochUs + this.now(),
            out.src,
            out.dst,
            out.segment,
            out.tos,
            out.payload,
          );
          this.transport.send(out);
        }
      } while (this.again && !capped);
    } finally {
      this.busy = false;
    }
    if (capped) {
      this.stats.pollCapHits++;
      this.continuation ??= setImmediate(() => {
        this.continuation = null;
        this.service(null);
      });
    }
    this.rearm();
  }

  private guard(action: (() => void) | null): void {
    if (action === null) return;
    try {
      action();
    } catch (e) {
      this.failed(e);
    }
  }

  private failed(e: unknown): void {
    this.stats.stackErrors++;
    this.onError(e);
  }

  private rearm(): void {
    if (this.closed) return;
    const deadline = this.stack.nextDeadline();
    if (deadline === null) return;
    // An armed timer that fires at or before the deadline stays: it re-arms itself when it fires early.
    if (this.timerAt !== null && this.timerAt <= deadline) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delayMs = Math.max(0, Math.ceil((deadline - this.now()) / 1000));
    this.timerAt = deadline;
    this.timer = setTimeout(this.fire, delayMs);
    // The timer never keeps the process alive by itself: the transport's reference decides that.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerAt = null;
    this.stats.timerFires++;
    // Datagrams that arrived while the process was busy are read first (setImmediate runs after this turn's
    // I/O): an ACK waiting in the socket must not lose to the retransmission timer (a spurious timeout
    // retransmits the whole flight).
    setImmediate(this.expire);
  };

  private readonly expire = (): void => {
    const stack = this.stack;
    this.service(() => {
      const now = this.now();
      const d = stack.nextDeadline();
      if (d !== null && d <= now) stack.onTimer(now);
    });
  };
}
