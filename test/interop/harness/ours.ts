/** Our side of a test: an MptcpEndpoint on a TUN (with a capture), and sessions that send and check the pattern. */
import { StackDriver } from '../../../src/io/driver.ts';
import { TunTransport } from '../../../src/io/tun-transport.ts';
import type { MptcpConfig } from '../../../src/mptcp/config.ts';
import type { MptcpConnection } from '../../../src/mptcp/connection.ts';
import { MptcpEndpoint } from '../../../src/mptcp/endpoint.ts';
import type { MptcpEvent } from '../../../src/mptcp/events.ts';
import type { SegmentStack } from '../../../src/stack.ts';
import { Rng } from '../../../src/util/rng.ts';
import { LinkType } from '../../../src/wire/link.ts';
import { PcapWriter } from '../../../src/wire/pcap.ts';

export interface OurStack {
  endpoint: MptcpEndpoint;
  driver: StackDriver;
  transport: TunTransport;
  pcap: PcapWriter;
  close(): void;
}

/** Capture bytes kept per test: a bulk test records its first ~20 MB of packets (whole packets: inspect needs them). */
export const CAPTURE_BYTES = 20 * 1024 * 1024;

export function ourStack(o: {
  device: string;
  netns: string;
  addresses: string[];
  seed: number;
  config?: Partial<MptcpConfig>;
  /** Record packets (default true; a benchmark turns it off). */
  capture?: boolean;
  /** Wraps the endpoint (e.g. to inject forged segments); the driver then carries the wrapper. */
  wrap?: (e: MptcpEndpoint) => SegmentStack;
}): OurStack {
  // F-RTO and HyStart++ on, as the API sets them for real drivers (src/api/host.ts).
  const config = { ...o.config, tcp: { frto: true, hystart: true, ...o.config?.tcp } };
  const endpoint = new MptcpEndpoint({ rng: new Rng(o.seed), config });
  const pcap = new PcapWriter(LinkType.RAW, 262144, { maxBytes: o.capture === false ? 24 : CAPTURE_BYTES });
  // The same event loop and transport as the socket API's `transport: 'tun'`, with the driver's capture.
  const transport = new TunTransport({ device: o.device, netns: o.netns }, o.addresses);
  const driver = new StackDriver(o.wrap ? o.wrap(endpoint) : endpoint, transport, {
    ...(o.capture === false ? {} : { capture: pcap }),
  });
  const close = () => {
    driver.stop();
    void transport.close();
  };
  return { endpoint, driver, transport, pcap, close };
}

const PATTERN = Uint8Array.from({ length: 251 * 1024 }, (_, i) => i % 251);
const CHUNK = 64 * 1024;

/**
 * One connection driven by a test: sends `send` bytes of the i mod 251 pattern (then DATA_FIN, once the peer
 * has also finished when `waitPeerEnd`), checks every received byte against the pattern, records events.
 */
export class Session {
  received = 0;
  intact = true;
  firstBad = -1;
  sent = 0;
  peerEnded = false;
  closeReason: string | null | undefined = undefined;
  readonly events: MptcpEvent[] = [];
  readonly established: Promise<void>;
  readonly closed: Promise<string | null>;
  private ending = false;

  constructor(
    readonly conn: MptcpConnection,
    private readonly driver: StackDriver,
    private send = 0,
  ) {
    let est!: () => void;
    let done!: (r: string | null) => void;
    this.established = new Promise((r) => {
      est = r;
    });
    this.closed = new Promise((r) => {
      done = r;
    });
    conn.onEstablished = () => {
      est();
      this.pump();
    };
    if (conn.state === 'established') est();
    conn.onWritable = () => this.pump();
    conn.onData = (d) => this.check(d);
    conn.onEnd = () => {
      this.peerEnded = true;
      this.maybeEnd();
    };
    conn.onEvent = (e) => this.events.push(e);
    conn.onClose = (reason) => {
      this.closeReason = reason;
      done(reason);
    };
  }

  /** Starts sending (for a connection accepted by a listener, whose established callback already ran). */
  start(): void {
    this.pump();
  }

  /** Writes nothing more: what is queued drains, then DATA_FIN. */
  stopSending(): void {
    this.send = this.sent;
    this.pump();
  }

  private pump(): void {
    if (this.conn.state === 'closed') return;
    while (this.sent < this.send) {
      const off = this.sent % 251;
      const n = this.conn.write(PATTERN.subarray(off, off + Math.min(CHUNK, this.send - this.sent)));
      if (n === 0) break;
      this.sent += n;
    }
    this.maybeEnd();
    this.driver.wake();
  }

  /** A sender ends when all is written; a pure receiver when the peer has ended. */
  private maybeEnd(): void {
    if (this.ending || this.sent < this.send) return;
    if (this.send === 0 && !this.peerEnded) return;
    this.ending = true;
    this.conn.end();
    this.driver.wake();
  }

  private check(d: Uint8Array): void {
    if (this.intact) {
      let off = this.received % 251;
      for (let i = 0; i < d.length; ) {
        const n = Math.min(d.length - i, PATTERN.length - 251);
        const want = PATTERN.subarray(off, off + n);
        if (!Buffer.from(d.buffer, d.byteOffset + i, n).equals(want)) {
          for (let j = 0; j < n; j++)
            if (d[i + j] !== want[j]) {
              this.intact = false;
              this.firstBad = this.received + i + j;
              break;
            }
          break;
        }
        i += n;
        off = (off + n) % 251;
      }
    }
    this.received += d.length;
  }

  /** Payload bytes per subflow (by local address > remote address), both directions. */
  subflowBytes(): Map<string, { sent: number; received: number; id: number }> {
    const m = new Map<string, { sent: number; received: number; id: number }>();
    for (const s of this.conn.listSubflows())
      m.set(
        `${bracket(`${s.local.address}:${s.local.port}`)}>${bracket(`${s.remote.address}:${s.remote.port}`)}`,
        {
          sent: s.bytesSent,
          received: s.bytesReceived,
          id: s.id,
        },
      );
    return m;
  }
}

/** "addr:port" as inspect and the kernel write it: IPv6 addresses in brackets. */
export function bracket(endpoint: string): string {
  const i = endpoint.lastIndexOf(':');
  const addr = endpoint.slice(0, i);
  return addr.includes(':') ? `[${addr}]${endpoint.slice(i)}` : endpoint;
}

/** Resolves when `pred` holds (checked every 20 ms), rejects after `ms` with `what`. */
export function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
